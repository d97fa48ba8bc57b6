"""One construct per flow declaration: the Lambda, its trigger, its dead-letter queue, and an IAM role
that holds exactly what the declaration names.

- A queue flow (EventTrigger) is: bus rule (source + detail-types) -> SQS queue -> Lambda, with the
  queue redriving to a DLQ after `max_receives` receives and the handler reporting partial batch
  failures. The handler also dead-letters explicitly (with a reason), so it may send to its own DLQ.
- A direct-trigger flow (DirectTrigger) is the same queue -> Lambda with its DLQ, without a bus rule:
  the flows that name it in `sends_to` send to the queue themselves (possibly delayed), granted
  sqs:SendMessage on it and given its URL (`wire_senders`).
- A scheduled flow (ScheduleTrigger) is: schedule rule -> Lambda (asynchronous invocation), with
  reserved concurrency `max_concurrency` and an async-invoke DLQ, so a run that fails after Lambda's
  retries is kept for inspection instead of vanishing.
- An HTTP flow (HttpTrigger) is: Lambda function URL -> Lambda (synchronous, BUFFERED), with reserved
  concurrency `max_concurrency`. It has no DLQ: the caller gets the error and retries, nothing is
  left behind to inspect.

The role starts empty (no AWS managed policy): it gets write access to the function's own log group,
X-Ray, the reads/writes/secrets/emits of the declaration, publishing to the operations alerts topic
when the declaration says `publishes_alerts`, and what the trigger needs.

Physical names (function, queues, rules) come from infra/naming.py, so the ops CLI and the sandbox
find the same resources by name.

SnapStart (context `snapStart`, infra/snap_start.py): for a flow it selects, the function gets
`SnapStart: PublishedVersions`, a version published whenever its code or configuration changes (the
previous one is deleted, so only one snapshot is cached and paid for) and the alias `live` pointing
at it. The trigger then invokes the alias (`invocation_target`): the SQS event source mapping, the
schedule rule's target and the function URL. A flow without SnapStart keeps invoking $LATEST, with
no version or alias. Metrics and alarms stay on the function: Lambda's FunctionName dimension
aggregates every version and alias.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.deployment_context import environment_for_flow
from infra.buckets import bucket_spec
from infra.flows import (
    SECRET_SPECS,
    Bucket,
    DirectTrigger,
    EventTrigger,
    FlowDeclaration,
    HttpTrigger,
    ObjectCreatedTrigger,
    ScheduleTrigger,
    Secret,
    Table,
    queue_url_variable,
)
from infra.naming import ResourceNames
from infra.snap_start import SNAP_START_ALIAS
from infra.tables import table_spec

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
METRICS_NAMESPACE = "ConsonanceSpotify"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
DEAD_LETTER_RETENTION = Duration.days(14)
SNAP_START_PUBLISH_WARNING = "@aws-cdk/aws-lambda:snapStartRequirePublish"
# AWS rejects an SQS event source maximum concurrency below 2.
MINIMUM_EVENT_SOURCE_CONCURRENCY = 2


# Publishing to a topic encrypted with a customer-managed key needs these on the key (SNS documents
# exactly these two; named explicitly rather than `kms:GenerateDataKey*`).
ALERT_PUBLISH_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def secret_env_var(secret: Secret) -> str:
    """The variable carrying the secret's id (or a family's folder): CONSONANCE_SECRET_ID, ..."""
    return SECRET_SPECS[secret].env_var


# The deployment setting that names where in a bucket its objects of interest are (an object-created
# rule filters on it): the Megaphone export's prefix.
_PREFIX_VARIABLE: dict[Bucket, str] = {Bucket.MEGAPHONE_EXPORT: "MEGAPHONE_EXPORT_PREFIX"}


# The queue's own redrive is one receive beyond the declared `max_receives`: the handler dead-letters
# (with a reason) on the last declared receive, and a record whose last receive died with the
# invocation comes back once more, to be dead-lettered with "crashed or timed out" (functions/sqs_batch.py).
REDRIVE_MARGIN = 1


def construct_id(flow_name: str) -> str:
    """`episode-publisher` -> `EpisodePublisher`: stable logical ids derived from the flow name."""
    return "".join(part.capitalize() for part in flow_name.split("-"))


# What running the rollups on Athena takes: the query lifecycle in the workgroup, and the Glue
# catalogue reads Athena makes with the caller's permissions (the S3 data and results are bucket grants).
ATHENA_QUERY_ACTIONS = (
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:StopQueryExecution",
    "athena:GetWorkGroup",
)
GLUE_READ_ACTIONS = ("glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions")


@dataclass(frozen=True)
class AnalyticsQueries:
    """The Athena workgroup and Glue database over the analytics store (infra/stack.py)."""

    database: str
    workgroup: str
    workgroup_arn: str
    output_location: str
    glue_arns: tuple[str, ...]  # the catalog, the database and its tables

    def environment(self) -> dict[str, str]:
        return {
            "ANALYTICS_GLUE_DATABASE": self.database,
            "ANALYTICS_ATHENA_WORKGROUP": self.workgroup,
            "ANALYTICS_ATHENA_OUTPUT_LOCATION": self.output_location,
        }


@dataclass(frozen=True)
class SharedResources:
    """What every flow may be wired to; each flow takes only the parts its declaration names."""

    names: ResourceNames
    event_bus: events.IEventBus
    event_source: str
    tables: Mapping[Table, dynamodb.Table]
    buckets: Mapping[Bucket, s3.IBucket]
    secrets: Mapping[Secret, secretsmanager.ISecret]
    account_secrets: Mapping[str, secretsmanager.ISecret]
    alerts_topic: sns.ITopic
    alerts_key: kms.IKey
    code: lambda_.Code
    dependency_layer: lambda_.ILayerVersion
    deployment_environment: Mapping[str, str]
    snap_start_flows: frozenset[str] = frozenset()  # flow names whose functions run with SnapStart
    group_layers: Mapping[str, lambda_.ILayerVersion] = field(default_factory=dict)  # dependency groups' layers
    analytics: AnalyticsQueries | None = None


class FlowConstruct(Construct):
    """The parts every kind of flow shares: role, log group, function, declared grants."""

    queue: sqs.Queue | None = None  # only queue flows consume a queue
    dead_letter_queue: sqs.Queue | None = None  # queue and scheduled flows; an HTTP flow answers its caller
    rule: events.Rule | None = None  # queue and scheduled flows
    function_url: lambda_.FunctionUrl | None = None  # only HTTP flows
    function: lambda_.Function
    alias: lambda_.Alias | None = None  # only with SnapStart: `live`, on the latest published version

    def __init__(self, scope: Construct, declaration: FlowDeclaration, shared: SharedResources) -> None:
        super().__init__(scope, construct_id(declaration.name))
        self.declaration = declaration
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{declaration.name}: only the grants its flow declaration names",
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.log_group.grant_write(self.role)
        self._grant_declared_access(shared)

    def _create_dead_letter_queue(self, shared: SharedResources) -> sqs.Queue:
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=shared.names.dead_letter_queue(self.declaration.name),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        return self.dead_letter_queue

    def _create_function(
        self,
        shared: SharedResources,
        trigger_environment: Mapping[str, str],
        **function_options: Any,
    ) -> lambda_.Function:
        declaration = self.declaration
        snap_start = declaration.name in shared.snap_start_flows
        if snap_start:
            function_options["snap_start"] = lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS
            # Each change publishes a new version; the old one (and its cached snapshot) goes.
            function_options["current_version_options"] = lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY)
        function = lambda_.Function(
            self,
            "Function",
            function_name=shared.names.function(declaration.name),
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=declaration.handler,
            code=shared.code,
            layers=[shared.dependency_layer, *(shared.group_layers[group] for group in declaration.layers)],
            role=self.role,
            log_group=self.log_group,
            description=declaration.description[:256],
            timeout=Duration.seconds(declaration.timeout_seconds),
            memory_size=declaration.memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            environment=flow_environment(declaration, shared, trigger_environment),
            **function_options,
        )
        if snap_start:
            # CDK warns at construction that SnapStart needs a published version; the next lines publish it.
            Annotations.of(function).acknowledge_warning(
                SNAP_START_PUBLISH_WARNING, "the function's current version is published and the live alias points at it"
            )
            self.alias = lambda_.Alias(
                self,
                "LiveAlias",
                alias_name=SNAP_START_ALIAS,
                version=function.current_version,
                description=f"{declaration.name}: the published SnapStart version its trigger invokes",
            )
        return function

    @property
    def invocation_target(self) -> lambda_.IFunction:
        """What the trigger invokes: the `live` alias with SnapStart (which never applies to $LATEST),
        else the function itself."""
        return self.alias if self.alias is not None else self.function

    def _grant_declared_access(self, shared: SharedResources) -> None:
        declaration = self.declaration
        for table in declaration.tables:
            if table in declaration.writes:
                shared.tables[table].grant_read_write_data(self.role)
            else:
                shared.tables[table].grant_read_data(self.role)
        for bucket in declaration.buckets:
            if bucket in declaration.bucket_writes:
                shared.buckets[bucket].grant_read_write(self.role)
            else:
                shared.buckets[bucket].grant_read(self.role)
        for secret in declaration.secrets:
            if SECRET_SPECS[secret].family:
                for account_secret in shared.account_secrets.values():
                    account_secret.grant_read(self.role)
                    if SECRET_SPECS[secret].writable:  # a rotated refresh token is stored at once
                        account_secret.grant_write(self.role)
            else:
                shared.secrets[secret].grant_read(self.role)
        if declaration.emits:
            # Only the detail-types the declaration emits, from this bundle's source: IAM refuses the rest.
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["events:PutEvents"],
                    resources=[shared.event_bus.event_bus_arn],
                    conditions={
                        "StringEquals": {
                            "events:detail-type": list(declaration.emitted_detail_types),
                            "events:source": [shared.event_source],
                        }
                    },
                )
            )
        if declaration.runs_athena_queries:
            if shared.analytics is None:
                raise ValueError(f"{declaration.name} runs Athena queries, but the stack has no analytics workgroup")
            self.role.add_to_principal_policy(iam.PolicyStatement(actions=list(ATHENA_QUERY_ACTIONS), resources=[shared.analytics.workgroup_arn]))
            self.role.add_to_principal_policy(iam.PolicyStatement(actions=list(GLUE_READ_ACTIONS), resources=list(shared.analytics.glue_arns)))
        if declaration.publishes_alerts:
            self.role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[shared.alerts_topic.topic_arn]))
            self.role.add_to_principal_policy(iam.PolicyStatement(actions=list(ALERT_PUBLISH_KEY_ACTIONS), resources=[shared.alerts_key.key_arn]))


def validate_queue_flow(declaration: FlowDeclaration) -> EventTrigger | ObjectCreatedTrigger | DirectTrigger:
    """Reject at synth time what AWS would reject at deploy time; return the flow's queue trigger."""
    if not isinstance(declaration.trigger, (EventTrigger, ObjectCreatedTrigger, DirectTrigger)):
        raise TypeError(f"{declaration.name} is not an event-triggered flow")
    if isinstance(declaration.trigger, ObjectCreatedTrigger) and declaration.trigger.bucket not in declaration.bucket_reads + declaration.bucket_writes:
        raise ValueError(f"{declaration.name}: triggered by {declaration.trigger.bucket.value} objects, it must declare reading that bucket")
    if declaration.max_concurrency < MINIMUM_EVENT_SOURCE_CONCURRENCY:
        raise ValueError(
            f"{declaration.name}: max_concurrency {declaration.max_concurrency} is below the SQS event "
            f"source minimum of {MINIMUM_EVENT_SOURCE_CONCURRENCY}"
        )
    return declaration.trigger


class QueueFlow(FlowConstruct):
    """Bus rule -> SQS queue (+ DLQ) -> Lambda with partial batch responses. For an object-created
    trigger the rule is on the default bus, where S3 announces the bucket's objects; a direct trigger
    has no rule (its senders send to the queue, `wire_senders`)."""

    def __init__(self, scope: Construct, declaration: FlowDeclaration, shared: SharedResources) -> None:
        trigger = validate_queue_flow(declaration)
        super().__init__(scope, declaration, shared)
        dead_letter_queue = self._create_dead_letter_queue(shared)
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=shared.names.queue(declaration.name),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(declaration.visibility_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=declaration.max_receives + REDRIVE_MARGIN, queue=dead_letter_queue),
        )
        # The handler dead-letters records itself, with the failure reason as message attributes.
        dead_letter_queue.grant(self.role, "sqs:SendMessage")
        self.function = self._create_function(
            shared,
            {
                "DEAD_LETTER_QUEUE_URL": dead_letter_queue.queue_url,
                "MAX_RECEIVES": str(declaration.max_receives),
            },
        )
        self.invocation_target.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=declaration.batch_size,
                report_batch_item_failures=True,
                max_concurrency=declaration.max_concurrency,
            )
        )
        if isinstance(trigger, DirectTrigger):
            return
        if isinstance(trigger, ObjectCreatedTrigger):
            self.rule = self._object_created_rule(trigger, shared)
            return
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=shared.names.event_rule(declaration.name),
            event_bus=shared.event_bus,
            description=f"{declaration.name}: {', '.join(trigger.detail_types)}",
            event_pattern=events.EventPattern(
                source=[shared.event_source],
                detail_type=list(trigger.detail_types),
            ),
            targets=[targets.SqsQueue(self.queue)],
        )

    def _object_created_rule(self, trigger: ObjectCreatedTrigger, shared: SharedResources) -> events.Rule:
        """S3 puts its object events on the account's DEFAULT bus (the bucket has EventBridge
        notifications on): the rule lives there and takes only this bucket's objects under the
        prefix its settings name."""
        assert self.queue is not None
        bucket = shared.buckets[trigger.bucket]
        prefix = shared.deployment_environment.get(_PREFIX_VARIABLE.get(trigger.bucket, ""), "").strip("/")
        detail: dict[str, Any] = {"bucket": {"name": [bucket.bucket_name]}}
        if prefix:
            detail["object"] = {"key": [{"prefix": f"{prefix}/"}]}
        return events.Rule(
            self,
            "ObjectCreatedRule",
            rule_name=shared.names.event_rule(self.declaration.name),
            description=f"{self.declaration.name}: {trigger.description}",
            event_pattern=events.EventPattern(source=["aws.s3"], detail_type=list(trigger.detail_types), detail=detail),
            targets=[targets.SqsQueue(self.queue)],
        )


class ScheduledFlow(FlowConstruct):
    """Schedule rule -> Lambda, reserved concurrency from the declaration, async-invoke DLQ."""

    def __init__(self, scope: Construct, declaration: FlowDeclaration, shared: SharedResources) -> None:
        trigger = declaration.trigger
        if not isinstance(trigger, ScheduleTrigger):
            raise TypeError(f"{declaration.name} is not a scheduled flow")
        super().__init__(scope, declaration, shared)
        # Function(dead_letter_queue=...) grants the role sqs:SendMessage on it for Lambda's async DLQ.
        self.function = self._create_function(
            shared,
            {},
            reserved_concurrent_executions=declaration.max_concurrency,
            dead_letter_queue=self._create_dead_letter_queue(shared),
        )
        self.rule = events.Rule(
            self,
            "Schedule",
            rule_name=shared.names.schedule_rule(declaration.name),
            description=f"{declaration.name}: every {trigger.every_minutes} min",
            schedule=events.Schedule.rate(Duration.minutes(trigger.every_minutes)),
            targets=[targets.LambdaFunction(self.invocation_target)],
        )


class HttpFlow(FlowConstruct):
    """Lambda function URL -> Lambda: a public HTTPS endpoint for senders outside AWS.

    Auth type NONE on purpose: the senders (a Consonance automation, a takedown notice service) have
    no AWS credentials to sign requests with SigV4. Every request is authenticated by its HMAC-SHA256
    signature, timestamp and replay check in the handler before anything else happens. Reserved
    concurrency `max_concurrency` bounds what unauthenticated traffic can cost or crowd out (excess
    requests get 429 and show up in the throttles alarm), and the function's role holds only what the
    declaration names. BUFFERED invocation (the handler answers with one small JSON body); no CORS:
    browsers are not clients of this endpoint.
    """

    function_url: lambda_.FunctionUrl

    def __init__(self, scope: Construct, declaration: FlowDeclaration, shared: SharedResources) -> None:
        if not isinstance(declaration.trigger, HttpTrigger):
            raise TypeError(f"{declaration.name} is not an HTTP-triggered flow")
        super().__init__(scope, declaration, shared)
        self.function = self._create_function(shared, {}, reserved_concurrent_executions=declaration.max_concurrency)
        self.function_url = self.invocation_target.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.NONE,  # HMAC in the handler, see the class docstring
            invoke_mode=lambda_.InvokeMode.BUFFERED,
        )


def flow_environment(declaration: FlowDeclaration, shared: SharedResources, trigger_environment: Mapping[str, str]) -> dict[str, str]:
    """The function's environment: wiring from the stack, the deployment settings for its connectors,
    and the declaration's own extras. A declaration may not override the wiring."""
    wiring: dict[str, str] = {
        "POWERTOOLS_SERVICE_NAME": declaration.name,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "EVENT_BUS_NAME": shared.event_bus.event_bus_name,
        "EVENT_SOURCE": shared.event_source,
        **{table_spec(table).env_var: shared.tables[table].table_name for table in declaration.tables},
        **{bucket_spec(bucket).env_var: shared.buckets[bucket].bucket_name for bucket in declaration.buckets},
        **{secret_env_var(secret): shared.names.secret(secret) for secret in declaration.secrets},

        **({"ALERTS_TOPIC_ARN": shared.alerts_topic.topic_arn} if declaration.publishes_alerts else {}),
        **(shared.analytics.environment() if declaration.runs_athena_queries and shared.analytics is not None else {}),
        **trigger_environment,
    }
    deployment = environment_for_flow(declaration, shared.deployment_environment)
    overlap = (set(wiring) | set(deployment)) & set(declaration.environment)
    if overlap:
        raise ValueError(f"{declaration.name}: declaration.environment may not override {sorted(overlap)}")
    return {**deployment, **declaration.environment, **wiring}


def wire_senders(flows: Mapping[str, FlowConstruct]) -> None:
    """Each flow's `sends_to`: sqs:SendMessage on the target's queue (SQS-managed encryption: no key
    grant) and the queue's URL in `queue_url_variable(target)`. A target that is not a direct-trigger
    flow of this stack stops synthesis."""
    for sender in flows.values():
        for name in sender.declaration.sends_to:
            target = flows.get(name)
            if target is None or not isinstance(target.declaration.trigger, DirectTrigger) or target.queue is None:
                raise ValueError(f"{sender.declaration.name} sends to {name}, which is not a direct-trigger flow of this stack")
            target.queue.grant(sender.role, "sqs:SendMessage")  # all it calls (SendMessageBatch is authorised as this)
            sender.function.add_environment(queue_url_variable(name), target.queue.queue_url)


def build_flow(scope: Construct, declaration: FlowDeclaration, shared: SharedResources) -> FlowConstruct:
    trigger = declaration.trigger
    if isinstance(trigger, (EventTrigger, ObjectCreatedTrigger, DirectTrigger)):
        return QueueFlow(scope, declaration, shared)
    if isinstance(trigger, ScheduleTrigger):
        return ScheduledFlow(scope, declaration, shared)
    if isinstance(trigger, HttpTrigger):
        return HttpFlow(scope, declaration, shared)
    raise TypeError(f"{declaration.name}: no construct for trigger {trigger!r}")
