"""Which of Megaphone's delivery records count as downloads: the rules, as settings.

Kept apart from the parser (`megaphone_export`, which needs pyarrow to write) so the deployment's
settings can be checked with pydantic alone (`MEGAPHONE_EXPORT_COUNTING`, `functions/settings.py`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ExportFieldNames(BaseModel):
    """The delivery fields read, by name (V2's names are assumed equal to legacy's until confirmed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    created_at: str = "created_at"
    podcast_id: str = "podcast_id"
    episode_id: str = "episode_id"
    country: str = "country"
    ip: str = "ip"
    user_agent: str = "user_agent"
    normalized_user_agent: str = "normalized_user_agent"
    seconds_downloaded: str = "seconds_downloaded"
    duration: str = "duration"
    flagged_ip: str = "blacklisted_ip"
    flagged_user_agent: str = "blacklisted_ua"


class DownloadCounting(BaseModel):
    """Which deliveries count as downloads (inferred rules, configurable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    drop_flagged: bool = True
    bot_user_agent_markers: tuple[str, ...] = ()  # case-insensitive substrings, beyond Megaphone's flags
    min_seconds_downloaded: float | None = 60.0
    one_per_listener_per_day: bool = True
    max_rejected_line_ratio: float = Field(default=0.01, ge=0, le=1)
    fields: ExportFieldNames = Field(default_factory=ExportFieldNames)
