"""When is a media file "unchanged", so that its check is not fetched and made again?

The decision must be made *before* fetching, so it rests on what is known without the bytes: the URL
and what Consonance says about the file. `MediaIdentity` holds exactly that; the cache key is a hash
of it, the kind of check, a version of the rules (`RULES_VERSION`, bumped when a check changes what
it concludes) and, for artwork, every artwork setting (a verdict made under other limits is not
reused). Audio measurements do not depend on settings (type and duration are facts of the file), so
their key leaves settings out and the verdict is judged again on every check.

What Consonance can say about a file, per the transcribed schema (not inferred): `ProductionFile`
(the master audio) has `fileSize`, `createdAt` and `filename`; `SupportingResource` (the cover) has
`fileSize`, `createdAt` and `filename`. A replaced file is a new record or a new size, so these
change when the file does. Where the mapping has only the URL, the key is the URL alone: a file
overwritten in place at the same URL, with nothing in Consonance changing, is not noticed until the
ledger's result is discarded — which is why the mapping should carry these fields into the identity.

Only completed checks are cached. A fetch that failed (unreachable, too large) is tried again on the
next check, so a file uploaded after the finding is picked up without anyone clearing a cache.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from functions.domain.models import Frozen

RULES_VERSION = 1

MediaKind = Literal["artwork", "audio"]


class MediaIdentity(Frozen):
    """A media file as known without fetching it: where it is and what Consonance says about it."""

    url: str
    size: int | None = None  # Consonance fileSize (bytes)
    created_at: str | None = None  # Consonance createdAt of the file record (ISO 8601)
    filename: str | None = None


def media_cache_key(kind: MediaKind, identity: MediaIdentity, settings_fingerprint: str = "") -> str:
    """The key under which a completed check of this file is kept (see the module docstring)."""
    canonical = json.dumps(
        {"kind": kind, "rules": RULES_VERSION, "settings": settings_fingerprint, **identity.model_dump()},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
