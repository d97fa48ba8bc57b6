"""Configuration read once per cold start from the environment the CDK stack (or the sandbox) sets.

Every tunable that the design calls "configurable" lives here, with its default and the env var that
overrides it, so operators have one place to look.
"""

from __future__ import annotations

import json
import os
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from functions.domain.rights import RightsPolicy
from functions.execution_environment import built_once


class MappingConfig(BaseModel):
    """How Consonance records become domain episodes (the design's mapping, one place)."""

    approved_publishing_status_codes: frozenset[str] = frozenset({"02", "04"})  # ONIX list 64
    audio_product_types: tuple[str, ...] = ("ElectronicAudioProduct",)
    master_audio_variant: str = "master_audio"
    approved_file_status: str = "approved"
    distribution_allowed_values: frozenset[str] = frozenset({"allowed", "yes", "true"})
    artwork_resource_variant: str = "cover_image"
    narrator_role_codes: frozenset[str] = frozenset({"E07", "E03"})
    author_role_codes: frozenset[str] = frozenset({"A01"})
    credited_role_codes: tuple[str, ...] = ("A01", "E07", "E03", "E10", "E09", "A12", "B06")
    max_title_length: int = 150
    max_summary_length: int = 4000
    # work.workType -> episode kind; unknown types fall back to default_episode_kind.
    episode_kinds: dict[str, str] = Field(
        default_factory=lambda: {
            "serialized_fiction": "serialized_fiction",
            "companion_podcast": "companion_podcast",
            "author_interview": "author_interview",
            "branded_podcast": "branded_podcast",
        }
    )
    default_episode_kind: str = "serialized_fiction"
    # kinds whose episodes must credit a narrator (E07 read by / E03 narrator)
    narrated_kinds: frozenset[str] = frozenset({"serialized_fiction"})
    # What the write-back records on the product. The publishing status is only written where set.
    # Megaphone cannot restrict territories: publish and report (a finding), or hold until cleared everywhere.
    unenforceable_territories: Literal["publish_and_report", "hold"] = "publish_and_report"
    spotify_link_role: str = "_26"  # ONIX website role (configurable: exact code per publisher)
    writeback_publishing_status: str | None = None
    # Which right types each kind of content requires, and Consonance's names for them (rights model).
    rights: RightsPolicy = Field(default_factory=RightsPolicy)


class Settings(BaseModel):
    event_bus_name: str = "consonance-spotify"
    event_source: str = "consonance-spotify"
    ledger_table: str = "sync-ledger"
    cursors_table: str = "cursors"
    idempotency_table: str = "idempotency"
    availability_table: str = "availability"
    alerts_topic_arn: str | None = None
    dead_letter_queue_url: str | None = None
    max_receives: int = 5

    consonance_url: str = "https://web.consonance.app/graphql"
    consonance_secret_id: str = "consonance-spotify/consonance-api-key"
    consonance_rate_per_minute: int = 120

    megaphone_url: str = "https://cms.megaphone.fm/api"
    megaphone_secret_id: str = "consonance-spotify/megaphone-token"
    megaphone_network_id: str = "network-1"
    megaphone_rate_per_minute: int = 60  # facts sheet: 60/min per token (unverified; keep configurable)
    megaphone_podcasts: dict[str, str] = Field(default_factory=dict)  # Consonance series id -> podcast id
    megaphone_explicit_value: str = "clean"
    spotify_show_url: str = "https://open.spotify.com/episode/{spotify_id}"

    spotify_secret_id: str = "consonance-spotify/spotify-client"
    spotify_accounts_url: str = "https://accounts.spotify.com"
    spotify_api_url: str = "https://api.spotify.com/v1"
    spotify_rate_per_minute: int = 120  # the Web API counts a rolling 30 s window; stay well inside it
    # Markets the availability monitor checks per episode (ISO 3166-1 alpha-2); one request each.
    spotify_markets: tuple[str, ...] = ("GB", "US", "IE", "AU", "CA", "DE")
    # The availability monitor asks Spotify about each episode every Nth hourly run (Megaphone every run).
    spotify_check_every_runs: int = 3
    webhook_secret_id: str = "consonance-spotify/webhook-signing-key"
    webhook_tolerance_seconds: int = 300

    http_timeout_seconds: float = 10.0
    http_max_attempts: int = 4
    http_backoff_cap_seconds: float = 20.0

    mapping: MappingConfig = Field(default_factory=MappingConfig)

    @field_validator("megaphone_podcasts", mode="before")
    @classmethod
    def _parse_podcasts(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("spotify_markets", mode="before")
    @classmethod
    def _parse_markets(cls, value: object) -> object:
        return tuple(m.strip().upper() for m in value.split(",") if m.strip()) if isinstance(value, str) else value

    @field_validator("mapping", mode="before")
    @classmethod
    def _parse_mapping(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        return cls.model_validate(values)


@built_once
def settings() -> Settings:
    return Settings.from_environment()
