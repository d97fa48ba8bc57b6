"""The typed shapes of distribution problems, kept in the ledger's `distribution` target
(`functions.state.targets.DistributionState`) and read by the write-back, the alerts and the ops CLI."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from functions.domain.models import Frozen


class ProblemKind(StrEnum):
    PREFLIGHT = "preflight"  # held before the push: the file or text must be fixed in Consonance
    INGEST_FAILED = "ingest_failed"  # Megaphone could not ingest the master it was given
    NOT_PLAYABLE = "not_playable"  # published on Megaphone, never served by Spotify in time
    TAKEN_DOWN = "taken_down"  # Spotify (or Megaphone) stopped serving an episode the integration published


class DistributionProblem(Frozen):
    """One thing keeping an episode from Spotify, said so a person can act on it."""

    kind: ProblemKind
    code: str  # stable: a pre-flight finding code, or ingest_failed / not_playable_on_spotify / taken_down
    reason: str  # what is wrong, with the measured values
    action: str  # what to do about it, and where
    key: str  # this occurrence (kind, code and what it is about): alerted once per key
    since: datetime | None = None
    alerts: bool = True  # False: another flow alerts it already (takedowns: the availability recorder)


class DistributionNotice(Frozen):
    """Something the integration fixed by itself, worth knowing (a rendition pushed instead of the
    cover, a subtitle cut): told in the note, never alerted, never blocking."""

    code: str
    message: str
