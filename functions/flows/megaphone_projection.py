"""How a domain episode looks on Megaphone: the one projection both the publisher (create/update)
and metadata sync (drift detection) use, so "what we push" and "what we expect to find" never differ.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timezone
from typing import Any

from functions.connectors.megaphone import EpisodeFields, MegaphoneEpisode
from functions.domain.models import Episode
from functions.flows.publishing_config import PublishingConfig

ROLE_LABELS = {
    "A01": "Written by",
    "E07": "Read by",
    "E03": "Narrated by",
    "E10": "Presented by",
    "E09": "With",
    "A12": "Illustrated by",
    "B06": "Translated by",
}

# Fields metadata sync compares with what Megaphone holds; drift in any of them is corrected. `draft`
# is deliberately absent: whether an episode is live is the rights/availability flows' business, and
# a takedown on the Spotify side must never be "corrected" back to live by a metadata sweep.
COMPARED_FIELDS = (
    "title",
    "subtitle",
    "summary",
    "author",
    "external_id",
    "episode_number",
    "season_number",
    "episode_type",
    "pubdate",
)


def credits_line(episode: Episode, settings: PublishingConfig) -> str:
    """Contributor attribution in ONIX role order, e.g. "Written by A. Author. Read by N. Reader."."""
    parts: list[str] = []
    for role in settings.mapping.credited_role_codes:
        names = [c.name for c in episode.credits_with_roles({role})]
        if names:
            parts.append(f"{ROLE_LABELS.get(role, role)} {_join(names)}.")
    return " ".join(parts)


def desired_fields(episode: Episode, *, draft: bool, settings: PublishingConfig) -> EpisodeFields:
    authors = [c.name for c in episode.credits_with_roles(settings.mapping.author_role_codes)] or _first_credited(episode, settings)
    credits = credits_line(episode, settings)
    summary = episode.summary.strip()
    if credits:
        summary = f"{summary}\n\n{credits}" if summary else credits
    return EpisodeFields(
        title=episode.title,
        subtitle=episode.subtitle,
        summary=summary or None,
        author=_join(authors) or None,
        external_id=str(episode.product_id),
        pubdate=pubdate(episode.release_date),
        draft=draft,
        explicit=settings.explicit_value,
        episode_type="full",
        season_number=1 if episode.part_number is not None else None,
        episode_number=episode.part_number,
        background_audio_file_url=episode.master_audio.url if episode.master_audio else None,
        background_image_file_url=episode.artwork_url,
        custom_fields={"isbn13": episode.isbn13, "credits": credits} if episode.isbn13 else {"credits": credits},
    )


def _first_credited(episode: Episode, settings: PublishingConfig) -> list[str]:
    """A podcast without an author credit is attributed to its first credited role (its presenter)."""
    for role in settings.mapping.credited_role_codes:
        names = [c.name for c in episode.credits_with_roles({role})]
        if names:
            return names
    return []


def pubdate(release: date | None) -> str | None:
    if release is None:
        return None
    return datetime.combine(release, time(0, 0), tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


def fields_hash(fields: EpisodeFields) -> str:
    canonical = json.dumps(fields.wire(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def drifted_fields(expected: EpisodeFields, actual: MegaphoneEpisode) -> dict[str, tuple[Any, Any]]:
    """Compared fields whose value on Megaphone differs from what Consonance says it should be."""
    drift: dict[str, tuple[Any, Any]] = {}
    for name in COMPARED_FIELDS:
        want, have = getattr(expected, name), getattr(actual, name, None)
        if name == "pubdate":
            want, have = _same_instant(want), _same_instant(have)
        if want != have:
            drift[name] = (want, have)
    return drift


def _same_instant(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).isoformat()
    except ValueError:
        return value


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
