"""The daily authorisation check: days left per account, an alert inside the warning window or for an
account never authorised — once a day, not on every run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pydantic import SecretStr

from functions.alerts import Alert
from functions.connectors.spotify_auth import AccountAuthorisation
from functions.flows.spotify_authorisation_check.logic import CheckDeps, check_authorisations

NOW = datetime(2027, 1, 10, 9, tzinfo=timezone.utc)


@dataclass
class Store:
    saved: dict[str, AccountAuthorisation] = field(default_factory=dict)

    def load(self, account: str) -> AccountAuthorisation | None:
        return self.saved.get(account)

    def save(self, authorisation: AccountAuthorisation) -> None:
        self.saved[authorisation.account] = authorisation


@dataclass
class Alerts:
    sent: list[Alert] = field(default_factory=list)

    def publish(self, alert: Alert) -> str:
        self.sent.append(alert)
        return f"msg-{len(self.sent)}"


@dataclass
class Cursors:
    values: dict[str, dict] = field(default_factory=dict)  # type: ignore[type-arg]

    def get(self, name: str) -> dict | None:  # type: ignore[type-arg]
        return self.values.get(name)

    def put(self, name: str, values: dict) -> None:  # type: ignore[type-arg]
        self.values[name] = values


def authorised(account: str, days_left: float) -> AccountAuthorisation:
    expires = NOW + timedelta(days=days_left)
    return AccountAuthorisation(
        account=account, client_id="app", refresh_token=SecretStr("r"), authorized_at=expires - timedelta(days=182), refresh_expires_at=expires
    )


def deps(store: Store, alerts: Alerts, cursors: Cursors) -> CheckDeps:
    return CheckDeps(accounts=("publisher", "brand", "new"), store=store, alerts=alerts, cursors=cursors, warning_days=14)  # type: ignore[arg-type]


def test_days_left_are_reported_and_only_accounts_needing_a_person_are_alerted_once_a_day() -> None:
    store, alerts, cursors = Store(), Alerts(), Cursors()
    store.save(authorised("publisher", 90))
    store.save(authorised("brand", 10))

    outcome = check_authorisations(deps(store, alerts, cursors), NOW)

    assert [(s.account, s.days_left) for s in outcome.accounts] == [("publisher", 90.0), ("brand", 10.0), ("new", None)]
    assert [a.attributes["account"] for a in alerts.sent] == ["brand", "new"]
    assert "expires in 10 days" in alerts.sent[0].subject and "auth spotify --account brand" in alerts.sent[0].message
    assert "not authorised" in alerts.sent[1].subject

    check_authorisations(deps(store, alerts, cursors), NOW + timedelta(hours=6))  # the same day: no repeat
    assert len(alerts.sent) == 2
    check_authorisations(deps(store, alerts, cursors), NOW + timedelta(days=1))  # the next day: again
    assert len(alerts.sent) == 4


def test_an_expired_authorisation_says_so() -> None:
    store, alerts = Store(), Alerts()
    store.save(authorised("publisher", -2))
    check_authorisations(CheckDeps(("publisher",), store, alerts, Cursors(), 14), NOW)  # type: ignore[arg-type]
    assert "expired" in alerts.sent[0].subject
