"""The Spotify accounts a sandbox run acts on (a publisher's or brand's own), authorised at the start
exactly as an operator authorises them in a deployment: `infra.ops.auth.authorise_account` (PKCE, the
loopback redirect, the authorisation stored in Secrets Manager under the deployment's prefix) with the
sandbox's browser agreeing on the simulated consent page (`sandbox.consent.ConsentBrowser`).

The catalogue names the accounts (`spotify_accounts`); each becomes a user of the simulated Spotify
(allow-listed for the app unless the catalogue says otherwise). Faults are held off while consenting:
it is a person's one-off step before the run, not part of what the run measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from functions.connectors.spotify_auth import AccountAuthorisation, SpotifyCredentials
from functions.secrets import AccountAuthorisations
from functions.settings import SpotifyAccountSettings
from infra.flows import FlowDeclaration, Secret
from infra.naming import ResourceNames
from infra.ops.auth import authorise_account, scopes_for_accounts
from sandbox.catalogue import SpotifyAccountEntry
from sandbox.consent import ConsentBrowser
from sandbox.simulators.base import FaultPlan
from sandbox.simulators.spotify_accounts import ACCOUNTS_HOST, SandboxUser
from sandbox.simulators.spotify_web import SpotifyWebSimulator


def register_users(simulator: SpotifyWebSimulator, accounts: Sequence[SpotifyAccountEntry]) -> None:
    """Each account's user exists on the simulated Spotify (and may log in on its consent page)."""
    for entry in accounts:
        simulator.accounts.users[entry.user_id] = SandboxUser(entry.user_id, entry.display_name, allow_listed=entry.allow_listed)


def authorise_accounts(
    simulator: SpotifyWebSimulator,
    accounts: Sequence[SpotifyAccountEntry],
    *,
    app: SpotifyCredentials,
    flows: Sequence[FlowDeclaration],
    prefix: str,
) -> list[AccountAuthorisation]:
    """Authorise every account for the scopes the flows declare; the authorisations land where the flows
    read them (`<prefix>/spotify-account/<account>`)."""
    if not accounts or not any(Secret.SPOTIFY_ACCOUNTS in flow.secrets for flow in flows):
        return []
    register_users(simulator, accounts)
    names = ResourceNames(prefix)
    store = AccountAuthorisations(lambda account: names.family_member(Secret.SPOTIFY_ACCOUNTS, account))
    lifetime = timedelta(days=int(SpotifyAccountSettings.model_fields["spotify_refresh_token_lifetime_days"].default))
    faults, simulator.faults = simulator.faults, FaultPlan()
    try:
        return [
            authorise_account(
                account=entry.account,
                app=app,
                accounts_url=f"https://{ACCOUNTS_HOST}",
                scopes=scopes_for_accounts(flows),
                store=store,
                refresh_token_lifetime=lifetime,
                open_url=ConsentBrowser(simulator, entry.user_id).open,
                port=0,
                timeout_seconds=30.0,
            )
            for entry in accounts
        ]
    finally:
        simulator.faults = faults
