"""`doctor`: does a deployment's view of Consonance, Megaphone and Spotify hold? Each system is reached
with the deployed secrets and the connectors the flows use (`functions.dependencies.Dependencies`), and
every check ends ok, warn or fail with its reason. Nothing is written anywhere except what the flows
themselves would write (a Spotify refresh token that comes back rotated is stored, as the flows do).

- Consonance: the API key reaches the endpoint; the live schema (introspection) has every type, field,
  argument, input field and enum value the project's documents use (infra/ops/consonance_schema.py).
  An absent one fails, naming the operations that use it and the setting that works around it; one a
  configured setting already works around is a warning.
- Megaphone: the token is accepted, the network exists, each mapped podcast is in it.
- Spotify: the app's client credentials get a token; each authorised account (`spotifyAccounts`)
  has an authorisation granting every scope the flows ask for, a refresh token that is not expired
  (warn within `spotify_authorisation_warning_days`) and that Spotify still accepts.

Settings are the deployment's as `plan` reads them: the cdk.json context, then the process environment
on top (same variable names: MEGAPHONE_NETWORK_ID, MEGAPHONE_PODCASTS, SPOTIFY_ACCOUNTS, MAPPING ...);
secret ids and tables follow from `--prefix`. No secret value is printed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from graphql import build_client_schema, get_introspection_query
from pydantic import BaseModel, ConfigDict, ValidationError

from functions.clock import utcnow
from functions.connectors.errors import ApiError, AuthenticationFailed, NotFound, RequestRejected
from functions.connectors.spotify_auth import AuthorisationLost, AuthorizationCodeTokens, accounts_service
from functions.dependencies import Dependencies
from functions.domain.errors import IntegrationError
from functions.settings import ConfigurationError, FlowSettings, known_variables
from infra.flows import FLOWS, FlowDeclaration, FlowName, Secret, Table, flow
from infra.naming import ResourceNames
from infra.ops import consonance_schema
from infra.ops.auth import scopes_for_accounts
from infra.ops.deployed_flow import context_environment, named_wiring

# The failures a check reports instead of stopping the doctor: a connector's typed errors, AWS refusing
# a call (a secret that is not there), a setting missing or malformed, a secret of the wrong shape.
CHECK_FAILURES = (IntegrationError, ApiError, ClientError, BotoCoreError, ConfigurationError, ValueError)


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class System(StrEnum):
    CONSONANCE = "consonance"
    MEGAPHONE = "megaphone"
    SPOTIFY = "spotify"


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: System
    check: str
    status: Status
    detail: str


# The connectors each system's checks build, as a flow declaring these secrets gets them.
SYSTEM_SECRETS: dict[System, tuple[Secret, ...]] = {
    System.CONSONANCE: (Secret.CONSONANCE,),
    System.MEGAPHONE: (Secret.MEGAPHONE,),
    System.SPOTIFY: (Secret.SPOTIFY, Secret.SPOTIFY_ACCOUNTS),
}


def doctor_declaration(system: System) -> FlowDeclaration:
    """A flow's declaration narrowed to one system's secrets and the rate limiter's table: the settings
    and grants the doctor needs to build that system's connectors exactly as a flow does."""
    return replace(
        flow(FlowName.EPISODE_PUBLISHER),
        secrets=SYSTEM_SECRETS[system],
        reads=(Table.CURSORS,),
        writes=(Table.CURSORS,),
        bucket_reads=(),
        bucket_writes=(),
        environment={},
    )


def doctor_environment(declaration: FlowDeclaration, names: ResourceNames, project_root: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """What the stack would give this declaration: its slice of the cdk.json context, the resource names
    from the prefix, then any setting variable the process environment sets."""
    known = known_variables()
    return {
        **context_environment(declaration, project_root),
        **named_wiring(declaration, names),
        "POWERTOOLS_SERVICE_NAME": declaration.name,
        **{name: value for name, value in environ.items() if name in known},
    }


def failed(system: System, check: str, exc: BaseException) -> Check:
    """A check that raised. A pydantic error's text quotes the input — here a secret's value, when a
    secret has the wrong shape — so only where and what is wrong is kept of it."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}" for error in exc.errors())
        return Check(system=system, check=check, status=Status.FAIL, detail=f"{exc.title} is malformed: {problems}")
    return Check(system=system, check=check, status=Status.FAIL, detail=f"{type(exc).__name__}: {exc}")


# ---------------------------------------------------------------------------------------- consonance
def check_consonance(dependencies: Dependencies, environment: Mapping[str, str]) -> list[Check]:
    system = System.CONSONANCE
    try:
        answer = dependencies.consonance.introspect(get_introspection_query())
    except AuthenticationFailed as exc:
        return [Check(system=system, check="API key", status=Status.FAIL, detail=f"refused: {exc}")]
    except RequestRejected as exc:
        detail = f"{exc} (does the server turn introspection off for this key?)"
        return [Check(system=system, check="schema introspection", status=Status.FAIL, detail=detail)]
    except CHECK_FAILURES as exc:
        return [failed(system, "schema introspection", exc)]
    try:
        live = build_client_schema(answer)  # type: ignore[arg-type]
    except (TypeError, KeyError, ValueError) as exc:
        return [failed(system, "schema introspection", exc)]
    checks = [
        Check(system=system, check="API key", status=Status.OK, detail=f"accepted at {dependencies.settings.consonance.consonance_url}"),
    ]
    project = consonance_schema.load_project_schema()
    uses = consonance_schema.project_uses(project)
    inferred = consonance_schema.inferred_coordinates(consonance_schema.load_extensions())
    missing = consonance_schema.absent(uses, project, live)
    for coordinate in missing:
        checks.append(absent_check(coordinate, uses, inferred, environment))
    operations = frozenset().union(*uses.values())
    if not missing:
        detail = f"all {len(uses)} types, fields, arguments and enum values the project's {len(operations)} operations use are present"
        checks.append(Check(system=system, check="schema", status=Status.OK, detail=detail))
    relied = sorted({i for i in inferred if i.member is not None and any(i.contains(used) for used in uses)}, key=consonance_schema.SchemaCoordinate.sort_key)
    present = [str(i) for i in relied if not any(m.contains(i) or i.contains(m) for m in missing)]
    if present:
        checks.append(Check(system=system, check="inferred fields", status=Status.OK, detail=f"{len(present)} present: {', '.join(present)}"))
    return checks


def absent_check(
    coordinate: consonance_schema.SchemaCoordinate,
    uses: consonance_schema.Uses,
    inferred: set[consonance_schema.SchemaCoordinate],
    environment: Mapping[str, str],
) -> Check:
    """One absent coordinate: which operations need it, and what works around it (if anything)."""
    operations = consonance_schema.operations_using(coordinate, uses)
    kind = "inferred" if any(i.contains(coordinate) for i in inferred) else "in the transcribed spec"
    parts = [f"absent from the live schema ({kind}); used by {', '.join(sorted(operations))}"]
    uncovered = set(operations)
    status = Status.WARN
    for workaround in consonance_schema.WORKAROUNDS:
        if not workaround.coordinate.contains(coordinate):
            continue
        covered = operations & workaround.operations
        uncovered -= covered
        if consonance_schema.is_configured(workaround, environment):
            parts.append(f"worked around in {', '.join(sorted(covered))} by {workaround.setting} (configured)")
        else:
            status = Status.FAIL
            parts.append(f"set {workaround.setting} (CDK context '{workaround.context_key}') to work around it in {', '.join(sorted(covered))}")
    if uncovered:
        status = Status.FAIL
        parts.append(f"no setting works around it in {', '.join(sorted(uncovered))}")
    return Check(system=System.CONSONANCE, check=str(coordinate), status=status, detail="; ".join(parts))


# ----------------------------------------------------------------------------------------- megaphone
def check_megaphone(dependencies: Dependencies) -> list[Check]:
    system = System.MEGAPHONE
    settings = dependencies.settings.megaphone
    network = settings.megaphone_network_id
    try:
        podcasts = {podcast.id: podcast.title for podcast in dependencies.megaphone.list_podcasts()}
    except AuthenticationFailed as exc:
        return [Check(system=system, check="token", status=Status.FAIL, detail=f"refused: {exc}")]
    except NotFound:
        return [
            Check(system=system, check="token", status=Status.OK, detail="accepted"),
            Check(system=system, check="network", status=Status.FAIL, detail=f"no network {network} (CDK context 'megaphoneNetworkId')"),
        ]
    except CHECK_FAILURES as exc:
        return [failed(system, "token and network", exc)]
    checks = [
        Check(system=system, check="token", status=Status.OK, detail="accepted"),
        Check(system=system, check="network", status=Status.OK, detail=f"network {network}: {len(podcasts)} podcast(s)"),
    ]
    if not settings.megaphone_podcasts:
        checks.append(
            Check(system=system, check="podcast mapping", status=Status.WARN, detail="no series is mapped to a podcast (CDK context 'megaphonePodcasts')")
        )
    for series, podcast in sorted(settings.megaphone_podcasts.items()):
        check = f"series {series}"
        if podcast in podcasts:
            checks.append(Check(system=system, check=check, status=Status.OK, detail=f"podcast {podcast} ({podcasts[podcast]})"))
        else:
            detail = f"podcast {podcast} is not in network {network}; correct megaphonePodcasts[{series!r}]"
            checks.append(Check(system=system, check=check, status=Status.FAIL, detail=detail))
    return checks


# ------------------------------------------------------------------------------------------- spotify
def check_spotify(dependencies: Dependencies, flows: tuple[FlowDeclaration, ...] = FLOWS) -> list[Check]:
    system = System.SPOTIFY
    try:
        dependencies.spotify_web.access_token()
        checks = [Check(system=system, check="app credentials", status=Status.OK, detail="client credentials grant a token")]
    except AuthenticationFailed as exc:
        checks = [Check(system=system, check="app credentials", status=Status.FAIL, detail=f"refused: {exc}")]
    except CHECK_FAILURES as exc:
        checks = [failed(system, "app credentials", exc)]
    accounts = dependencies.settings.spotify_accounts
    if not accounts.spotify_accounts:
        checks.append(Check(system=system, check="accounts", status=Status.OK, detail="no account configured (CDK context 'spotifyAccounts')"))
    needed = scopes_for_accounts(flows)
    for account in accounts.spotify_accounts:
        checks += check_account(dependencies, account, needed, utcnow())
    return checks


def check_account(dependencies: Dependencies, account: str, needed: tuple[str, ...], now: datetime) -> list[Check]:
    system = System.SPOTIFY
    name = f"account {account}"
    again = f"run `python -m infra.ops auth spotify --account {account}`"
    try:
        authorisation = dependencies.spotify_authorisations.load(account)
    except CHECK_FAILURES as exc:
        return [failed(system, name, exc)]
    if authorisation is None:
        return [Check(system=system, check=name, status=Status.FAIL, detail=f"not authorised: {again}")]
    missing = sorted(set(needed) - set(authorisation.scopes))
    checks = [
        Check(system=system, check=f"{name}: scopes", status=Status.FAIL, detail=f"not granted: {', '.join(missing)}; {again}")
        if missing
        else Check(system=system, check=f"{name}: scopes", status=Status.OK, detail=f"all {len(needed)} granted")
    ]
    days = authorisation.days_left(now)
    expiry = authorisation.refresh_expires_at.date().isoformat()
    warning_days = dependencies.settings.spotify_accounts.spotify_authorisation_warning_days
    if days <= 0:
        checks.append(Check(system=system, check=f"{name}: expiry", status=Status.FAIL, detail=f"the refresh token expired on {expiry}; {again}"))
    elif days <= warning_days:
        detail = f"the refresh token expires on {expiry} (in {days:.0f} days); {again} before then"
        checks.append(Check(system=system, check=f"{name}: expiry", status=Status.WARN, detail=detail))
    else:
        checks.append(Check(system=system, check=f"{name}: expiry", status=Status.OK, detail=f"the refresh token expires on {expiry} (in {days:.0f} days)"))
    # The refresh the flows do, without their operator alert: the doctor reports instead.
    config = dependencies.settings
    tokens = AuthorizationCodeTokens(
        accounts_service(config.spotify.spotify_accounts_url, timeout_seconds=config.http.http_timeout_seconds),
        dependencies.spotify_authorisations,
        account,
    )
    try:
        tokens.access_token()
        checks.append(Check(system=system, check=f"{name}: refresh", status=Status.OK, detail="Spotify accepts the refresh token"))
    except AuthorisationLost as exc:
        checks.append(Check(system=system, check=f"{name}: refresh", status=Status.FAIL, detail=str(exc)))
    except CHECK_FAILURES as exc:
        checks.append(failed(system, f"{name}: refresh", exc))
    return checks


# ------------------------------------------------------------------------------------------ together
SystemCheck = Callable[[Dependencies, Mapping[str, str]], list[Check]]
SYSTEM_CHECKS: dict[System, SystemCheck] = {
    System.CONSONANCE: check_consonance,
    System.MEGAPHONE: lambda dependencies, _environment: check_megaphone(dependencies),
    System.SPOTIFY: lambda dependencies, _environment: check_spotify(dependencies),
}


def run_checks(names: ResourceNames, systems: tuple[System, ...], project_root: Path, environ: Mapping[str, str]) -> list[Check]:
    checks: list[Check] = []
    for system in systems:
        declaration = doctor_declaration(system)
        environment = doctor_environment(declaration, names, project_root, environ)
        try:
            dependencies = Dependencies(FlowSettings(declaration, environment))
        except ConfigurationError as exc:
            checks.append(Check(system=system, check="settings", status=Status.FAIL, detail=str(exc)))
            continue
        checks += SYSTEM_CHECKS[system](dependencies, environment)
    return checks
