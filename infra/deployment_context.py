"""Deployment configuration: the one mapping from CDK context keys to the Lambda environment.

Operators configure a deployment in `cdk.json` ("context") or with `cdk deploy -c key=value`; the
stack turns each key into the environment variable that `functions.settings.Settings` reads. A
setting that belongs to one connector only reaches the flows that declare that connector's secret,
so a function never carries configuration for a system it cannot call.

| context key             | env var                     | given to                          |
| ----------------------- | --------------------------- | --------------------------------- |
| consonanceUrl           | CONSONANCE_URL              | flows declaring Secret.CONSONANCE |
| consonanceRatePerMinute | CONSONANCE_RATE_PER_MINUTE  | flows declaring Secret.CONSONANCE |
| megaphoneUrl            | MEGAPHONE_URL               | flows declaring Secret.MEGAPHONE  |
| megaphoneNetworkId      | MEGAPHONE_NETWORK_ID        | flows declaring Secret.MEGAPHONE  |
| megaphonePodcasts       | MEGAPHONE_PODCASTS (JSON)   | flows declaring Secret.MEGAPHONE  |
| megaphoneRatePerMinute  | MEGAPHONE_RATE_PER_MINUTE   | flows declaring Secret.MEGAPHONE  |
| megaphoneIngestSeconds  | MEGAPHONE_INGEST_SECONDS    | flows declaring Secret.MEGAPHONE  |
| spotifyAccountsUrl      | SPOTIFY_ACCOUNTS_URL        | flows declaring Secret.SPOTIFY    |
| spotifyApiUrl           | SPOTIFY_API_URL             | flows declaring Secret.SPOTIFY    |
| spotifyMarkets          | SPOTIFY_MARKETS (a,b,c)     | every flow                        |
| spotifyRatePerMinute    | SPOTIFY_RATE_PER_MINUTE     | flows declaring Secret.SPOTIFY    |
| webhookToleranceSeconds | WEBHOOK_TOLERANCE_SECONDS   | flows declaring Secret.WEBHOOK    |
| consonanceMapping       | MAPPING (JSON)              | every flow                        |
| documentsBaseUrl        | DOCUMENTS_BASE_URL          | every flow                        |
| spotifyAccounts         | SPOTIFY_ACCOUNTS (a,b)      | flows declaring Secret.SPOTIFY_ACCOUNTS (and the stack: a secret each) |
| distributionPreflight   | PREFLIGHT (JSON)            | flows declaring Secret.MEGAPHONE  |
| renditionsBaseUrl       | RENDITIONS_BASE_URL         | flows declaring Secret.MEGAPHONE  |
| spotifyPlayableWithinHours | SPOTIFY_PLAYABLE_WITHIN_HOURS | every flow                     |
| marketing               | MARKETING (JSON)            | every flow (the marketing flows read it)                               |
| spotifyAdsUrl           | SPOTIFY_ADS_URL             | flows declaring Secret.SPOTIFY_ACCOUNTS |
| spotifyAdsAccount       | SPOTIFY_ADS_ACCOUNT         | flows declaring Secret.SPOTIFY_ACCOUNTS |
| spotifyAdsAdAccountId   | SPOTIFY_ADS_AD_ACCOUNT_ID   | flows declaring Secret.SPOTIFY_ACCOUNTS |
| spotifyAdsRatePerMinute | SPOTIFY_ADS_RATE_PER_MINUTE | flows declaring Secret.SPOTIFY_ACCOUNTS |
| spotifyAdsAutoPublish   | SPOTIFY_ADS_AUTO_PUBLISH    | flows declaring Secret.SPOTIFY_ACCOUNTS |
| analyticsPrefix         | ANALYTICS_PREFIX            | flows using Bucket.ANALYTICS      |
| analyticsReportUrl      | ANALYTICS_REPORT_URL        | flows using Bucket.ANALYTICS      |
| analyticsAuthorRoles    | ANALYTICS_AUTHOR_ROLES (A01,E07) | flows using Bucket.ANALYTICS |
| analyticsRelatedBooks   | ANALYTICS_RELATED_BOOKS (JSON) | flows using Bucket.ANALYTICS   |
| creatorsEnabled         | CREATORS_ENABLED (true/false) | flows using Bucket.ANALYTICS    |
| creatorsShows           | CREATORS_SHOWS (JSON)       | flows using Bucket.ANALYTICS      |
| megaphoneExportPrefix   | MEGAPHONE_EXPORT_PREFIX     | flows using Bucket.MEGAPHONE_EXPORT (and the stack's rule) |
| megaphoneExportCounting | MEGAPHONE_EXPORT_COUNTING (JSON) | flows using Bucket.MEGAPHONE_EXPORT |
| spotifyCreatorsApiUrl   | SPOTIFY_CREATORS_API_URL    | flows declaring Secret.SPOTIFY_CREATORS |

A key that is absent, null, an empty string or an empty object is not passed at all, so the default
in `functions/settings.py` applies; a blank string (only spaces) is refused. Every value is then
checked by the very settings models the functions load at cold start (`validate_flow_environments`),
so a malformed value — a podcast id that is not a string, a mapping field of the wrong type, an
unknown mapping key — stops `make synth` with the variable, the problem and the context key named. `megaphonePodcasts` and `consonanceMapping` are JSON objects (in
cdk.json an object; on the command line a JSON string). `spotifyMarkets` is a list of ISO 3166-1
alpha-2 codes (in cdk.json a list or "GB,US"; on the command line "GB,US"), passed on as "GB,US".

The resource prefix (`resourcePrefix`) is context too, but it names resources rather than configuring
a function: see infra/naming.py. So is `megaphoneExportWriter` (the AWS principal ARN Megaphone support
gives for writing the export; the stack grants it PutObject on the export bucket).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from infra.flows import Bucket, FlowDeclaration, Secret
from infra.naming import PREFIX_PATTERN


class ValueKind(Enum):
    TEXT = "text"
    INTEGER = "integer"
    JSON_OBJECT = "json object"
    COUNTRY_CODES = "comma-separated country codes"
    NAMES = "comma-separated names"


@dataclass(frozen=True)
class ContextSetting:
    context_key: str
    env_var: str
    kind: ValueKind
    description: str
    # None: every flow gets it; otherwise only flows that declare this connector's secret.
    connector: Secret | None = None
    # Deploying without it synthesizes, but with a warning: the sandbox default would be used.
    needed_for_deployment: bool = False
    # Set: only flows that use this bucket get it (a bucket's own configuration, e.g. the analytics store).
    bucket: Bucket | None = None


CONTEXT_SETTINGS: tuple[ContextSetting, ...] = (
    ContextSetting("consonanceUrl", "CONSONANCE_URL", ValueKind.TEXT, "Consonance GraphQL endpoint", Secret.CONSONANCE),
    ContextSetting(
        "consonanceRatePerMinute", "CONSONANCE_RATE_PER_MINUTE", ValueKind.INTEGER, "requests per minute per API key", Secret.CONSONANCE
    ),
    ContextSetting("megaphoneUrl", "MEGAPHONE_URL", ValueKind.TEXT, "Megaphone CMS API base URL", Secret.MEGAPHONE),
    ContextSetting(
        "megaphoneNetworkId",
        "MEGAPHONE_NETWORK_ID",
        ValueKind.TEXT,
        "the publisher's Megaphone network id",
        Secret.MEGAPHONE,
        needed_for_deployment=True,
    ),
    ContextSetting(
        "megaphonePodcasts",
        "MEGAPHONE_PODCASTS",
        ValueKind.JSON_OBJECT,
        "Consonance series id -> Megaphone podcast id",
        Secret.MEGAPHONE,
        needed_for_deployment=True,
    ),
    ContextSetting(
        "megaphoneRatePerMinute", "MEGAPHONE_RATE_PER_MINUTE", ValueKind.INTEGER, "requests per minute per token", Secret.MEGAPHONE
    ),
    ContextSetting(
        "megaphoneIngestSeconds",
        "MEGAPHONE_INGEST_SECONDS",
        ValueKind.INTEGER,
        "expected audio ingest time in seconds (inferred; 0-900): the delay of a push's ingest check",
        Secret.MEGAPHONE,
    ),
    ContextSetting("spotifyAccountsUrl", "SPOTIFY_ACCOUNTS_URL", ValueKind.TEXT, "Spotify Accounts service base URL", Secret.SPOTIFY),
    ContextSetting("spotifyApiUrl", "SPOTIFY_API_URL", ValueKind.TEXT, "Spotify Web API base URL", Secret.SPOTIFY),
    ContextSetting("spotifyMarkets", "SPOTIFY_MARKETS", ValueKind.COUNTRY_CODES, "markets where availability is watched"),
    ContextSetting(
        "spotifyRatePerMinute", "SPOTIFY_RATE_PER_MINUTE", ValueKind.INTEGER, "Web API requests per minute per app", Secret.SPOTIFY
    ),
    ContextSetting(
        "webhookToleranceSeconds",
        "WEBHOOK_TOLERANCE_SECONDS",
        ValueKind.INTEGER,
        "accepted clock skew / replay window of signed webhooks",
        Secret.WEBHOOK,
    ),
    ContextSetting("consonanceMapping", "MAPPING", ValueKind.JSON_OBJECT, "overrides of the Consonance -> domain mapping"),
    ContextSetting("documentsBaseUrl", "DOCUMENTS_BASE_URL", ValueKind.TEXT, "base URL people open documents (briefs, reports) at"),
    ContextSetting(
        "spotifyAccounts",
        "SPOTIFY_ACCOUNTS",
        ValueKind.NAMES,
        "the Spotify accounts authorised with `infra.ops auth spotify` (a secret each)",
        Secret.SPOTIFY_ACCOUNTS,
    ),
    ContextSetting(
        "distributionPreflight",
        "PREFLIGHT",
        ValueKind.JSON_OBJECT,
        "overrides of the distribution pre-flight's limits (functions/preflight/settings.py)",
        Secret.MEGAPHONE,
    ),
    ContextSetting(
        "renditionsBaseUrl",
        "RENDITIONS_BASE_URL",
        ValueKind.TEXT,
        "public base URL (CloudFront) Megaphone fetches artwork renditions from; unset: pre-signed URLs",
        Secret.MEGAPHONE,
    ),
    ContextSetting(
        "spotifyPlayableWithinHours",
        "SPOTIFY_PLAYABLE_WITHIN_HOURS",
        ValueKind.INTEGER,
        "hours after going live by which Spotify must play an episode before it is a distribution problem",
    ),
    # marketing (campaign milestones, issue 7)
    ContextSetting("marketing", "MARKETING", ValueKind.JSON_OBJECT, "milestone rules, targeting table, campaigns and ad copy"),
    ContextSetting("spotifyAdsUrl", "SPOTIFY_ADS_URL", ValueKind.TEXT, "Spotify Ads API base URL", Secret.SPOTIFY_ACCOUNTS),
    ContextSetting(
        "spotifyAdsAccount", "SPOTIFY_ADS_ACCOUNT", ValueKind.TEXT, "the authorised Spotify account that reaches the ad account", Secret.SPOTIFY_ACCOUNTS
    ),
    ContextSetting("spotifyAdsAdAccountId", "SPOTIFY_ADS_AD_ACCOUNT_ID", ValueKind.TEXT, "the Ads API ad account id", Secret.SPOTIFY_ACCOUNTS),
    ContextSetting(
        "spotifyAdsRatePerMinute", "SPOTIFY_ADS_RATE_PER_MINUTE", ValueKind.INTEGER, "Ads API requests per minute", Secret.SPOTIFY_ACCOUNTS
    ),
    ContextSetting(
        "spotifyAdsAutoPublish",
        "SPOTIFY_ADS_AUTO_PUBLISH",
        ValueKind.NAMES,
        "ad account ids whose validated drafts the integration publishes (default: none, a person publishes)",
        Secret.SPOTIFY_ACCOUNTS,
    ),
    # ----------------------------------------------------------------------- listening analytics
    ContextSetting("analyticsPrefix", "ANALYTICS_PREFIX", ValueKind.TEXT, "key prefix of the analytics store", bucket=Bucket.ANALYTICS),
    ContextSetting(
        "analyticsReportUrl", "ANALYTICS_REPORT_URL", ValueKind.TEXT, "where people open the analytics report", bucket=Bucket.ANALYTICS
    ),
    ContextSetting(
        "analyticsAuthorRoles", "ANALYTICS_AUTHOR_ROLES", ValueKind.TEXT, "ONIX roles counted as authors (A01,...)", bucket=Bucket.ANALYTICS
    ),
    ContextSetting(
        "analyticsRelatedBooks",
        "ANALYTICS_RELATED_BOOKS",
        ValueKind.JSON_OBJECT,
        "Consonance series id -> related book work ids",
        bucket=Bucket.ANALYTICS,
    ),
    ContextSetting(
        "creatorsEnabled", "CREATORS_ENABLED", ValueKind.TEXT, "collect UNOFFICIAL Spotify for Creators figures (true/false)", bucket=Bucket.ANALYTICS
    ),
    ContextSetting(
        "creatorsShows", "CREATORS_SHOWS", ValueKind.JSON_OBJECT, "opted-in Spotify show id -> Consonance series id", bucket=Bucket.ANALYTICS
    ),
    ContextSetting(
        "megaphoneExportPrefix",
        "MEGAPHONE_EXPORT_PREFIX",
        ValueKind.TEXT,
        "key prefix Megaphone writes its export under",
        bucket=Bucket.MEGAPHONE_EXPORT,
    ),
    ContextSetting(
        "megaphoneExportCounting",
        "MEGAPHONE_EXPORT_COUNTING",
        ValueKind.JSON_OBJECT,
        "which export deliveries count as downloads",
        bucket=Bucket.MEGAPHONE_EXPORT,
    ),
    ContextSetting(
        "spotifyCreatorsApiUrl", "SPOTIFY_CREATORS_API_URL", ValueKind.TEXT, "Spotify for Creators analytics API", Secret.SPOTIFY_CREATORS
    ),
)


class DeploymentContextError(ValueError):
    """A context value has the wrong shape; synthesis stops rather than deploy a broken setting."""


def load_cdk_json_context(project_root: Path) -> dict[str, Any]:
    """The defaults in cdk.json. `python app.py` and the tests read them explicitly, because only the
    CDK CLI loads cdk.json by itself (its values still take precedence when it does)."""
    path = project_root / "cdk.json"
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DeploymentContextError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    context = document.get("context", {}) if isinstance(document, dict) else None
    if not isinstance(context, dict):
        raise DeploymentContextError(f"{path}: \"context\" must be a JSON object of settings, got {context!r:.80}")
    return dict(context)


def encode_context_value(setting: ContextSetting, value: Any) -> str | None:
    """The env var text for one context value, or None when it is unset."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and not value.strip():
        raise DeploymentContextError(f"context {setting.context_key!r} is blank; remove it or give it a value")
    if setting.kind is ValueKind.JSON_OBJECT:
        try:
            parsed = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError as exc:
            raise DeploymentContextError(f"context {setting.context_key!r} is not valid JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise DeploymentContextError(f"context {setting.context_key!r} must be a JSON object, got {value!r}")
        return json.dumps(parsed, sort_keys=True, separators=(",", ":")) if parsed else None
    if setting.kind is ValueKind.COUNTRY_CODES:
        return encode_country_codes(setting, value)
    if setting.kind is ValueKind.NAMES:
        return encode_names(setting, value)
    if setting.kind is ValueKind.INTEGER:
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise DeploymentContextError(f"context {setting.context_key!r} must be an integer, got {value!r}") from exc
        if number <= 0:
            raise DeploymentContextError(f"context {setting.context_key!r} must be positive, got {number}")
        return str(number)
    return str(value)


def encode_country_codes(setting: ContextSetting, value: Any) -> str | None:
    """A list or "GB, us" -> "GB,US"; anything that is not a two-letter code stops synthesis."""
    if isinstance(value, str):
        codes = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        codes = [str(part).strip() for part in value]
    else:
        raise DeploymentContextError(f"context {setting.context_key!r} must be a list or a comma-separated string, got {value!r}")
    codes = [code.upper() for code in codes if code]
    invalid = [code for code in codes if len(code) != 2 or not code.isalpha()]
    if invalid:
        raise DeploymentContextError(f"context {setting.context_key!r}: not ISO 3166-1 alpha-2 codes: {invalid}")
    return ",".join(dict.fromkeys(codes)) or None


def encode_names(setting: ContextSetting, value: Any) -> str | None:
    """A list or "a, b" of resource-safe names (lowercase letters, digits, inner hyphens) -> "a,b"."""
    parts = [str(part).strip() for part in value] if isinstance(value, list | tuple) else str(value).split(",")
    names = [part.strip() for part in parts if part.strip()]
    invalid = [name for name in names if not PREFIX_PATTERN.match(name)]
    if invalid:
        raise DeploymentContextError(f"context {setting.context_key!r}: names must be lowercase letters, digits and inner hyphens: {invalid}")
    return ",".join(dict.fromkeys(names)) or None


def resolve_context(lookup: Callable[[str], Any]) -> dict[str, str]:
    """Env var -> value for every configured context key (validated once, for the whole stack).
    `lookup` is `node.try_get_context` in the stack, `dict.get` anywhere else."""
    resolved: dict[str, str] = {}
    for setting in CONTEXT_SETTINGS:
        encoded = encode_context_value(setting, lookup(setting.context_key))
        if encoded is not None:
            resolved[setting.env_var] = encoded
    return resolved


def validate_flow_environments(resolved: Mapping[str, str], flows: Sequence[FlowDeclaration]) -> None:
    """Run every flow's settings models over the values the deployment gives it; any malformed value
    stops synthesis (missing ones are reported by `missing_for_deployment` as warnings instead)."""
    from functions.settings import BUCKET_SETTINGS, CONNECTOR_SETTINGS, FEATURE_SETTINGS, CoreSettings, EnvironmentSettings, HttpSettings

    problems: list[str] = []
    for declaration in flows:
        env = environment_for_flow(declaration, resolved)
        models: list[type[EnvironmentSettings]] = [CoreSettings, HttpSettings, *(CONNECTOR_SETTINGS[s] for s in declaration.secrets if s in CONNECTOR_SETTINGS)]
        models += [m for key in (None, *declaration.secrets) for m in FEATURE_SETTINGS.get(key, ())]
        models += [BUCKET_SETTINGS[b] for b in declaration.buckets if b in BUCKET_SETTINGS]
        for model in models:
            for problem in model.invalid_values(env):
                if problem not in problems:
                    problems.append(problem)
    if problems:
        raise DeploymentContextError("the deployment settings are malformed: " + " | ".join(problems))


def missing_for_deployment(resolved: dict[str, str]) -> list[ContextSetting]:
    """Settings a real deployment needs but the context leaves at the sandbox default."""
    return [s for s in CONTEXT_SETTINGS if s.needed_for_deployment and s.env_var not in resolved]


def environment_for_flow(declaration: FlowDeclaration, resolved: Mapping[str, str]) -> dict[str, str]:
    """The slice of the deployment configuration this flow may see."""
    return {
        setting.env_var: resolved[setting.env_var]
        for setting in CONTEXT_SETTINGS
        if setting.env_var in resolved
        and (setting.connector is None or setting.connector in declaration.secrets)
        and (setting.bucket is None or setting.bucket in declaration.buckets)
    }
