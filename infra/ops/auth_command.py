"""`auth spotify --account NAME`: see infra/ops/auth.py for the flow."""

from __future__ import annotations

import argparse
import json
import webbrowser
from datetime import timedelta
from typing import TextIO

import boto3

from functions.connectors.spotify_auth import SpotifyCredentials
from functions.secrets import AccountAuthorisations
from functions.settings import SpotifyAccountSettings, SpotifySettings
from infra.deployment_context import load_cdk_json_context, resolve_context
from infra.flows import FLOWS, Secret
from infra.naming import ResourceNames
from infra.ops.auth import DEFAULT_PORT, AuthorisationFailed, authorise_account, scopes_for_accounts
from infra.ops.command import EXIT_FAILED, EXIT_OK, UsageError
from infra.ops.deployed_flow import PROJECT_ROOT

NAME = "auth"


def add_to(commands: argparse._SubParsersAction) -> None:
    auth = commands.add_parser("auth", help="authorise an account of an external service").add_subparsers(dest="auth_service", required=True)
    spotify = auth.add_parser("spotify", help="authorise a publisher's or brand's Spotify account (authorization code + PKCE)")
    spotify.add_argument("--account", required=True, help="the account's name in the deployment (the spotifyAccounts context)")
    spotify.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"loopback redirect port (default {DEFAULT_PORT}; register http://127.0.0.1:PORT/callback)")
    spotify.add_argument("--accounts-url", help="Spotify Accounts service (default: the deployment's spotifyAccountsUrl)")
    spotify.add_argument("--no-browser", action="store_true", help="print the URL only; do not open a browser")
    spotify.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the consent (default 300)")
    spotify.add_argument("--json", action="store_true", help="machine-readable output")


def run(arguments: argparse.Namespace, names: ResourceNames, out: TextIO, err: TextIO) -> int:
    context = load_cdk_json_context(PROJECT_ROOT) if (PROJECT_ROOT / "cdk.json").is_file() else {}
    configured = [a for a in resolve_context(context.get).get("SPOTIFY_ACCOUNTS", "").split(",") if a]
    if configured and arguments.account not in configured:
        err.write(f"warning: {arguments.account!r} is not in the spotifyAccounts context ({', '.join(configured)}); flows get no access to it until it is\n")
    accounts_url = arguments.accounts_url or context.get("spotifyAccountsUrl") or str(SpotifySettings.model_fields["spotify_accounts_url"].default)
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=names.secret(Secret.SPOTIFY))["SecretString"]
    try:
        app = SpotifyCredentials.model_validate_json(secret)
    except ValueError as exc:
        raise UsageError(f"{names.secret(Secret.SPOTIFY)} does not hold the app's JSON credentials yet: {exc.__class__.__name__}") from None
    scopes = scopes_for_accounts(FLOWS)
    lifetime = timedelta(days=int(SpotifyAccountSettings.model_fields["spotify_refresh_token_lifetime_days"].default))
    store = AccountAuthorisations(lambda account: names.family_member(Secret.SPOTIFY_ACCOUNTS, account))

    def show(url: str) -> None:
        err.write(f"Open this URL, log in as the {arguments.account!r} account and agree:\n  {url}\n")
        err.flush()
        if not arguments.no_browser:
            webbrowser.open(url)

    try:
        authorisation = authorise_account(
            account=arguments.account,
            app=app,
            accounts_url=accounts_url,
            scopes=scopes,
            store=store,
            refresh_token_lifetime=lifetime,
            open_url=show,
            port=arguments.port,
            timeout_seconds=arguments.timeout,
        )
    except AuthorisationFailed as exc:
        err.write(f"error: {exc}\n")
        return EXIT_FAILED
    summary = {
        "account": authorisation.account,
        "secret": names.family_member(Secret.SPOTIFY_ACCOUNTS, authorisation.account),
        "scopes": list(authorisation.scopes),
        "authorized_at": authorisation.authorized_at.isoformat(),
        "refresh_expires_at": authorisation.refresh_expires_at.isoformat(),
    }
    if arguments.json:
        out.write(json.dumps(summary, indent=2) + "\n")
    else:
        out.write(
            f"Authorised {summary['account']}: scopes {', '.join(summary['scopes']) or '(none)'}; stored in {summary['secret']}.\n"
            f"Its refresh token expires {summary['refresh_expires_at'][:10]}: authorise again before then (an alarm warns 14 days ahead).\n"
        )
    return EXIT_OK
