"""cdk-nag (AwsSolutions) findings this stack accepts on purpose, each with the reason it is accepted.

Everything else AwsSolutions flags is an error: app.py exits non-zero and the infra tests fail.
Suppressions are attached to the single resource concerned and, for IAM5, to the exact wildcard
(`appliesTo`), so a new, unexpected wildcard in the same policy is still reported.

The signed webhook's public function URL (auth type NONE) is not an AwsSolutions finding: cdk-nag's
LambdaFunctionUrlAuth rule belongs to no rule pack applied here. Why it is public, and what guards it
(HMAC in the handler, reserved concurrency), is written at `flow_constructs.HttpFlow`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions

from infra.flows import SECRET_SPECS, Secret, SecretShape
from infra.bytecode import LAMBDA_PYTHON_VERSION
from infra.tables import table_spec

if TYPE_CHECKING:
    from infra.flow_constructs import FlowConstruct
    from infra.stack import ConsonanceSpotifyStack

RUNTIME_PIN_REASON = (
    f"All functions and the dependency layer share one pinned runtime, Python {LAMBDA_PYTHON_VERSION}: the layer is "
    "built by pip for exactly that interpreter (cp312 manylinux2014_aarch64 wheels, infra/layer.py), so the runtime "
    "moves only together with the layer build, as a deliberate upgrade."
)
XRAY_WILDCARD_REASON = (
    "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level "
    "permissions, so Resource '*' is the only possible scope (added by Lambda tracing=ACTIVE)."
)
SECRET_ROTATION_REASON = (
    "The value is a third-party credential issued by {provider}; no rotation function can mint a new one. "
    "Operators rotate it at the provider and put the new value; functions pick it up within the "
    "Powertools Parameters cache time (functions/secrets.py) without a redeploy."
)
WEBHOOK_KEY_ROTATION_REASON = (
    "The webhook signing key is shared with external senders that sign every delivery with it; a rotation "
    "function would change it under them and every delivery would be rejected. Operators rotate it as a "
    "coordinated change: put the new key beside the old one (functions/webhook/signature.py accepts several keys), move each "
    "sender over, then drop the old key."
)
ACCOUNT_AUTHORISATION_REASON = (
    "The value is a Spotify user's authorisation (a refresh token) that only the user's consent can mint "
    "(`python -m infra.ops auth spotify`); no rotation function can ask for it. When Spotify rotates the "
    "refresh token the functions store the new one themselves, and an alarm warns 14 days before it expires."
)


BUCKET_ACCESS_LOG_REASON = (
    "The bucket holds documents the functions generate (briefs, reports, manifests); every writer is a role "
    "of this stack with a declared grant, and who read what is answered by CloudTrail data events, which "
    "the account can enable for the bucket. Server access logs would need a log bucket of their own."
)


def secret_rotation_reason(secret: Secret) -> str:
    spec = SECRET_SPECS[secret]
    if spec.shape is SecretShape.SIGNING_KEYS:
        return WEBHOOK_KEY_ROTATION_REASON
    if spec.shape is SecretShape.ACCOUNT_AUTHORISATION:
        return ACCOUNT_AUTHORISATION_REASON
    return SECRET_ROTATION_REASON.format(provider=f"the vendor ({spec.purpose})")


# The wildcard actions of CDK's Bucket.grant_read / grant_read_write, as cdk-nag reports them.
BUCKET_READ_WILDCARDS = ("Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*")
BUCKET_WRITE_WILDCARDS = ("Action::s3:DeleteObject*", "Action::s3:Abort*")


def objects_wildcard(bucket: s3.IBucket) -> str:
    """The IAM5 finding text for `<bucket arn>/*`, exactly as cdk-nag reports it."""
    stack = Stack.of(bucket)
    logical_id = stack.get_logical_id(bucket.node.default_child)
    return f"Resource::<{logical_id}.Arn>/*"


def glue_tables_wildcard(stack: ConsonanceSpotifyStack) -> str:
    """The IAM5 finding text for the analytics database's `table/<database>/*` ARN."""
    return f"Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/{stack.names.glue_database}/*"


def index_wildcard(table: dynamodb.Table) -> str:
    """The IAM5 finding text for `<table arn>/index/*`, exactly as cdk-nag reports it."""
    stack = Stack.of(table)
    logical_id = stack.get_logical_id(table.node.default_child)
    return f"Resource::<{logical_id}.Arn>/index/*"


def suppress_flow_findings(flow: FlowConstruct, stack: ConsonanceSpotifyStack) -> None:
    NagSuppressions.add_resource_suppressions(
        flow.function.node.default_child,
        [NagPackSuppression(id="AwsSolutions-L1", reason=RUNTIME_PIN_REASON)],
    )
    policy = flow.role.node.find_child("DefaultPolicy")
    if not isinstance(policy, iam.Policy):
        raise TypeError(f"{flow.declaration.name}: expected the role's DefaultPolicy, found {policy!r}")
    suppressions = [NagPackSuppression(id="AwsSolutions-IAM5", reason=XRAY_WILDCARD_REASON, applies_to=["Resource::*"])]
    for table in flow.declaration.tables:
        if not table_spec(table).indexes:
            continue  # without indexes the grant names the table ARN only: nothing to suppress
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason=(
                    f"The {table.value} table's read{'/write' if table in flow.declaration.writes else ''} grant covers its "
                    f"global secondary indexes (<table arn>/index/*) so that {flow.declaration.name} can Query them; the "
                    "wildcard is limited to this one table's indexes, which flows.py declares it may use."
                ),
                applies_to=[index_wildcard(stack.tables[table])],
            )
        )
    if flow.declaration.runs_athena_queries:
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason=(
                    "Athena reads the analytics tables through the Glue catalogue with the caller's permissions: "
                    f"{flow.declaration.name} may read the tables of its one database (table/<database>/*: the facts "
                    "table and the dimension tables the stack defines), nothing else in the catalogue."
                ),
                applies_to=[glue_tables_wildcard(stack)],
            )
        )
    for bucket in flow.declaration.buckets:
        writes = bucket in flow.declaration.bucket_writes
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason=(
                    f"CDK's bucket grant_read{'_write' if writes else ''} for the {bucket.value} bucket, which flows.py declares "
                    f"{flow.declaration.name} may {'read and write' if writes else 'read'}: the object wildcard (<bucket arn>/*) "
                    "is limited to this one bucket, and the action wildcards are CDK's standard object read"
                    f"{'/write' if writes else ''} set (GetObject*, GetBucket*, List*{', DeleteObject*, Abort*' if writes else ''})."
                ),
                applies_to=[objects_wildcard(stack.buckets[bucket]), *BUCKET_READ_WILDCARDS, *(BUCKET_WRITE_WILDCARDS if writes else ())],
            )
        )
    NagSuppressions.add_resource_suppressions(policy, suppressions, apply_to_children=True)




def apply_justified_suppressions(stack: ConsonanceSpotifyStack) -> None:
    for flow in stack.flows.values():
        suppress_flow_findings(flow, stack)
    for secret, resource in stack.secrets.items():
        NagSuppressions.add_resource_suppressions(
            resource,
            [NagPackSuppression(id="AwsSolutions-SMG4", reason=secret_rotation_reason(secret))],
        )
    for bucket in stack.buckets.values():
        NagSuppressions.add_resource_suppressions(bucket, [NagPackSuppression(id="AwsSolutions-S1", reason=BUCKET_ACCESS_LOG_REASON)])
    for resource in stack.account_secrets.values():
        NagSuppressions.add_resource_suppressions(
            resource,
            [NagPackSuppression(id="AwsSolutions-SMG4", reason=secret_rotation_reason(Secret.SPOTIFY_ACCOUNTS))],
        )
