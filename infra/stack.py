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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, Aws, CfnOutput, Duration, FeatureFlags, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from functions.settings import CoreSettings
from infra.bytecode import BytecodeBuildError, require_bytecode
from infra.deployment_context import DeploymentContextError, missing_for_deployment, resolve_context, validate_flow_environments
from functions.analytics.catalog import store_root, table_inputs
from infra.flow_constructs import ARCHITECTURE, RUNTIME, AnalyticsQueries, FlowConstruct, SharedResources, build_flow, construct_id, wire_senders
from infra.function_size import FunctionSize, check_function_sizes, function_sizes
from infra.layer_groups import LAYER_GROUPS, groups_used
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
ATHENA_RESULTS_PREFIX = "athena-results/"  # in the analytics bucket (expires: infra/buckets.py)
ATHENA_ENGINE = "Athena engine version 3"
MEGAPHONE_EXPORT_WRITER_CONTEXT_KEY = "megaphoneExportWriter"
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
        group_layer_paths: Mapping[str, Path] | None = None,
        **stack_options: Any,
    ) -> None:
        super().__init__(scope, construct_name, description="Consonance -> Spotify integration: flows, state, alarms", **stack_options)
        self.layer_asset_path = layer_asset_path
        self.function_asset_path = function_asset_path
        self.group_layer_paths = dict(group_layer_paths or {})
        require_bytecode(layer_asset_path / LAYER_SITE_PACKAGES)
        if not require_bytecode(function_asset_path):
            raise BytecodeBuildError(f"{function_asset_path} holds no Python modules; stage it with infra.function_code")
        for group in groups_used(FLOWS):
            if group.name not in self.group_layer_paths:
                raise BytecodeBuildError(f"no layer asset for dependency group {group.name!r} ({group.requirements}); build it with infra.layer_groups")
            require_bytecode(self.group_layer_paths[group.name] / LAYER_SITE_PACKAGES)
        # Lambda refuses a function whose code and layers exceed 250 MB unzipped: stop here instead.
        self.function_sizes: list[FunctionSize] = function_sizes(FLOWS, function_asset_path, layer_asset_path, self.group_layer_paths)
        check_function_sizes(self.function_sizes)
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
        self.group_layers: dict[str, lambda_.LayerVersion] = {
            name: lambda_.LayerVersion(
                self,
                f"{construct_id(name)}Layer",
                code=lambda_.Code.from_asset(str(path)),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description=f"{LAYER_GROUPS[name].description} ({LAYER_GROUPS[name].requirements}, manylinux2014_aarch64, cp312)",
            )
            for name, path in self.group_layer_paths.items()
            if name in LAYER_GROUPS
        }
        self.analytics = self._analytics_queries()
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
            group_layers=self.group_layers,
            analytics=self.analytics,
        )
        self.flows: dict[str, FlowConstruct] = {declaration.name: build_flow(self, declaration, shared) for declaration in FLOWS}
        wire_senders(self.flows)
        self.monitoring = FlowMonitoring(
            self, "Monitoring", list(self.flows.values()), self.operations_topic, spotify_accounts=list(self.account_secrets)
        )

        self._megaphone_export_writer(self.node.try_get_context(MEGAPHONE_EXPORT_WRITER_CONTEXT_KEY))

        apply_justified_suppressions(self)
        self._outputs()

    def _analytics_queries(self) -> AnalyticsQueries | None:
        """The Glue database and tables over the analytics store, and the Athena workgroup the rollups
        run in (engine v3, results encrypted under the analytics bucket's `athena-results/`, which
        expires). Only when the stack has the analytics bucket."""
        bucket = self.buckets.get(Bucket.ANALYTICS)
        if bucket is None:
            return None
        prefix = self.deployment_environment.get("ANALYTICS_PREFIX", "").strip("/")
        database = glue.CfnDatabase(
            self,
            "AnalyticsDatabase",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.names.glue_database, description="Listening analytics: daily facts and dimensions (Parquet in S3)"
            ),
        )
        for table in table_inputs(store_root(bucket.bucket_name, prefix)):
            resource = glue.CfnTable(
                self,
                f"Analytics{construct_id(table['Name'].replace('_', '-'))}Table",
                catalog_id=Aws.ACCOUNT_ID,
                database_name=self.names.glue_database,
                table_input=_table_input(table),
            )
            resource.add_resource_dependency(database)
        results = f"s3://{bucket.bucket_name}/{ATHENA_RESULTS_PREFIX}"
        workgroup = athena.CfnWorkGroup(
            self,
            "AnalyticsWorkGroup",
            name=self.names.athena_workgroup,
            description="Listening analytics rollups (functions/analytics/sql)",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version=ATHENA_ENGINE),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=results,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(encryption_option="SSE_S3"),
                ),
            ),
        )
        return AnalyticsQueries(
            database=self.names.glue_database,
            workgroup=self.names.athena_workgroup,
            workgroup_arn=Stack.of(self).format_arn(service="athena", resource="workgroup", resource_name=workgroup.name),
            output_location=results,
            glue_arns=(
                Stack.of(self).format_arn(service="glue", resource="catalog"),
                Stack.of(self).format_arn(service="glue", resource="database", resource_name=self.names.glue_database),
                Stack.of(self).format_arn(service="glue", resource="table", resource_name=f"{self.names.glue_database}/*"),
            ),
        )

    def _megaphone_export_writer(self, principal_arn: object) -> None:
        """Megaphone support writes the export with a principal of theirs (context `megaphoneExportWriter`):
        it may put objects under the export prefix, nothing else."""
        bucket = self.buckets.get(Bucket.MEGAPHONE_EXPORT)
        if bucket is None or not principal_arn:
            return
        if not isinstance(principal_arn, str) or not principal_arn.startswith("arn:"):
            raise DeploymentContextError(f"context {MEGAPHONE_EXPORT_WRITER_CONTEXT_KEY!r} must be an IAM principal ARN, got {principal_arn!r}")
        prefix = self.deployment_environment.get("MEGAPHONE_EXPORT_PREFIX", "").strip("/")
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ArnPrincipal(principal_arn)],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{prefix}/*" if prefix else "*")],
            )
        )

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
        rules = [s3.LifecycleRule(noncurrent_version_expiration=Duration.days(spec.noncurrent_days))]
        rules += [s3.LifecycleRule(prefix=prefix, expiration=Duration.days(days)) for prefix, days in spec.expiring_prefixes]
        bucket = s3.Bucket(
            self,
            f"{construct_id(spec.bucket.value)}Bucket",
            bucket_name=self.names.bucket(spec.bucket, Aws.ACCOUNT_ID, Aws.REGION),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=spec.versioned,
            lifecycle_rules=rules,
            removal_policy=RemovalPolicy.RETAIN,
        )
        if spec.event_bridge:
            # CloudFormation's own property, not CDK's `event_bridge_enabled` (which adds a custom-resource
            # Lambda to manage notifications): S3 then announces every object event on the default bus.
            cfn_bucket = bucket.node.default_child
            assert isinstance(cfn_bucket, s3.CfnBucket)
            cfn_bucket.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)
        return bucket

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
        if self.analytics is not None:
            CfnOutput(self, "AnalyticsGlueDatabase", value=self.analytics.database)
            CfnOutput(self, "AnalyticsAthenaWorkGroup", value=self.analytics.workgroup)
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


def _table_input(table: dict[str, Any]) -> glue.CfnTable.TableInputProperty:
    """Glue's TableInput (functions/analytics/catalog.py, boto3's names) as CDK's property types."""

    def columns(values: list[dict[str, str]]) -> list[glue.CfnTable.ColumnProperty]:
        return [glue.CfnTable.ColumnProperty(name=c["Name"], type=c["Type"], comment=c.get("Comment")) for c in values]

    storage = table["StorageDescriptor"]
    return glue.CfnTable.TableInputProperty(
        name=table["Name"],
        description=table.get("Description"),
        table_type=table["TableType"],
        parameters=table.get("Parameters"),
        partition_keys=columns(table.get("PartitionKeys", [])) or None,
        storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
            columns=columns(storage["Columns"]),
            location=storage["Location"],
            input_format=storage["InputFormat"],
            output_format=storage["OutputFormat"],
            serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=storage["SerdeInfo"]["SerializationLibrary"]),
        ),
    )
