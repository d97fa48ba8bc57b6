"""Daily: how long each authorised Spotify account's refresh token has left, so an expiring
authorisation is an alarm, not a surprise.

Spotify's refresh tokens expire six months after the user authorised the app (2026), and refreshing
does not extend them. For each configured account the check reads the stored authorisation and
reports its days left (the `SpotifyAuthorisationDaysLeft` metric, per account: the stack's alarm fires
at 14 days or less, and when the metric stops arriving). An account inside the warning window, or
never authorised, is also alerted on the operations topic — once a day at most, so the alert says the
same thing the alarm does, in words, with the command that fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from functions.alerts import Alert, AlertPublisher
from functions.connectors.spotify_auth import AuthorisationStore
from functions.state.cursors import CursorStore

CURSOR = "spotify-authorisation-check"
AUTH_COMMAND = "python -m infra.ops auth spotify --account {account}"


@dataclass
class CheckDeps:
    accounts: tuple[str, ...]
    store: AuthorisationStore
    alerts: AlertPublisher
    cursors: CursorStore
    warning_days: int


@dataclass
class AccountState:
    account: str
    days_left: float | None  # None: never authorised
    expires_at: str | None
    alerted: bool = False


@dataclass
class CheckOutcome:
    accounts: list[AccountState] = field(default_factory=list)


def check_authorisations(deps: CheckDeps, now: datetime) -> CheckOutcome:
    outcome = CheckOutcome()
    alerted_on = (deps.cursors.get(CURSOR) or {}).get("alerted_on", {})
    today = now.date().isoformat()
    for account in deps.accounts:
        authorisation = deps.store.load(account)
        state = AccountState(
            account=account,
            days_left=round(authorisation.days_left(now), 1) if authorisation else None,
            expires_at=authorisation.refresh_expires_at.isoformat() if authorisation else None,
        )
        needs_person = state.days_left is None or state.days_left <= deps.warning_days
        if needs_person and alerted_on.get(account) != today:
            deps.alerts.publish(_alert(state, deps.warning_days))
            alerted_on[account] = today
            state.alerted = True
        outcome.accounts.append(state)
    deps.cursors.put(CURSOR, {"alerted_on": alerted_on, "last_run_at": now.isoformat()})
    return outcome


def _alert(state: AccountState, warning_days: int) -> Alert:
    fix = AUTH_COMMAND.format(account=state.account)
    if state.days_left is None:
        subject = f"Spotify account {state.account} is not authorised"
        message = f"The Spotify account {state.account!r} is configured but has no authorisation stored.\n\nRun: {fix}"
    elif state.days_left <= 0:
        subject = f"Spotify authorisation expired: account {state.account}"
        message = f"The refresh token of {state.account!r} expired on {state.expires_at}; its flows fail until it is authorised again.\n\nRun: {fix}"
    else:
        subject = f"Spotify authorisation expires in {state.days_left:.0f} days: account {state.account}"
        message = (
            f"The refresh token of {state.account!r} expires on {state.expires_at} ({state.days_left:.0f} days; "
            f"warning at {warning_days}). Spotify does not extend it: authorise the account again before then.\n\nRun: {fix}"
        )
    return Alert(subject=subject, message=message, attributes={"kind": "spotify_authorisation", "account": state.account})
