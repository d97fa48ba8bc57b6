"""Entity keys of the sync ledger, built and parsed in this one place.

A ledger item is about one Consonance entity (`pk`) and one target (`sk`, see `targets.py`). The entity
key is `<kind>#<id>`: `episode#41003` (a Consonance audio product), `series#7`, `work#12`,
`contributor#88`, `licence#41301` (a branded product's licence), `campaign#12:pre_order` (a title's
marketing milestone: the work id and the milestone) and `listening#megaphone_export:2026-12-03` (what a
listening-analytics source delivered: one export day, or `listening#spotify_creators:<show>` a show).
Flows build keys with the constructors below and read them back with `parse_entity_key`, never by
formatting or splitting strings themselves.
"""

from __future__ import annotations

import re
from enum import StrEnum

from functions.domain.errors import InvalidRecord


class EntityKind(StrEnum):
    EPISODE = "episode"
    SERIES = "series"
    WORK = "work"
    CONTRIBUTOR = "contributor"
    LICENCE = "licence"
    CAMPAIGN = "campaign"
    LISTENING = "listening"  # a listening-analytics source's unit of intake: one export day, one Creators show


_PART = re.compile(r"^[0-9A-Za-z_.:-]{1,120}$")


class EntityKey(str):
    """`<kind>#<id>`; a `str`, so it is stored, compared and logged as the text it is, but made only by
    the constructors below (or `parse_entity_key`), which check its shape."""

    kind: EntityKind
    id: str

    def __new__(cls, kind: EntityKind, identity: str) -> EntityKey:
        if not _PART.match(identity):
            raise InvalidRecord(f"not a valid {kind.value} id for a ledger key: {identity[:80]!r}")
        key = super().__new__(cls, kind_prefix(kind) + identity)
        key.kind, key.id = kind, identity
        return key

    def __reduce__(self) -> tuple[object, ...]:
        return (EntityKey, (self.kind, self.id))

    @property
    def number(self) -> int:
        """The numeric Consonance id of an episode, series, work, contributor or licence key."""
        head = self.id.split(":", 1)[0]
        if not head.isdigit():
            raise InvalidRecord(f"{self} has no numeric id")
        return int(head)


def kind_prefix(kind: EntityKind) -> str:
    """What every key of `kind` starts with: a `begins_with` on the stored key selects that kind."""
    return f"{kind.value}#"


def episode_key(product_id: int) -> EntityKey:
    return EntityKey(EntityKind.EPISODE, str(product_id))


def series_key(series_id: int) -> EntityKey:
    return EntityKey(EntityKind.SERIES, str(series_id))


def work_key(work_id: int) -> EntityKey:
    return EntityKey(EntityKind.WORK, str(work_id))


def contributor_key(contributor_id: int) -> EntityKey:
    return EntityKey(EntityKind.CONTRIBUTOR, str(contributor_id))


def licence_key(product_id: int) -> EntityKey:
    return EntityKey(EntityKind.LICENCE, str(product_id))


def campaign_key(work_id: int, milestone: str) -> EntityKey:
    return EntityKey(EntityKind.CAMPAIGN, f"{work_id}:{milestone}")


def campaign_parts(key: EntityKey) -> tuple[int, str]:
    """(work id, milestone) of a campaign key."""
    if key.kind is not EntityKind.CAMPAIGN or ":" not in key.id:
        raise InvalidRecord(f"{key} is not a campaign key")
    work, milestone = key.id.split(":", 1)
    return int(work), milestone


def parse_entity_key(text: str) -> EntityKey:
    kind, separator, identity = text.partition("#")
    if not separator:
        raise InvalidRecord(f"not a ledger entity key: {text[:80]!r}")
    try:
        return EntityKey(EntityKind(kind), identity)
    except ValueError as exc:
        raise InvalidRecord(f"unknown ledger entity kind in {text[:80]!r}") from exc


def listening_key(source: str, subject: str) -> EntityKey:
    """What one analytics source delivered for one subject: an export day (`2026-12-03`) or a show id."""
    return EntityKey(EntityKind.LISTENING, f"{source}:{subject}")
