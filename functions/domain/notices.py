"""Takedown and availability notices pushed to the signed webhook (by a Spotify/Megaphone monitor relay,
a rights team's automation in Consonance, or a partner).

Validation is strict because a notice withdraws content: unknown fields, coerced types ("12" for 12),
bad ISBN check digits, unknown country codes and naive timestamps are all rejected, and the sender
gets a 422 with the first reason instead of the integration guessing what was meant.

A notice names the content by Consonance product id or ISBN-13 (at least one), may carry the Spotify
episode id and the Megaphone episode id, and states where it applies: a list of ISO 3166-1 alpha-2
territories, or `worldwide`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from functions.domain.errors import PermanentError
from functions.domain.territories import KNOWN_TERRITORIES

_SPOTIFY_ID = r"^[0-9A-Za-z]{22}$"
_MEGAPHONE_ID = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$"
_NOTICE_ID = r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$"
# A report time outside these is not a clock but a mistake (or a probe): year 1 with a +23:59 offset
# parses, then overflows the first time it is converted to UTC downstream.
EARLIEST_REPORT = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST_REPORT = datetime(2100, 1, 1, tzinfo=timezone.utc)


class NoticeKind(StrEnum):
    TAKEDOWN = "takedown"  # withdrawn in the named territories
    REINSTATED = "reinstated"  # available again in the named territories
    AVAILABILITY = "availability"  # a full statement: live in exactly the named territories


class InvalidNotice(PermanentError):
    code = "invalid_notice"


class AvailabilityNotice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    notice_id: str = Field(pattern=_NOTICE_ID)  # the sender's id; the same notice sent twice has the same id
    kind: NoticeKind
    product_id: int | None = Field(default=None, gt=0)
    isbn13: str | None = Field(default=None, pattern=r"^97[89]\d{10}$")
    spotify_episode_id: str | None = Field(default=None, pattern=_SPOTIFY_ID)
    megaphone_episode_id: str | None = Field(default=None, pattern=_MEGAPHONE_ID)
    territories: tuple[str, ...] = ()
    worldwide: bool = False
    reason: str = Field(min_length=1, max_length=1000)
    reported_at: AwareDatetime
    source: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")

    @field_validator("isbn13")
    @classmethod
    def _isbn_check_digit(cls, value: str | None) -> str | None:
        if value is not None:
            total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(value[:12]))
            if (10 - total % 10) % 10 != int(value[12]):
                raise ValueError("ISBN-13 check digit is wrong")
        return value

    @field_validator("territories")
    @classmethod
    def _known_territories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [code for code in value if code not in KNOWN_TERRITORIES]
        if unknown:
            raise ValueError(f"not ISO 3166-1 alpha-2 country codes: {', '.join(unknown[:10])}")
        if len(set(value)) != len(value):
            raise ValueError("territories are listed more than once")
        return tuple(sorted(value))

    @field_validator("reported_at")
    @classmethod
    def _plausible_report_time(cls, value: datetime) -> datetime:
        if not EARLIEST_REPORT <= value < LATEST_REPORT:  # aware comparison: no conversion, so no overflow
            raise ValueError(f"reported_at must be between {EARLIEST_REPORT:%Y-%m-%d} and {LATEST_REPORT:%Y-%m-%d}")
        return value

    @field_validator("reason")
    @classmethod
    def _reason_has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason is blank")
        return value.strip()

    @model_validator(mode="after")
    def _names_content_and_place(self) -> "AvailabilityNotice":
        if self.product_id is None and self.isbn13 is None:
            raise ValueError("a notice names the content by product_id or isbn13")
        if self.worldwide == bool(self.territories):
            raise ValueError("a notice applies either worldwide or to listed territories (exactly one)")
        return self

    def entity_key(self) -> str:
        """The ledger entity when the product id is known; otherwise the ISBN for the flow to resolve."""
        return f"episode#{self.product_id}" if self.product_id is not None else f"isbn#{self.isbn13}"


def parse_notice(body: bytes | str) -> AvailabilityNotice:
    """A notice from a webhook body (JSON), or `InvalidNotice` with the first reason."""
    try:
        return AvailabilityNotice.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidNotice(f"{where}: {first.get('msg')}" if where else str(first.get("msg"))) from exc
