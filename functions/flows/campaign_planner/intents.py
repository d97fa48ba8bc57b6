"""Exactly once in effect, for every create and update the planner sends to the Ads API.

- A create is preceded by an intent in the ledger (`pending_create` names what is being created), saved
  before the request goes out. The create's answer is recorded (id, and the intent cleared) in the
  same save. So a crash anywhere in between leaves the intent behind, and the next attempt looks the
  entity up by its deterministic name before creating anything; an ambiguous answer (timeout, 5xx)
  is followed by the same look-up at once. Only when the look-up finds nothing is the create sent
  again (with the same Idempotency-Key, so even a look-up that lags the write cannot double it).
- An ambiguous update is followed by a read: only when the entity does not show what was sent is the
  PATCH sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from functions.connectors.errors import AmbiguousWrite
from functions.state.ledger import LedgerEntry, SyncLedger

Created = TypeVar("Created")


def create_once(
    entry: LedgerEntry[Any], ledger: SyncLedger, intent: str, create: Callable[[], Created], look_up: Callable[[], Created | None]
) -> Created:
    """The entity, created at most once across crashes and lost answers. The caller records its id and
    saves the entry (which also clears the intent)."""
    if entry.pending_create == intent:  # an earlier attempt may have created it
        found = look_up()
        if found is not None:
            entry.pending_create = None
            entry.record("adopted", f"{intent}: found by name after an unfinished create")
            return found
    else:
        entry.pending_create = intent
        ledger.save(entry)
    try:
        created = create()
    except AmbiguousWrite:
        found = look_up()
        if found is not None:
            entry.pending_create = None
            entry.record("adopted", f"{intent}: found by name after an ambiguous answer")
            return found
        created = create()  # not there: it was never made (the Idempotency-Key guards a lagging look-up)
    entry.pending_create = None
    return created


def update_checked(update: Callable[[], Any], current: Callable[[], Mapping[str, Any] | None], sent: Mapping[str, Any]) -> None:
    """PATCH once; after an ambiguous answer, read the entity and PATCH again only if it differs."""
    try:
        update()
    except AmbiguousWrite:
        shown = current()
        if shown is None or not shows(shown, sent):
            update()


def shows(actual: Any, sent: Any) -> bool:
    """Does `actual` show everything `sent` set (dicts compared key by key, the rest by equality)?"""
    if isinstance(sent, Mapping):
        return isinstance(actual, Mapping) and all(key in actual and shows(actual[key], value) for key, value in sent.items())
    return bool(actual == sent)
