"""`auth spotify --account NAME`: authorise a publisher's or brand's own Spotify account once, with the
authorization-code flow and PKCE, and store the result where the flows read it.

1. The app's client id comes from the deployment's Spotify app secret (`<prefix>/spotify-client`).
2. The scopes asked for are every scope the configured flows declare (`spotify_scopes` in the flow
   declarations), so one consent covers what the deployment does with the account.
3. A one-shot HTTP server listens on the loopback redirect (`http://127.0.0.1:<port>/callback`; Spotify
   refuses `localhost` and requires HTTPS for anything but loopback). Register that redirect URI for
   the app in Spotify's developer dashboard first.
4. The operator opens the printed URL (or the CLI opens a browser), logs in as the account and agrees;
   Spotify redirects to the loopback server with the code; the state is checked; the code is
   exchanged (with the PKCE verifier) for a refresh token.
5. The authorisation — refresh token, granted scopes, when it was made and when its refresh token
   expires (six months, Spotify's 2026 rule) — goes to `<prefix>/spotify-account/<NAME>` in Secrets
   Manager. Nothing secret is printed.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from functions.connectors.spotify_auth import (
    AccountAuthorisation,
    AuthorisationStore,
    SpotifyCredentials,
    accounts_service,
    authorize_url,
    exchange_code,
    pkce_pair,
)
from functions.flow_declarations import FlowDeclaration, Secret

DEFAULT_PORT = 8765
CALLBACK_PATH = "/callback"


class AuthorisationFailed(Exception):
    """The user denied the app, the callback never came, or it answered another request."""


def scopes_for_accounts(flows: Iterable[FlowDeclaration]) -> tuple[str, ...]:
    """Every scope the flows that use Spotify accounts declare, sorted and once each."""
    return tuple(sorted({scope for flow in flows if Secret.SPOTIFY_ACCOUNTS in flow.secrets for scope in flow.spotify_scopes}))


@dataclass
class _Callback:
    code: str | None = None
    state: str | None = None
    error: str | None = None


class LoopbackReceiver:
    """One-shot HTTP server on 127.0.0.1 that receives the authorization redirect."""

    def __init__(self, port: int = DEFAULT_PORT):
        self.result = _Callback()
        self._arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH:
                    self.send_error(404)
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                receiver.result = _Callback(code=query.get("code"), state=query.get("state"), error=query.get("error"))
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(b"<html><body><p>Done. You can close this window and return to the terminal.</p></body></html>")
                receiver._arrived.set()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
                return  # the query carries the code: never logged

        self._server = HTTPServer(("127.0.0.1", port), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)  # stops within 50 ms

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout_seconds: float) -> _Callback:
        if not self._arrived.wait(timeout_seconds):
            raise AuthorisationFailed(f"no authorisation arrived at the loopback redirect within {timeout_seconds:.0f} s")
        return self.result


def authorise_account(
    *,
    account: str,
    app: SpotifyCredentials,
    accounts_url: str,
    scopes: tuple[str, ...],
    store: AuthorisationStore,
    refresh_token_lifetime: timedelta,
    open_url: Callable[[str], None],
    port: int = DEFAULT_PORT,
    timeout_seconds: float = 300.0,
) -> AccountAuthorisation:
    """Run the authorization-code flow once for `account`; store and return the authorisation.
    `open_url` shows the authorize URL to the operator (prints it, opens a browser, or — in the
    sandbox — plays the browser against the simulator's consent page)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    with LoopbackReceiver(port) as receiver:
        open_url(authorize_url(accounts_url, app.client_id, receiver.redirect_uri, scopes, state, challenge))
        callback = receiver.wait(timeout_seconds)
    if callback.error:
        raise AuthorisationFailed(f"Spotify did not authorise the app: {callback.error}")
    if callback.state != state or not callback.code:
        raise AuthorisationFailed("the redirect answered another authorisation request (state differs); start again")
    authorisation = exchange_code(
        accounts_service(accounts_url),
        account=account,
        client_id=app.client_id,
        code=callback.code,
        redirect_uri=receiver.redirect_uri,
        verifier=verifier,
        refresh_token_lifetime=refresh_token_lifetime,
    )
    missing = sorted(set(scopes) - set(authorisation.scopes))
    if missing:
        raise AuthorisationFailed(f"the account granted fewer scopes than the flows need (missing: {', '.join(missing)}); nothing was stored")
    store.save(authorisation)
    return authorisation
