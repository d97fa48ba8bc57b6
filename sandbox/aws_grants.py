"""Each invocation's AWS calls held to what its flow's declaration grants, as IAM holds a deployed
function to its role.

The stack gives every flow a role with exactly its declaration's grants (`infra/flow_constructs.py`);
in the sandbox all flows share one process, where nothing would stop a flow from reaching a table or
secret its declaration does not name. So every AWS call made while an invocation runs is checked
against the flow's `FlowGrants`, mirroring the CDK grants it deploys with:

| declaration             | allowed                                                                     |
| ----------------------- | --------------------------------------------------------------------------- |
| `reads` table           | dynamodb GetItem, BatchGetItem, Query, Scan, ConditionCheckItem, DescribeTable (`grant_read_data`) |
| `writes` table          | the reads, and PutItem, UpdateItem, DeleteItem, BatchWriteItem (`grant_read_write_data`) |
| `secrets`               | secretsmanager GetSecretValue, DescribeSecret on those secrets (`grant_read`) |
| `emits`                 | events PutEvents on the flow's bus, for those detail-types only             |
| queue flow              | sqs SendMessage(Batch) to its own dead-letter queue                         |
| `sends_to`              | sqs SendMessage(Batch) to those direct-trigger flows' queues                |
| `publishes_alerts`      | sns Publish to the operations alerts topic                                  |
| `runs_athena_queries`   | athena Start/Get/StopQueryExecution, GetQueryResults, GetWorkGroup in the analytics workgroup |
| anything else           | denied                                                                      |

TransactGetItems / TransactWriteItems need the per-item actions (GetItem, PutItem, ...) on each
table, as IAM evaluates them. A denied call never reaches moto: botocore's `before-call` is answered
with the error response AWS gives — `AccessDeniedException` (DynamoDB, EventBridge, Secrets Manager,
HTTP 400), `AccessDenied` (SQS, 403), `AuthorizationError` (SNS, 403) — parsed by botocore's own
parser, so the flow's error handling sees exactly the `ClientError` it would see in AWS.

Athena: IAM checks a query's own workgroup also for the calls that name only its execution id
(GetQueryExecution, GetQueryResults, StopQueryExecution); here those need the flow to hold the
Athena grant at all (its one workgroup). The Glue and S3 reads Athena makes for a query are the
sandbox Athena engine's (`sandbox/athena_engine.py`), not the flow's calls.

One deliberate difference from the stack: the stack's `grant_put_events_to` allows PutEvents of any
detail-type on the bus; here only the declared `emits` pass, which is what the runtime's queue
polling and the declarations promise (a flow emitting an undeclared detail-type is a declaration bug).

`AwsAccess` also counts every request that reaches the transport (botocore `before-send`: one per
HTTP attempt; for a call the transport answers at `before-call`, its `after-call`) by the flow whose
invocation made it, and remembers which detail-types each invocation put on the bus (the runtime
polls only the queues those can reach).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.model import OperationModel
from botocore.parsers import create_parser

from infra.flows import FlowDeclaration
from sandbox.aws_transport import ANSWERED_IN_PROCESS, BufferedBody, install_botocore_handlers
from infra.flows import SECRET_SPECS
from infra.naming import ResourceNames
from sandbox.resources import SandboxResources

TABLE_READ_ACTIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "ConditionCheckItem", "DescribeTable"})
TABLE_WRITE_ACTIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}) | TABLE_READ_ACTIONS
SECRET_READ_ACTIONS = frozenset({"GetSecretValue", "DescribeSecret"})
SECRET_WRITE_ACTIONS = frozenset({"PutSecretValue", "UpdateSecretVersionStage"})  # grant_write
# What CDK's bucket grant_read / grant_read_write allow, in the operations boto3 names.
BUCKET_READ_ACTIONS = frozenset({"GetObject", "HeadObject", "ListObjects", "ListObjectsV2", "GetBucketLocation"})
ATHENA_QUERY_ACTIONS = frozenset({"StartQueryExecution", "GetQueryExecution", "GetQueryResults", "StopQueryExecution", "GetWorkGroup"})
BUCKET_WRITE_ACTIONS = BUCKET_READ_ACTIONS | frozenset({"PutObject", "DeleteObject", "CopyObject", "AbortMultipartUpload", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"})
TRANSACT_WRITE_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
OUTSIDE_INVOCATIONS = "(outside invocations)"  # the runtime's own calls and the world's hooks


@dataclass(frozen=True)
class Permission:
    """One IAM authorization a call needs: `dynamodb:PutItem` on a table, `events:PutEvents` on the
    bus for one detail-type."""

    action: str
    resource: str
    detail_type: str | None = None

    def describe(self) -> str:
        return f"{self.action} on {self.resource}" + (f" (detail-type {self.detail_type})" if self.detail_type else "")


@dataclass(frozen=True)
class Denial:
    flow: str
    permission: Permission
    principal: str

    @property
    def message(self) -> str:
        action, resource = self.permission.action, self.permission.resource
        condition = f" with detail-type {self.permission.detail_type!r}" if self.permission.detail_type else ""
        return (
            f"User: {self.principal} is not authorized to perform: {action} on resource: {resource}{condition} "
            f"because no identity-based policy allows the {action} action"
        )


@dataclass(frozen=True)
class FlowGrants:
    """What one flow's role allows, in the sandbox's resource names."""

    flow: str
    principal: str
    readable_tables: frozenset[str]
    writable_tables: frozenset[str]
    secrets: frozenset[str]
    secret_folders: frozenset[str]  # a family of secrets (one per Spotify account): read and put
    readable_buckets: frozenset[str]
    writable_buckets: frozenset[str]
    event_bus_arn: str
    emits: frozenset[str]
    dead_letter_queue_arn: str | None
    alerts_topic_arn: str | None
    athena_workgroup_arn: str | None = None
    sendable_queue_arns: frozenset[str] = frozenset()  # the queues of the flows it `sends_to`

    @classmethod
    def of(cls, flow: FlowDeclaration, resources: SandboxResources) -> FlowGrants:
        queue = resources.queues.get(flow.name)
        function = resources.function_name(flow.name)
        return cls(
            flow=flow.name,
            principal=f"arn:aws:sts::{resources.account}:assumed-role/{function}-role/{function}",
            readable_tables=frozenset(resources.tables[table] for table in flow.tables),
            writable_tables=frozenset(resources.tables[table] for table in flow.writes),
            secrets=frozenset(resources.secret_ids[secret] for secret in flow.secrets if secret in resources.secret_ids),
            secret_folders=frozenset(ResourceNames(resources.prefix).secret(s) + "/" for s in flow.secrets if SECRET_SPECS[s].family),
            readable_buckets=frozenset(resources.buckets[bucket] for bucket in flow.buckets),
            writable_buckets=frozenset(resources.buckets[bucket] for bucket in flow.bucket_writes),
            event_bus_arn=resources.event_bus_arn,
            emits=frozenset(flow.emitted_detail_types),
            dead_letter_queue_arn=queue.dead_letter_queue_arn if queue is not None else None,
            sendable_queue_arns=frozenset(resources.queues[target].queue_arn for target in flow.sends_to if target in resources.queues),
            alerts_topic_arn=resources.alerts_topic_arn if flow.publishes_alerts else None,
            athena_workgroup_arn=(
                f"arn:aws:athena:{resources.region}:{resources.account}:workgroup/{resources.analytics.workgroup}"
                if flow.runs_athena_queries and resources.analytics is not None
                else None
            ),
        )

    def allows(self, permission: Permission, arns: ArnBuilder) -> bool:
        service, _, operation = permission.action.partition(":")
        resource = permission.resource
        if service == "dynamodb":
            table = arns.table_name(resource)
            return (table in self.writable_tables and operation in TABLE_WRITE_ACTIONS) or (
                table in self.readable_tables and operation in TABLE_READ_ACTIONS
            )
        if service == "secretsmanager":
            if any(arns.in_secret_folder(resource, folder) for folder in self.secret_folders):
                return operation in SECRET_READ_ACTIONS | SECRET_WRITE_ACTIONS
            return operation in SECRET_READ_ACTIONS and any(arns.names_secret(resource, name) for name in self.secrets)
        if service == "s3":
            bucket = arns.bucket_name(resource)
            return (bucket in self.writable_buckets and operation in BUCKET_WRITE_ACTIONS) or (
                bucket in self.readable_buckets and operation in BUCKET_READ_ACTIONS
            )
        if service == "events":
            return operation == "PutEvents" and resource == self.event_bus_arn and permission.detail_type in self.emits
        if service == "sqs":
            return operation == "SendMessage" and (resource == self.dead_letter_queue_arn or resource in self.sendable_queue_arns)
        if service == "sns":
            return operation == "Publish" and self.alerts_topic_arn is not None and resource == self.alerts_topic_arn
        if service == "athena":
            return (
                operation in ATHENA_QUERY_ACTIONS
                and self.athena_workgroup_arn is not None
                and resource in (self.athena_workgroup_arn, arns.athena_workgroup("*"))
            )
        return False


@dataclass(frozen=True)
class ArnBuilder:
    """The ARNs IAM would evaluate, from a call's parameters (names, URLs or ARNs as given)."""

    region: str
    account: str

    def table(self, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn.split("/index/", 1)[0]
        return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name_or_arn}"

    @staticmethod
    def table_name(arn: str) -> str:
        return arn.split(":table/", 1)[-1]

    def secret(self, name_or_arn: str) -> str:
        return name_or_arn if name_or_arn.startswith("arn:") else f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{name_or_arn}"

    def names_secret(self, arn: str, name: str) -> bool:
        """Whether `arn` is secret `name`'s: its partial ARN, or its full ARN (the partial one, `-`
        and the six random characters Secrets Manager appends)."""
        partial = self.secret(name)
        return arn == partial or (arn.startswith(partial + "-") and len(arn) == len(partial) + 7)

    def in_secret_folder(self, arn: str, folder: str) -> bool:
        return arn.startswith(self.secret(folder))

    @staticmethod
    def bucket_name(arn: str) -> str:
        return arn.removeprefix("arn:aws:s3:::").split("/", 1)[0]

    def event_bus(self, name_or_arn: str | None) -> str:
        if name_or_arn and name_or_arn.startswith("arn:"):
            return name_or_arn
        return f"arn:aws:events:{self.region}:{self.account}:event-bus/{name_or_arn or 'default'}"

    def queue(self, url: str) -> str:
        path = [part for part in urlsplit(url).path.split("/") if part]
        account, name = (path[-2], path[-1]) if len(path) >= 2 else (self.account, path[-1] if path else url)
        return f"arn:aws:sqs:{self.region}:{account}:{name}"

    def athena_workgroup(self, name: str) -> str:
        return f"arn:aws:athena:{self.region}:{self.account}:workgroup/{name}"

    def wildcard(self) -> str:
        return "*"


def required_permissions(signing_name: str, operation: str, params: Mapping[str, Any], arns: ArnBuilder) -> list[Permission]:
    """The authorizations a call needs, as IAM evaluates them for the services the flows use;
    any other call needs `<service>:<operation>` on `*`, which no flow is granted."""
    if signing_name == "dynamodb":
        return _dynamodb_permissions(operation, params, arns)
    if signing_name == "secretsmanager" and "SecretId" in params:
        return [Permission(f"secretsmanager:{operation}", arns.secret(str(params["SecretId"])))]
    if signing_name == "events" and operation == "PutEvents":
        return [
            Permission("events:PutEvents", arns.event_bus(entry.get("EventBusName")), detail_type=entry.get("DetailType"))
            for entry in params.get("Entries", [])
        ]
    if signing_name == "sqs" and operation in ("SendMessage", "SendMessageBatch") and "QueueUrl" in params:
        return [Permission("sqs:SendMessage", arns.queue(str(params["QueueUrl"])))]
    if signing_name == "sqs" and "QueueUrl" in params:
        return [Permission(f"sqs:{operation}", arns.queue(str(params["QueueUrl"])))]
    if signing_name == "s3" and "Bucket" in params:
        return [Permission(f"s3:{operation}", f"arn:aws:s3:::{params['Bucket']}/{params.get('Key', '')}")]
    if signing_name == "athena":  # by execution id: the query's workgroup, which only Athena knows (see above)
        return [Permission(f"athena:{operation}", arns.athena_workgroup(str(params.get("WorkGroup", "*" if "QueryExecutionId" in params else "primary"))))]
    if signing_name == "sns" and operation == "Publish":
        target = params.get("TopicArn") or params.get("TargetArn") or arns.wildcard()
        return [Permission("sns:Publish", str(target))]
    return [Permission(f"{signing_name}:{operation}", arns.wildcard())]


def _dynamodb_permissions(operation: str, params: Mapping[str, Any], arns: ArnBuilder) -> list[Permission]:
    if "TableName" in params:
        return [Permission(f"dynamodb:{operation}", arns.table(str(params["TableName"])))]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Permission(f"dynamodb:{operation}", arns.table(table)) for table in params.get("RequestItems", {})]
    if operation == "TransactGetItems":
        return [Permission("dynamodb:GetItem", arns.table(item["Get"]["TableName"])) for item in params.get("TransactItems", [])]
    if operation == "TransactWriteItems":
        permissions = []
        for item in params.get("TransactItems", []):
            for kind, action in TRANSACT_WRITE_ACTIONS.items():
                if kind in item:
                    permissions.append(Permission(f"dynamodb:{action}", arns.table(item[kind]["TableName"])))
        return permissions
    return [Permission(f"dynamodb:{operation}", arns.wildcard())]


@dataclass
class InvocationAccess:
    """What one invocation did with AWS: requests sent, permissions used, detail-types put."""

    flow: str
    grants: FlowGrants
    requests: int = 0
    detail_types_put: set[str] = field(default_factory=set)
    queue_urls_sent_to: set[str] = field(default_factory=set)


class AwsAccess:
    """Installs the checks (and the request counter) in every botocore session created while it is
    open; `invocation(grants)` makes a flow's grants apply to the calls made inside the block."""

    def __init__(self, region: str, account: str):
        self.arns = ArnBuilder(region, account)
        self.requests_by_flow: Counter[str] = Counter()
        self.used: dict[str, set[Permission]] = {}
        self.denials: list[Denial] = []
        self._current: InvocationAccess | None = None
        self._remove_handlers: Callable[[], None] | None = None

    def open(self) -> AwsAccess:
        if self._remove_handlers is None:
            self._remove_handlers = install_botocore_handlers(
                ("before-parameter-build", self._check),
                ("before-call", self._answer_denied),
                ("before-send", self._count),
                ("after-call", self._count_answered_early),
            )
        return self

    def close(self) -> None:
        if self._remove_handlers is not None:
            self._remove_handlers()
            self._remove_handlers = None

    @contextmanager
    def invocation(self, grants: FlowGrants) -> Iterator[InvocationAccess]:
        outer, self._current = self._current, InvocationAccess(flow=grants.flow, grants=grants)
        try:
            yield self._current
        finally:
            self._current = outer

    # botocore handlers ------------------------------------------------------------------------
    def _check(self, params: Mapping[str, Any], model: OperationModel, context: dict[str, Any], **_: Any) -> None:
        current = self._current
        if current is None:
            return
        signing_name = model.service_model.signing_name or model.service_model.endpoint_prefix
        permissions = required_permissions(signing_name, model.name, params, self.arns)
        self.used.setdefault(current.flow, set()).update(permissions)
        denied = next((p for p in permissions if not current.grants.allows(p, self.arns)), None)
        if denied is not None:
            denial = Denial(flow=current.flow, permission=denied, principal=current.grants.principal)
            self.denials.append(denial)
            context["sandbox_access_denied"] = denial
            return
        if signing_name == "events" and model.name == "PutEvents":
            current.detail_types_put.update(str(p.detail_type) for p in permissions if p.detail_type)
        if signing_name == "sqs" and "QueueUrl" in params and model.name.startswith("SendMessage"):
            current.queue_urls_sent_to.add(str(params["QueueUrl"]))

    def _answer_denied(self, model: OperationModel, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        denial = context.get("sandbox_access_denied")
        if not isinstance(denial, Denial):
            return None
        return access_denied_response(model, denial.message)

    def _count(self, **_: Any) -> None:
        self.count_request()

    def _count_answered_early(self, context: dict[str, Any], **_: Any) -> None:
        if context.get(ANSWERED_IN_PROCESS):
            self.count_request()

    def count_request(self) -> None:
        """One request to AWS by the current invocation (or outside one); also for a request the
        sandbox answers itself (a delayed SQS message the runtime holds), which never reaches the transport."""
        current = self._current
        self.requests_by_flow[current.flow if current is not None else OUTSIDE_INVOCATIONS] += 1
        if current is not None:
            current.requests += 1


def access_denied_response(model: OperationModel, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    """The HTTP response AWS sends when IAM denies `model`'s operation, and botocore's parse of it."""
    service = model.service_model
    request_id = str(uuid.uuid4())
    if service.resolved_protocol == "query":  # SNS (AuthorizationError), STS and other query services (AccessDenied)
        status = 403
        code = "AuthorizationError" if service.endpoint_prefix == "sns" else "AccessDenied"
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "text/xml"}
        body = (
            f'<ErrorResponse xmlns="http://{service.endpoint_prefix}.amazonaws.com/doc/{service.api_version}/">'
            f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    else:
        status = 400
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.0"}
        document = {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}
        if service.metadata.get("awsQueryCompatible") is not None:  # SQS answers with its query-era code
            status = 403
            headers["x-amzn-query-error"] = "AccessDenied;Sender"
            document = {"__type": "com.amazon.coral.service#AccessDeniedException", "message": message}
        body = json.dumps(document).encode()
    http = AWSResponse("https://denied.invalid/", status, headers, BufferedBody(body))
    parsed = create_parser(service.resolved_protocol).parse(convert_to_response_dict(http, model), model.output_shape)
    return http, parsed
