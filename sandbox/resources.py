"""Creates, in the sandbox's AWS (moto), the resources the CDK stack deploys for a set of flows.

Built from the same declarations as the stack (`infra.flows`, `infra.tables`), so local wiring is
deployed wiring: one custom event bus; per queue flow an EventBridge rule (source + detail-types)
— for a flow fed by a bucket's objects, a rule on the default bus where S3 announces them, the bucket
having EventBridge notifications on — targeting the flow's SQS queue (a direct-trigger flow's queue has no
rule: the flows that `sends_to` it get its URL and send themselves), whose redrive policy sends a message to the flow's own DLQ after
`max_receives` receives and whose visibility timeout is the declared one; per scheduled flow a
schedule rule (the local runtime plays its Lambda target); the DynamoDB tables with their keys, GSIs
(projection ALL), TTL and point-in-time recovery; the Secrets Manager secrets with sandbox values;
for flows that run Athena queries, the analytics Glue database and tables and the Athena workgroup
(`functions.analytics.catalog`, as the stack defines them; the sandbox's Athena engine answers them).

Each flow's environment is built as `infra.flow_constructs.flow_environment` builds it (that module
imports CDK, so it is mirrored here, not imported): the caller's settings (simulator URLs and the
like), then the declaration's own `environment`, then the wiring, which nothing overrides. The wiring
names only the tables and secrets the flow declares, and the operations alerts topic only for a flow
that `publishes_alerts`, as the stack does; `sandbox.aws_grants` then holds every call of an
invocation to the same grants IAM would. Every physical name comes from
`infra.naming.ResourceNames`, the convention the stack and the ops CLI use, under `prefix` (tests use
one moto server for many isolated deployments).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import boto3

from infra.buckets import BUCKETS, bucket_spec
from functions.analytics.catalog import store_root, table_inputs
from infra.flows import (
    SECRET_SPECS,
    Bucket,
    DirectTrigger,
    EventTrigger,
    FlowDeclaration,
    ObjectCreatedTrigger,
    ScheduleTrigger,
    Secret,
    Table,
    queue_url_variable,
)
from infra.naming import DEFAULT_RESOURCE_PREFIX, ResourceNames
from infra.tables import TABLES, TableSpec

DEFAULT_PREFIX = DEFAULT_RESOURCE_PREFIX
DEFAULT_EVENT_SOURCE = "consonance-spotify"
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
METRICS_NAMESPACE = "ConsonanceSpotify"  # infra.flow_constructs.METRICS_NAMESPACE
REDRIVE_MARGIN = 1  # infra.flow_constructs.REDRIVE_MARGIN (that module imports CDK)
ATHENA_RESULTS_PREFIX = "athena-results/"  # infra.stack.ATHENA_RESULTS_PREFIX
OBJECT_PREFIX_VARIABLES: dict[Bucket, str] = {Bucket.MEGAPHONE_EXPORT: "MEGAPHONE_EXPORT_PREFIX"}  # infra.flow_constructs._PREFIX_VARIABLE

# The deployment settings a flow sees: the same for every flow, or chosen per flow (for example
# `lambda flow: infra.deployment_context.environment_for_flow(flow, resolved)`, as the stack does).
ExtraEnvironment = Mapping[str, str] | Callable[[FlowDeclaration], Mapping[str, str]]


@dataclass(frozen=True)
class QueueWiring:
    """A queue flow's rule (none for a direct trigger), queue and dead-letter queue."""

    flow: str
    rule_name: str | None
    rule_arn: str | None
    detail_types: tuple[str, ...]  # what reaches the queue from the bus
    queue_name: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_name: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    batch_size: int
    max_receives: int
    visibility_timeout_seconds: int


@dataclass(frozen=True)
class ScheduleWiring:
    """A scheduled flow's rule; the local runtime fires it on the virtual clock."""

    flow: str
    rule_name: str
    rule_arn: str
    every_minutes: int


@dataclass(frozen=True)
class AnalyticsQueryResources:
    """The Glue database (with the store's tables) and the Athena workgroup, as the stack defines them."""

    database: str
    workgroup: str
    output_location: str

    def environment(self) -> dict[str, str]:
        """infra.flow_constructs.AnalyticsQueries.environment (that module imports CDK)."""
        return {
            "ANALYTICS_GLUE_DATABASE": self.database,
            "ANALYTICS_ATHENA_WORKGROUP": self.workgroup,
            "ANALYTICS_ATHENA_OUTPUT_LOCATION": self.output_location,
        }


@dataclass(frozen=True)
class SandboxResources:
    """What was created, by flow. Holds secret ids, never secret values."""

    prefix: str
    region: str
    account: str
    event_bus_name: str
    event_bus_arn: str
    event_source: str
    queues: dict[str, QueueWiring]
    schedules: dict[str, ScheduleWiring]
    tables: dict[Table, str]
    buckets: dict[Bucket, str]
    secret_ids: dict[Secret, str]
    environments: dict[str, dict[str, str]]
    alerts_topic_arn: str | None = None
    analytics: AnalyticsQueryResources | None = None

    def function_name(self, flow: str) -> str:
        return ResourceNames(self.prefix).function(flow)

    def function_arn(self, flow: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name(flow)}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the ops CLI and reports."""
        return json.loads(json.dumps(asdict(self)))


def secret_environment_variable(secret: Secret) -> str:
    """`Secret.CONSONANCE` -> `CONSONANCE_SECRET_ID`: the variable its spec names, which `functions.settings` reads."""
    return SECRET_SPECS[secret].env_var


def create_resources(
    flows: Sequence[FlowDeclaration],
    *,
    secret_values: Mapping[Secret, str],
    extra_environment: ExtraEnvironment | None = None,
    prefix: str = DEFAULT_PREFIX,
    event_source: str = DEFAULT_EVENT_SOURCE,
    tables: Iterable[TableSpec] = TABLES,
    alerts_topic_arn: str | None = None,
) -> SandboxResources:
    """Create everything `flows` need. `extra_environment` holds deployment settings (simulator URLs,
    Megaphone network and podcasts, log level): one mapping for every flow, or a function of the flow.
    `alerts_topic_arn` is the operations alerts topic (created by the caller with its subscribers)."""
    _check_unique_names(flows)
    needed = {secret for flow in flows for secret in flow.secrets if not SECRET_SPECS[secret].family}
    missing = sorted(secret.value for secret in needed - set(secret_values))
    if missing:
        raise ValueError(f"no sandbox value given for secret(s): {', '.join(missing)}")

    events = boto3.client("events")
    sqs = boto3.client("sqs")
    region = events.meta.region_name

    names = ResourceNames(prefix)
    bus_arn = events.create_event_bus(Name=names.event_bus)["EventBusArn"]
    account = bus_arn.split(":")[4]
    table_names = {spec.table: _create_table(spec, names.table(spec.table)) for spec in tables}
    bucket_names = {spec.bucket: _create_bucket(names.bucket(spec.bucket, account, region), spec.event_bridge) for spec in BUCKETS}
    secret_ids = _create_secrets(secret_values, prefix)
    analytics = (
        _create_analytics_queries(names, bucket_names[Bucket.ANALYTICS], _extras_for(next(f for f in flows if f.runs_athena_queries), extra_environment))
        if any(flow.runs_athena_queries for flow in flows)
        else None
    )

    queues: dict[str, QueueWiring] = {}
    schedules: dict[str, ScheduleWiring] = {}
    for flow in flows:
        if isinstance(flow.trigger, EventTrigger):
            queues[flow.name] = _wire_queue(events, sqs, flow, flow.trigger, prefix, event_source)
        elif isinstance(flow.trigger, ObjectCreatedTrigger):
            pattern = _object_created_pattern(bucket_names[flow.trigger.bucket], _extras_for(flow, extra_environment), flow.trigger)
            queues[flow.name] = _wire_queue(events, sqs, flow, flow.trigger, prefix, event_source, pattern=pattern)
        elif isinstance(flow.trigger, DirectTrigger):
            queues[flow.name] = _wire_queue(events, sqs, flow, flow.trigger, prefix, event_source)
        elif isinstance(flow.trigger, ScheduleTrigger):
            schedules[flow.name] = _wire_schedule(events, flow, flow.trigger, prefix)
        # Any other trigger (an HTTP endpoint) has nothing to create here: the flow gets its
        # environment, and the caller invokes it with `LocalRuntime.invoke`.

    table_env_vars = {spec.table: spec.env_var for spec in tables}
    environments: dict[str, dict[str, str]] = {
        flow.name: _flow_environment(
            flow,
            prefix,
            event_source,
            queues.get(flow.name),
            {target: queues[target].queue_url for target in flow.sends_to if target in queues},
            table_names,
            table_env_vars,
            bucket_names,
            secret_ids,
            _extras_for(flow, extra_environment),
            alerts_topic_arn,
            analytics if flow.runs_athena_queries else None,
        )
        for flow in flows
    }
    return SandboxResources(
        prefix=prefix,
        region=region,
        account=account,
        event_bus_name=names.event_bus,
        event_bus_arn=bus_arn,
        event_source=event_source,
        queues=queues,
        schedules=schedules,
        tables=table_names,
        buckets=bucket_names,
        secret_ids=secret_ids,
        environments=environments,
        alerts_topic_arn=alerts_topic_arn,
        analytics=analytics,
    )


def _check_unique_names(flows: Sequence[FlowDeclaration]) -> None:
    names = [flow.name for flow in flows]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"flow names must be unique: {', '.join(duplicates)}")


def _object_created_pattern(bucket: str, settings: Mapping[str, str], trigger: ObjectCreatedTrigger) -> dict[str, Any]:
    """The stack's default-bus rule for a bucket's objects (infra.flow_constructs.QueueFlow._object_created_rule)."""
    detail: dict[str, Any] = {"bucket": {"name": [bucket]}}
    prefix = settings.get(OBJECT_PREFIX_VARIABLES.get(trigger.bucket, ""), "").strip("/")
    if prefix:
        detail["object"] = {"key": [{"prefix": f"{prefix}/"}]}
    return {"source": ["aws.s3"], "detail-type": list(trigger.detail_types), "detail": detail}


def _wire_queue(
    events: Any,
    sqs: Any,
    flow: FlowDeclaration,
    trigger: EventTrigger | ObjectCreatedTrigger | DirectTrigger,
    prefix: str,
    event_source: str,
    *,
    pattern: dict[str, Any] | None = None,
) -> QueueWiring:
    """The flow's queue and DLQ and the rule feeding it: on the custom bus for domain events, or — with
    `pattern` — on the default bus, where S3 announces objects; none for a direct trigger."""
    names = ResourceNames(prefix)
    queue_name = names.queue(flow.name)
    dlq_name = names.dead_letter_queue(flow.name)
    dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes={"MessageRetentionPeriod": str(DEAD_LETTER_RETENTION_SECONDS)})[
        "QueueUrl"
    ]
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": str(flow.visibility_timeout_seconds),
            # one beyond the declared receives, as the stack sets it (infra/flow_constructs.REDRIVE_MARGIN)
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": flow.max_receives + REDRIVE_MARGIN}),
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)

    rule_name: str | None = None
    rule_arn: str | None = None
    if not isinstance(trigger, DirectTrigger):
        rule_name = names.event_rule(flow.name)
        bus = names.event_bus if pattern is None else "default"
        pattern = pattern or {"source": [event_source], "detail-type": list(trigger.detail_types)}
        rule_arn = events.put_rule(Name=rule_name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")["RuleArn"]
        events.put_targets(Rule=rule_name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(_queue_policy(queue_arn, rule_arn))})
    return QueueWiring(
        flow=flow.name,
        rule_name=rule_name,
        rule_arn=rule_arn,
        detail_types=() if isinstance(trigger, DirectTrigger) else trigger.detail_types,
        queue_name=queue_name,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dead_letter_queue_name=dlq_name,
        dead_letter_queue_url=dlq_url,
        dead_letter_queue_arn=dlq_arn,
        batch_size=flow.batch_size,
        max_receives=flow.max_receives,
        visibility_timeout_seconds=flow.visibility_timeout_seconds,
    )


def _wire_schedule(events: Any, flow: FlowDeclaration, trigger: ScheduleTrigger, prefix: str) -> ScheduleWiring:
    rule_name = ResourceNames(prefix).schedule_rule(flow.name)
    unit = "minute" if trigger.every_minutes == 1 else "minutes"
    rule_arn = events.put_rule(Name=rule_name, ScheduleExpression=f"rate({trigger.every_minutes} {unit})", State="ENABLED")[
        "RuleArn"
    ]
    return ScheduleWiring(flow=flow.name, rule_name=rule_name, rule_arn=rule_arn, every_minutes=trigger.every_minutes)


def _queue_arn(sqs: Any, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _queue_policy(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    """The grant the stack gives EventBridge (moto does not enforce it; kept for parity)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


def _create_table(spec: TableSpec, name: str) -> str:
    dynamodb = boto3.client("dynamodb")
    attributes = [spec.partition_key, spec.sort_key] + [key for index in spec.indexes for key in (index.partition_key, index.sort_key)]
    definitions = [{"AttributeName": attribute, "AttributeType": "S"} for attribute in dict.fromkeys(a for a in attributes if a)]
    arguments: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": definitions,
        "KeySchema": _key_schema(spec.partition_key, spec.sort_key),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if spec.indexes:
        arguments["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in spec.indexes
        ]
    dynamodb.create_table(**arguments)
    if spec.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
        )
    dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    return name


def _create_bucket(name: str, event_bridge: bool = False) -> str:
    s3 = boto3.client("s3")
    region = s3.meta.region_name
    arguments: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**arguments)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if event_bridge:  # S3 announces the bucket's object events on the default bus, as the stack sets it
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}})
    return name


def _create_analytics_queries(names: ResourceNames, bucket: str, settings: Mapping[str, str]) -> AnalyticsQueryResources:
    """The Glue database and tables over the analytics store and the Athena workgroup, as the stack
    defines them (functions.analytics.catalog), so Athena queries resolve the same tables here."""
    glue, athena = boto3.client("glue"), boto3.client("athena")
    glue.create_database(DatabaseInput={"Name": names.glue_database, "Description": "Listening analytics"})
    for table in table_inputs(store_root(bucket, settings.get("ANALYTICS_PREFIX", ""))):
        glue.create_table(DatabaseName=names.glue_database, TableInput=table)
    output = f"s3://{bucket}/{ATHENA_RESULTS_PREFIX}"
    athena.create_work_group(
        Name=names.athena_workgroup,
        Description="Listening analytics rollups",
        Configuration={"ResultConfiguration": {"OutputLocation": output}, "EnforceWorkGroupConfiguration": True},
    )
    return AnalyticsQueryResources(database=names.glue_database, workgroup=names.athena_workgroup, output_location=output)


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return schema


def _create_secrets(secret_values: Mapping[Secret, str], prefix: str) -> dict[Secret, str]:
    secrets_manager = boto3.client("secretsmanager")
    secret_ids: dict[Secret, str] = {}
    for secret, value in secret_values.items():
        if not value:
            raise ValueError(f"the sandbox value for secret {secret.value} is empty")
        secret_id = ResourceNames(prefix).secret(secret)
        secrets_manager.create_secret(Name=secret_id, SecretString=value)
        secret_ids[secret] = secret_id
    return secret_ids


def _flow_environment(
    flow: FlowDeclaration,
    prefix: str,
    event_source: str,
    queue: QueueWiring | None,
    sends_to: Mapping[str, str],  # target flow -> its queue URL (the targets among these flows)
    table_names: Mapping[Table, str],
    table_env_vars: Mapping[Table, str],
    bucket_names: Mapping[Bucket, str],
    secret_ids: Mapping[Secret, str],
    extra_environment: Mapping[str, str],
    alerts_topic_arn: str | None,
    analytics: AnalyticsQueryResources | None = None,
) -> dict[str, str]:
    wiring = {
        "POWERTOOLS_SERVICE_NAME": flow.name,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "EVENT_BUS_NAME": prefix,
        "EVENT_SOURCE": event_source,
    }
    for table in flow.tables:
        if table not in table_names or not table_env_vars.get(table):
            raise ValueError(f"{flow.name} declares table {table.value}, which has no table spec with an env var")
        wiring[table_env_vars[table]] = table_names[table]
    for bucket in flow.buckets:
        wiring[bucket_spec(bucket).env_var] = bucket_names[bucket]
    for secret in flow.secrets:
        if SECRET_SPECS[secret].family:  # the folder; the accounts' secrets are created when authorised
            wiring[secret_environment_variable(secret)] = ResourceNames(prefix).secret(secret)
        else:
            wiring[secret_environment_variable(secret)] = secret_ids[secret]
    if flow.publishes_alerts and alerts_topic_arn:
        wiring["ALERTS_TOPIC_ARN"] = alerts_topic_arn
    if analytics is not None:
        wiring.update(analytics.environment())
    if queue is not None:
        wiring["DEAD_LETTER_QUEUE_URL"] = queue.dead_letter_queue_url
        wiring["MAX_RECEIVES"] = str(queue.max_receives)
    for target, url in sends_to.items():
        wiring[queue_url_variable(target)] = url
    overridden = sorted(set(wiring) & set(flow.environment))
    if overridden:
        raise ValueError(f"{flow.name}: declaration.environment may not override {overridden}")
    return {**extra_environment, **flow.environment, **wiring}


def _extras_for(flow: FlowDeclaration, extra_environment: ExtraEnvironment | None) -> Mapping[str, str]:
    if extra_environment is None:
        return {}
    if callable(extra_environment):
        return extra_environment(flow)
    return extra_environment
