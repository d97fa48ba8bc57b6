"""Physical names of every resource an operator or the ops CLI looks up, derived from one prefix.

Plain Python (no CDK import): the CDK stack names its resources with it, the ops CLI finds them with
it without asking CloudFormation, and the local sandbox can create the same names in moto. With the
default prefix `consonance-spotify`:

| resource                         | name                                       |
| -------------------------------- | ------------------------------------------ |
| event bus                        | consonance-spotify                         |
| flow queue (queue flows)         | consonance-spotify-<flow>                  |
| flow dead-letter queue           | consonance-spotify-<flow>-dlq              |
| bus rule (queue flows)           | consonance-spotify-<flow>                  |
| schedule rule (scheduled flows)  | consonance-spotify-<flow>-schedule         |
| Lambda function                  | consonance-spotify-<flow>                  |
| DynamoDB table                   | consonance-spotify-<table>  (e.g. -ledger) |
| S3 bucket                        | consonance-spotify-<bucket>-<account>-<region> |
| secret                           | consonance-spotify/<name> (the secret spec's name, e.g. spotify-client) |
| Spotify account secret           | consonance-spotify/spotify-account/<account> |
| operations alerts topic          | consonance-spotify-alerts                  |
| Glue database (analytics)        | consonance_spotify_analytics               |
| Athena workgroup (analytics)     | consonance-spotify-analytics               |
| S3 export rule (default bus)     | consonance-spotify-<flow>  (like a bus rule) |

The prefix comes from the CDK context key `resourcePrefix` (default `consonance-spotify`) and the
CLI's `--prefix`. Fixed names have a price: two deployments of the stack in one account and region
must use different prefixes (and stack names), otherwise the second one fails on "already exists".
One stack per account/region per prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.flows import SECRET_SPECS, Bucket, Secret, Table

DEFAULT_RESOURCE_PREFIX = "consonance-spotify"
RESOURCE_PREFIX_CONTEXT_KEY = "resourcePrefix"

# Lowercase letters, digits and inner hyphens: valid in every service's names, and in secret paths.
PREFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# The tightest name limits among the named resources (Lambda function and EventBridge rule: 64).
MAX_FUNCTION_NAME = 64
MAX_RULE_NAME = 64
MAX_QUEUE_NAME = 80
MAX_BUCKET_NAME = 63
ACCOUNT_ID_LENGTH = 12
LONGEST_REGION_NAME = 14  # e.g. ap-southeast-3
DEAD_LETTER_SUFFIX = "-dlq"
SCHEDULE_SUFFIX = "-schedule"


class ResourceNameError(ValueError):
    """A prefix or flow name would produce a name AWS rejects; refuse before anything is created."""


@dataclass(frozen=True)
class ResourceNames:
    """Every name for one deployment (one prefix)."""

    prefix: str = DEFAULT_RESOURCE_PREFIX

    def __post_init__(self) -> None:
        if not PREFIX_PATTERN.match(self.prefix):
            raise ResourceNameError(
                f"resource prefix {self.prefix!r} must be lowercase letters, digits and inner hyphens (e.g. 'consonance-spotify')"
            )

    @property
    def event_bus(self) -> str:
        return self.prefix

    @property
    def alerts_topic(self) -> str:
        return f"{self.prefix}-alerts"

    def queue(self, flow: str) -> str:
        return self._checked(f"{self.prefix}-{flow}", MAX_QUEUE_NAME - len(DEAD_LETTER_SUFFIX), "queue")

    def dead_letter_queue(self, flow: str) -> str:
        return f"{self.queue(flow)}{DEAD_LETTER_SUFFIX}"

    def function(self, flow: str) -> str:
        return self._checked(f"{self.prefix}-{flow}", MAX_FUNCTION_NAME, "function")

    def event_rule(self, flow: str) -> str:
        """The bus rule routing a queue flow's detail-types to its queue."""
        return self._checked(f"{self.prefix}-{flow}", MAX_RULE_NAME, "rule")

    def schedule_rule(self, flow: str) -> str:
        return self._checked(f"{self.prefix}-{flow}{SCHEDULE_SUFFIX}", MAX_RULE_NAME, "schedule rule")

    def table(self, table: Table) -> str:
        return f"{self.prefix}-{table.value}"

    def bucket(self, bucket: Bucket, account: str, region: str) -> str:
        """Bucket names are global: the account and region keep two deployments' apart. Synthesis passes
        CloudFormation tokens for them, so the length is checked with the longest real values."""
        name = f"{self.prefix}-{bucket.value}-{account}-{region}"
        longest = f"{self.prefix}-{bucket.value}-{'0' * ACCOUNT_ID_LENGTH}-{'x' * LONGEST_REGION_NAME}"
        self._checked(longest if "${Token" in name else name, MAX_BUCKET_NAME, "bucket")
        return name

    def secret(self, secret: Secret) -> str:
        """`<prefix>/<spec name>`, e.g. `consonance-spotify/spotify-client`; for a family of secrets
        (one per Spotify account) the folder that holds them."""
        return f"{self.prefix}/{SECRET_SPECS[secret].name}"

    def family_member(self, secret: Secret, member: str) -> str:
        """One secret of a family: `consonance-spotify/spotify-account/publisher`."""
        if not SECRET_SPECS[secret].family:
            raise ResourceNameError(f"secret {secret.value} is not a family of secrets")
        if not PREFIX_PATTERN.match(member):
            raise ResourceNameError(f"{member!r} must be lowercase letters, digits and inner hyphens")
        return f"{self.secret(secret)}/{member}"

    @property
    def glue_database(self) -> str:
        """Athena reads database names best in lowercase with underscores (no hyphens)."""
        return f"{self.prefix.replace('-', '_')}_analytics"

    @property
    def athena_workgroup(self) -> str:
        return f"{self.prefix}-analytics"

    def _checked(self, name: str, limit: int, kind: str) -> str:
        if len(name) > limit:
            raise ResourceNameError(f"{kind} name {name!r} is {len(name)} characters; AWS allows {limit}. Use a shorter prefix.")
        return name


def resource_prefix(context_value: object) -> str:
    """The prefix from the CDK context value (absent or empty: the default)."""
    if context_value is None or context_value == "":
        return DEFAULT_RESOURCE_PREFIX
    if not isinstance(context_value, str):
        raise ResourceNameError(f"context {RESOURCE_PREFIX_CONTEXT_KEY!r} must be a string, got {context_value!r}")
    return ResourceNames(context_value).prefix
