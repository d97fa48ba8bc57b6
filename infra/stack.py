"""The ConsonanceSpotify stack, built entirely from infra/flows.py (FLOWS) and infra/tables.py (TABLES).

Resources: the custom event bus, the DynamoDB tables, one secret per declared `Secret` (and one per
configured Spotify account for the account family), the dependency layer,
one flow construct per declaration (see flow_constructs.py), the operations-alerts topic, and the
alarms and dashboard (monitoring.py). cdk-nag findings that are accepted on purpose are suppressed,
each with its reason, in nag.py.

Everything an operator or the ops CLI looks up has a fixed physical name from infra/naming.py under
the `resourcePrefix` context key (default "consonance-spotify"): the bus, queues and DLQs, tables,
functions, rules, secrets and the alerts topic. That means one stack per account/region per prefix.
Functions still get every name through their environment, never by convention.

Both code assets arrive built: the dependency layer from infra/layer.py and the functions' code from
infra/function_code.py, each with CPython 3.12 bytecode (infra/bytecode.py). The stack refuses an
asset without it, so nothing reaches Lambda that would compile every module on each cold start.

SnapStart is a deployment setting (context `snapStart`, infra/snap_start.py): off by default; when
on for a flow, its function gets a published version and the `live` alias, and its triggers invoke
the alias (see infra/flow_constructs.py and docs/cold-start.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, Aws, CfnOutput, Duration, FeatureFlags, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from functions.settings import CoreSettings
from infra.bytecode import BytecodeBuildError, require_bytecode
from infra.deployment_context import DeploymentContextError, missing_for_deployment, resolve_context, validate_flow_environments
from infra.flow_constructs import ARCHITECTURE, RUNTIME, FlowConstruct, SharedResources, build_flow, construct_id
from infra.buckets import BUCKETS, BucketSpec
from infra.flows import FLOWS, SECRET_SPECS, Bucket, Secret, SecretShape, Table
from infra.monitoring import FlowMonitoring, OperationsAlerts
from infra.naming import RESOURCE_PREFIX_CONTEXT_KEY, ResourceNameError, ResourceNames, resource_prefix
from infra.nag import apply_justified_suppressions
from infra.snap_start import LAYER_VERSION_FLAG, SNAP_START_CONTEXT_KEY, require_layer_aware_versions, snap_start_flows
from infra.tables import TABLES, TableSpec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAYER_SITE_PACKAGES = "python"  # the layer asset's directory that Lambda mounts as /opt/python
STACK_NAME = "ConsonanceSpotify"
EVENT_SOURCE = str(CoreSettings.model_fields["event_source"].default)

# The placeholder's shape: a JSON secret starts as the JSON object the functions parse, so an
# operator replaces values rather than guessing keys. The webhook key is usable as generated.
SPOTIFY_CLIENT_PLACEHOLDER = {"client_id": "replace-with-the-spotify-app-client-id"}
SPOTIFY_GENERATED_KEY = "client_secret"
WEBHOOK_KEY_LENGTH = 64


class ConsonanceSpotifyStack(Stack):
    """`layer_asset_path` is the directory holding `python/` with the runtime dependencies: app.py
    passes the pip-built layer, tests pass a tiny stand-in so they need no download.
    `function_asset_path` holds the staged `functions/` package (infra/function_code.py). Both must
    carry CPython 3.12 checked-hash bytecode for every module (BytecodeBuildError otherwise)."""

    def __init__(
        self,
        scope: Construct,
        construct_name: str,
        *,
        layer_asset_path: Path,
        function_asset_path: Path,
        **stack_options: Any,
    ) -> None:
        super().__init__(scope, construct_name, description="Consonance -> Spotify integration: flows, state, alarms", **stack_options)
        self.layer_asset_path = layer_asset_path
        self.function_asset_path = function_asset_path
        require_bytecode(layer_asset_path / LAYER_SITE_PACKAGES)
        if not require_bytecode(function_asset_path):
            raise BytecodeBuildError(f"{function_asset_path} holds no Python modules; stage it with infra.function_code")
        self.deployment_environment = resolve_context(self.node.try_get_context)
        validate_flow_environments(self.deployment_environment, FLOWS)
        self.snap_start_flows = snap_start_flows(self.node.try_get_context(SNAP_START_CONTEXT_KEY), [d.name for d in FLOWS])
        require_layer_aware_versions(self.snap_start_flows, FeatureFlags.of(self).is_enabled(LAYER_VERSION_FLAG) is True)
        try:
            self.names = ResourceNames(resource_prefix(self.node.try_get_context(RESOURCE_PREFIX_CONTEXT_KEY)))
        except ResourceNameError as exc:
            raise DeploymentContextError(str(exc)) from exc
        for setting in missing_for_deployment(self.deployment_environment):
            Annotations.of(self).add_warning_v2(
                f"consonance-spotify:context-{setting.context_key}",
                f"context '{setting.context_key}' ({setting.description}) is not set; functions fall back to the "
                f"sandbox default of {setting.env_var}. Set it in cdk.json or with -c before deploying.",
            )

        self.event_bus = events.EventBus(self, "EventBus", event_bus_name=self.names.event_bus)
        self.tables: dict[Table, dynamodb.Table] = {spec.table: self._table(spec) for spec in TABLES}
        self.buckets: dict[Bucket, s3.Bucket] = {spec.bucket: self._bucket(spec) for spec in BUCKETS}
        declared = dict.fromkeys(secret for flow in FLOWS for secret in flow.secrets)
        self.secrets: dict[Secret, secretsmanager.Secret] = {
            secret: self._secret(secret) for secret in declared if not SECRET_SPECS[secret].family
        }
        # One secret per configured Spotify account (written by `infra.ops auth spotify`).
        accounts = [a for a in self.deployment_environment.get("SPOTIFY_ACCOUNTS", "").split(",") if a]
        self.account_secrets: dict[str, secretsmanager.Secret] = {account: self._account_secret(account) for account in accounts}
        self.operations_alerts = OperationsAlerts(self, "OperationsAlerts", topic_name=self.names.alerts_topic)
        self.operations_topic = self.operations_alerts.topic

        self.dependency_layer = lambda_.LayerVersion(
            self,
            "DependencyLayer",
            code=lambda_.Code.from_asset(str(layer_asset_path)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Runtime dependencies from requirements.txt (pip, manylinux2014_aarch64, cp312)",
        )
        shared = SharedResources(
            names=self.names,
            event_bus=self.event_bus,
            event_source=EVENT_SOURCE,
            tables=self.tables,
            buckets=self.buckets,
            secrets=self.secrets,
            account_secrets=self.account_secrets,
            alerts_topic=self.operations_topic,
            alerts_key=self.operations_alerts.key,
            code=lambda_.Code.from_asset(str(function_asset_path)),
            dependency_layer=self.dependency_layer,
            deployment_environment=self.deployment_environment,
            snap_start_flows=self.snap_start_flows,
        )
        self.flows: dict[str, FlowConstruct] = {declaration.name: build_flow(self, declaration, shared) for declaration in FLOWS}
        self.monitoring = FlowMonitoring(
            self, "Monitoring", list(self.flows.values()), self.operations_topic, spotify_accounts=list(self.account_secrets)
        )

        apply_justified_suppressions(self)
        self._outputs()

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"{construct_id(spec.table.value)}Table",
            table_name=self.names.table(spec.table),
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING) if spec.sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
            time_to_live_attribute=spec.ttl_attribute,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING) if index.sort_key else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _bucket(self, spec: BucketSpec) -> s3.Bucket:
        """Private, encrypted, TLS only, versioned; earlier versions expire. Retained on stack deletion."""
        return s3.Bucket(
            self,
            f"{construct_id(spec.bucket.value)}Bucket",
            bucket_name=self.names.bucket(spec.bucket, Aws.ACCOUNT_ID, Aws.REGION),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=spec.versioned,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(spec.noncurrent_days))],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _account_secret(self, account: str) -> secretsmanager.Secret:
        """A Spotify account's authorisation; a placeholder until `infra.ops auth spotify --account` runs."""
        spec = SECRET_SPECS[Secret.SPOTIFY_ACCOUNTS]
        return secretsmanager.Secret(
            self,
            f"SpotifyAccount{construct_id(account)}Secret",
            secret_name=self.names.family_member(Secret.SPOTIFY_ACCOUNTS, account),
            description=f"{spec.purpose} - account {account} (placeholder until authorised)",
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _secret(self, secret: Secret) -> secretsmanager.Secret:
        """Created with a random placeholder; operators put the real credential with
        `aws secretsmanager put-secret-value`. Retained on stack deletion, like the tables.
        The webhook signing key is ours, not a third party's: the generated value is a real key that
        an operator hands to each sender."""
        return secretsmanager.Secret(
            self,
            f"{construct_id(secret.value)}Secret",
            secret_name=self.names.secret(secret),
            description=secret_description(secret),
            generate_secret_string=placeholder_generator(secret),
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _outputs(self) -> None:
        CfnOutput(self, "EventBusName", value=self.event_bus.event_bus_name)
        CfnOutput(self, "OperationsTopicArn", value=self.operations_topic.topic_arn)
        for bucket, resource in self.buckets.items():
            CfnOutput(self, f"{construct_id(bucket.value)}BucketName", value=resource.bucket_name)
        for table, resource in self.tables.items():
            CfnOutput(self, f"{construct_id(table.value)}TableName", value=resource.table_name)
        for name, flow in self.flows.items():
            if flow.dead_letter_queue is not None:
                CfnOutput(self, f"{construct_id(name)}DeadLetterQueueUrl", value=flow.dead_letter_queue.queue_url)
            if flow.function_url is not None:
                CfnOutput(
                    self,
                    f"{construct_id(name)}Url",
                    value=flow.function_url.url,
                    description=f"{name}: the HTTPS endpoint senders POST signed notices to",
                )


def secret_description(secret: Secret) -> str:
    spec = SECRET_SPECS[secret]
    if spec.generated_is_usable:
        return f"{spec.purpose} (generated; give it to each sender)"
    return f"{spec.purpose} (placeholder until an operator puts the real value)"


def placeholder_generator(secret: Secret) -> secretsmanager.SecretStringGenerator | None:
    """The generated initial value: Spotify's in the JSON shape its connector reads, the webhook key
    as a usable random key; None keeps CDK's default random string."""
    shape = SECRET_SPECS[secret].shape
    if shape is SecretShape.CLIENT_CREDENTIALS:
        return secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps(SPOTIFY_CLIENT_PLACEHOLDER),
            generate_string_key=SPOTIFY_GENERATED_KEY,
            exclude_punctuation=True,
        )
    if shape is SecretShape.SIGNING_KEYS:
        return secretsmanager.SecretStringGenerator(password_length=WEBHOOK_KEY_LENGTH, exclude_punctuation=True)
    return None
