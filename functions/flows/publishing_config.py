"""What the publishing rule needs to know about a deployment: the mapping policy (approval, credits,
rights) and the Megaphone side (which podcast a series goes to, the `explicit` vocabulary). The
publisher, rights sync, metadata sync and the dry run all decide with this same object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from functions.mapping_config import MappingConfig
from functions.settings import FlowSettings


@dataclass(frozen=True)
class PublishingConfig:
    mapping: MappingConfig = field(default_factory=MappingConfig)
    podcasts: Mapping[str, str] = field(default_factory=dict)  # Consonance series id -> Megaphone podcast id
    explicit_value: str = "clean"

    @classmethod
    def from_settings(cls, settings: FlowSettings) -> PublishingConfig:
        megaphone = settings.megaphone
        return cls(mapping=settings.mapping, podcasts=dict(megaphone.megaphone_podcasts), explicit_value=megaphone.megaphone_explicit_value)

    def podcast_for(self, series_id: int) -> str | None:
        return self.podcasts.get(str(series_id))
