"""`python -m infra.ops auth spotify --account NAME` end to end against the sandbox's Spotify accounts
simulator: its consent page (played by the sandbox's browser), the loopback redirect to the CLI's own
server, the PKCE code exchange, and the authorisation stored in (moto's) Secrets Manager — then the
flows' token source refreshes with it, keeps a rotated refresh token, and loses it as Spotify says."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from functions.connectors.http import clear_routes, route_host
from functions.connectors.spotify_auth import AuthorisationLost, AuthorizationCodeTokens, accounts_service
from functions.secrets import AccountAuthorisations
from infra.flows import FLOWS, Secret
from infra.naming import ResourceNames
from infra.ops import auth_command
from infra.ops.__main__ import main
from infra.ops.command import EXIT_FAILED, EXIT_OK
from sandbox.clock import VirtualClock
from sandbox.consent import ConsentBrowser
from sandbox.simulators.spotify_accounts import ACCOUNTS_HOST, RegisteredApp, SandboxUser, SpotifyAccounts

_deployments = itertools.count()
NAMES = ResourceNames("auth-test")  # re-pointed per test: moto lives for the module
SCOPES = ("playlist-modify-private", "playlist-modify-public", "ugc-image-upload")
START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
def accounts(aws: None, monkeypatch: pytest.MonkeyPatch, clock: VirtualClock) -> Iterator[SpotifyAccounts]:
    global NAMES
    NAMES = ResourceNames(f"auth-test-{next(_deployments)}")
    simulator = SpotifyAccounts(
        clock,
        {"auth-app": RegisteredApp("auth-app", "auth-app-secret")},
        {"brand-user": SandboxUser("brand-user", "Northwind Brand")},
        rotate_every=2,
    )

    class Transport:  # the simulator as an httpx transport for the accounts host
        def handle_request(self, request):  # type: ignore[no-untyped-def]
            request.read()
            return simulator.handle(request)

        def close(self) -> None:
            return None

    route_host(ACCOUNTS_HOST, Transport())  # type: ignore[arg-type]
    boto3.client("secretsmanager").create_secret(
        Name=NAMES.secret(Secret.SPOTIFY), SecretString=json.dumps({"client_id": "auth-app", "client_secret": "auth-app-secret"})
    )
    playlist_flow = replace(FLOWS[0], secrets=(Secret.SPOTIFY_ACCOUNTS,), spotify_scopes=SCOPES)
    monkeypatch.setattr(auth_command, "FLOWS", (playlist_flow,))
    browser = ConsentBrowser(Transport(), "brand-user")  # type: ignore[arg-type]
    monkeypatch.setattr(auth_command.webbrowser, "open", browser.open)
    simulator.browser = browser  # type: ignore[attr-defined]
    yield simulator
    clear_routes()


def run_cli(*arguments: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--prefix", NAMES.prefix, *arguments], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def store() -> AccountAuthorisations:
    return AccountAuthorisations(lambda account: NAMES.family_member(Secret.SPOTIFY_ACCOUNTS, account))


def test_the_consent_page_authorises_the_account_and_the_result_is_stored(accounts: SpotifyAccounts) -> None:
    code, out, err = run_cli("auth", "spotify", "--account", "northwind", "--port", "0", "--json")

    assert code == EXIT_OK, err
    assert "playlist-modify-private" in accounts.browser.pages_seen[0]  # type: ignore[attr-defined]  # the consent page names the scopes
    summary = json.loads(out)
    assert summary["scopes"] == list(SCOPES) and summary["secret"] == f"{NAMES.prefix}/spotify-account/northwind"
    stored = store().load("northwind")
    assert stored is not None and stored.client_id == "auth-app" and stored.scopes == SCOPES
    assert stored.refresh_expires_at - stored.authorized_at == timedelta(days=182)
    raw = boto3.client("secretsmanager").get_secret_value(SecretId=f"{NAMES.prefix}/spotify-account/northwind")["SecretString"]
    assert stored.refresh_token.get_secret_value() in raw and stored.refresh_token.get_secret_value() not in out + err


def test_denying_the_app_stores_nothing(accounts: SpotifyAccounts) -> None:
    accounts.browser.approve = False  # type: ignore[attr-defined]
    code, _, err = run_cli("auth", "spotify", "--account", "northwind", "--port", "0")
    assert code == EXIT_FAILED and "access_denied" in err
    assert store().load("northwind") is None


def test_the_flows_token_source_refreshes_and_keeps_a_rotated_refresh_token(accounts: SpotifyAccounts) -> None:
    assert run_cli("auth", "spotify", "--account", "northwind", "--port", "0")[0] == EXIT_OK
    first = store().load("northwind")
    assert first is not None
    tokens = AuthorizationCodeTokens(accounts_service("https://accounts.spotify.com"), store(), "northwind")

    tokens.access_token()  # refresh 1: no rotation (every 2nd refresh rotates here)
    assert store().load("northwind").refresh_token.get_secret_value() == first.refresh_token.get_secret_value()  # type: ignore[union-attr]
    tokens.renew()
    issued = tokens.access_token()  # refresh 2: rotated, stored at once
    rotated = store().load("northwind")
    assert rotated is not None and rotated.refresh_token.get_secret_value() != first.refresh_token.get_secret_value()
    assert tokens.rotations == 1 and accounts.verify(issued) is not None
    assert accounts.verify(issued).user_id == "brand-user"  # type: ignore[union-attr]


def test_an_expired_refresh_token_is_a_permanent_error_with_an_operator_alert(accounts: SpotifyAccounts) -> None:
    assert run_cli("auth", "spotify", "--account", "northwind", "--port", "0")[0] == EXIT_OK
    alerts: list[tuple[str, str]] = []
    tokens = AuthorizationCodeTokens(
        accounts_service("https://accounts.spotify.com"), store(), "northwind", on_lost=lambda account, why: alerts.append((account, why))
    )
    accounts.clock.advance(183 * 86400)  # type: ignore[attr-defined]  # six months after the authorisation

    with pytest.raises(AuthorisationLost, match="auth spotify --account northwind"):
        tokens.access_token()
    assert alerts and alerts[0][0] == "northwind" and "refresh token was refused" in alerts[0][1]
