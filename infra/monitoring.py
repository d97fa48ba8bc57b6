"""Alarms, the operations-alerts topic and the dashboard, all derived from the flow declarations.

Every flow gets error rate and throttles of its function; queue and scheduled flows also get
dead-letter depth (> 0 means a record or a scheduled run was given up on); queue flows also get the
age of the oldest message on their queue (the flow is stuck or falling behind). Flows that emit a
heartbeat metric get a lag alarm: the Consonance poller puts `PollSucceeded` (count 1 per successful
run, dimension service=<flow>), and "no success in N schedule periods" is an alarm even when the
metric is missing altogether.

Signal alarms (`SIGNAL_ALARMS`) watch what the handlers count (namespace ConsonanceSpotify,
dimension service=<flow>, the Powertools Metrics default dimension) where an operator should hear
about it even though nothing failed: an episode withdrawn from Spotify, a takedown found, a rights
restriction Spotify cannot enforce, and signed-webhook requests rejected (more than a stray one means
a sender with the wrong key or someone probing the public endpoint), and any webhook answer refused
because the endpoint's own configuration is broken. They sit on the dashboard too.

All alarm and recovery notifications go to one KMS-encrypted SNS topic. Flows declared with
`publishes_alerts` (e.g. the availability recorder, for takedowns) publish there too: flow_constructs.py
grants them sns:Publish on the topic and the two KMS actions on its key, and nothing else may.

Every threshold lives in `THRESHOLDS` / `HEARTBEATS` below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.flow_constructs import METRICS_NAMESPACE, FlowConstruct, construct_id
from infra.flows import FLOWS, FlowName, HttpTrigger, ScheduleTrigger


@dataclass(frozen=True)
class AlarmThresholds:
    """Numbers behind every alarm; change them here only."""

    period: Duration = Duration.minutes(5)
    # Alarm when the DLQ holds more than this many messages.
    dead_letter_messages: int = 0
    # Oldest message alarm: max(floor, multiple x the queue's visibility timeout), so a slow flow
    # (long timeout, hence long visibility) is not flagged merely for one ordinary retry.
    oldest_message_age_floor: Duration = Duration.minutes(15)
    oldest_message_age_visibility_multiple: int = 2
    # Errors / invocations over one period, in percent.
    error_rate_percent: float = 5.0
    throttles: int = 0
    # Heartbeat lag: alarm when there was no success during this many schedule periods.
    heartbeat_schedule_periods: int = 3
    # Signals: alarm when the sum over the period exceeds the number. Any withdrawal, takedown or
    # unenforceable restriction within an hour is worth a look; webhook rejections are tolerated up to
    # a handful per period (a sender's clock skew or a retried delivery), more means a wrong key or abuse.
    signal_period: Duration = Duration.hours(1)
    # Spotify refresh tokens: alarm this many days before the recorded expiry.
    authorisation_warning_days: int = 14
    episodes_withdrawn: int = 0
    takedowns_detected: int = 0
    unenforceable_restrictions: int = 0
    webhook_rejections_period: Duration = Duration.minutes(5)
    webhook_rejections: int = 5
    # Any answer refused because the endpoint itself is misconfigured.
    webhook_misconfigured: int = 0
    # Branded audio: any asset still live on a channel after its licence stopped allowing it (the
    # sweep counts it only once the sweep interval and the channels' own time have passed).
    licences_live_past_window: int = 0
    licences_live_past_window_period: Duration = Duration.minutes(30)


THRESHOLDS = AlarmThresholds()

# Flow name -> the metric its handler puts once per successful run (namespace METRICS_NAMESPACE,
# dimension service=<flow name>, the Powertools Metrics default dimension).
HEARTBEATS: dict[str, str] = {FlowName.CONSONANCE_POLLER: "PollSucceeded", FlowName.LICENCE_SWEEP: "LicenceSweepSucceeded"}
AUTHORISATION_CHECK_FLOW = FlowName.SPOTIFY_AUTHORISATION_CHECK
AUTHORISATION_DAYS_METRIC = "SpotifyAuthorisationDaysLeft"


@dataclass(frozen=True)
class SignalAlarm:
    """Alarm (one per flow) when `metric_name`, put by the flows' handlers, sums above `threshold`."""

    kind: str  # the alarm name suffix: <stack>-<flow>-<kind>
    metric_name: str
    flows: tuple[str, ...]
    threshold: int
    period: Duration
    description: str


# Every HTTP flow authenticates its callers with HMAC, and its handler counts the requests it rejects.
HTTP_FLOWS: tuple[str, ...] = tuple(d.name for d in FLOWS if isinstance(d.trigger, HttpTrigger))
REJECTION_METRIC = "WebhookRejected"
# Put by an HTTP flow when it answers 503 because of its own deployment (a setting missing, a blank or
# malformed signing key): every sender is being turned away until an operator fixes it.
MISCONFIGURATION_METRIC = "WebhookMisconfigured"

SIGNAL_ALARMS: tuple[SignalAlarm, ...] = (
    SignalAlarm(
        kind="withdrawals",
        metric_name="EpisodesWithdrawn",
        flows=(FlowName.RIGHTS_SYNC, FlowName.EPISODE_PUBLISHER),
        threshold=THRESHOLDS.episodes_withdrawn,
        period=THRESHOLDS.signal_period,
        description="episodes were withdrawn from Spotify; check the ledger's status reason (python -m infra.ops availability <id>)",
    ),
    SignalAlarm(
        kind="takedowns",
        metric_name="TakedownsDetected",
        flows=(FlowName.AVAILABILITY_RECORDER,),
        threshold=THRESHOLDS.takedowns_detected,
        period=THRESHOLDS.signal_period,
        description="takedowns were found on Spotify or reported by a notice; rights team to review",
    ),
    SignalAlarm(
        kind="unenforceable-restrictions",
        metric_name="UnenforceableRestrictions",
        flows=(FlowName.RIGHTS_SYNC, FlowName.EPISODE_PUBLISHER),
        threshold=THRESHOLDS.unenforceable_restrictions,
        period=THRESHOLDS.signal_period,
        description="cleared only in some territories, which Megaphone cannot restrict; held back or published everywhere per the mapping, a person must decide (ledger findings)",
    ),
    SignalAlarm(
        kind="rejections",
        metric_name=REJECTION_METRIC,
        flows=HTTP_FLOWS,
        threshold=THRESHOLDS.webhook_rejections,
        period=THRESHOLDS.webhook_rejections_period,
        description="signed requests were rejected (bad or missing signature, stale or replayed); a sender's key or clock is wrong, or the endpoint is probed",
    ),
    SignalAlarm(
        kind="misconfigured",
        metric_name=MISCONFIGURATION_METRIC,
        flows=HTTP_FLOWS,
        threshold=THRESHOLDS.webhook_misconfigured,
        period=THRESHOLDS.webhook_rejections_period,
        description="the endpoint answered 503 because its own configuration is broken (a setting missing, a blank or malformed signing key in its secret); every sender is refused until it is fixed",
    ),
    SignalAlarm(
        kind="live-past-window",
        metric_name="LicencesLivePastWindow",
        flows=(FlowName.LICENCE_SWEEP,),
        threshold=THRESHOLDS.licences_live_past_window,
        period=THRESHOLDS.licences_live_past_window_period,
        description="a branded asset is still live on a channel after its licence ended or was revoked; see python -m infra.ops licences and the channel flows' DLQs",
    ),
)

# Branded audio: the licence sweep puts these per licensee (dimension `licensee`) every run; the
# dashboard graphs them for every licensee with a metric search.
LICENCE_STATE_METRICS: tuple[str, ...] = ("LicencesLive", "LicencesExpiring", "LicencesWithdrawn")
LICENCE_SWEEP_FLOW = FlowName.LICENCE_SWEEP


class OperationsAlerts(Construct):
    """SNS topic for operators, encrypted with a customer-managed key CloudWatch may use."""

    def __init__(self, scope: Construct, construct_name: str, *, topic_name: str) -> None:
        super().__init__(scope, construct_name)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the operations-alerts topic",
            enable_key_rotation=True,
        )
        # CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key; a customer key
        # whose policy lets CloudWatch (of this account only) generate data keys is required.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name="Consonance-Spotify operations alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        alarm_arns = stack.format_arn(service="cloudwatch", resource="alarm", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": alarm_arns},
                },
            )
        )


def oldest_message_age_threshold(flow: FlowConstruct) -> Duration:
    visibility = flow.declaration.visibility_timeout_seconds * THRESHOLDS.oldest_message_age_visibility_multiple
    return Duration.seconds(max(THRESHOLDS.oldest_message_age_floor.to_seconds(), visibility))


def schedule_minutes(flow: FlowConstruct) -> int:
    trigger = flow.declaration.trigger
    if not isinstance(trigger, ScheduleTrigger):
        raise ValueError(f"{flow.declaration.name}: a heartbeat needs a scheduled flow")
    return trigger.every_minutes


def heartbeat_period(flow: FlowConstruct) -> Duration:
    return Duration.minutes(schedule_minutes(flow) * THRESHOLDS.heartbeat_schedule_periods)


class FlowMonitoring(Construct):
    """Alarms per flow, the heartbeat alarms, and one dashboard showing them."""

    def __init__(
        self,
        scope: Construct,
        construct_name: str,
        flows: Sequence[FlowConstruct],
        topic: sns.ITopic,
        spotify_accounts: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_name)
        self._topic = topic
        self._stack_name = Stack.of(self).stack_name
        declared = {flow.declaration.name for flow in flows}
        unknown_heartbeats = set(HEARTBEATS) - declared
        if unknown_heartbeats:
            raise ValueError(f"HEARTBEATS names flows that are not declared: {sorted(unknown_heartbeats)}")
        unknown_signal_flows = {name for signal in SIGNAL_ALARMS for name in signal.flows} - declared
        if unknown_signal_flows:
            raise ValueError(f"SIGNAL_ALARMS names flows that are not declared: {sorted(unknown_signal_flows)}")
        by_name: dict[str, FlowConstruct] = {flow.declaration.name: flow for flow in flows}  # FlowName is a str
        self.alarms: dict[str, list[cloudwatch.Alarm]] = {}
        self.heartbeat_alarms: dict[str, cloudwatch.Alarm] = {}
        for flow in flows:
            self.alarms[flow.declaration.name] = self._flow_alarms(flow)
            heartbeat_metric = HEARTBEATS.get(flow.declaration.name)
            if heartbeat_metric:
                self.heartbeat_alarms[flow.declaration.name] = self._heartbeat_alarm(flow, heartbeat_metric)
        self.signal_alarms: dict[tuple[str, str], cloudwatch.Alarm] = {
            (signal.kind, flow_name): self._signal_alarm(by_name[flow_name], signal) for signal in SIGNAL_ALARMS for flow_name in signal.flows
        }
        checker = by_name.get(AUTHORISATION_CHECK_FLOW)
        self.authorisation_alarms: dict[str, cloudwatch.Alarm] = (
            {account: self._authorisation_alarm(checker, account) for account in spotify_accounts} if checker is not None else {}
        )
        self.dashboard = self._dashboard(flows)

    @property
    def all_alarms(self) -> list[cloudwatch.Alarm]:
        return (
            [alarm for alarms in self.alarms.values() for alarm in alarms]
            + list(self.heartbeat_alarms.values())
            + list(self.signal_alarms.values())
            + list(self.authorisation_alarms.values())
        )

    def _authorisation_alarm(self, checker: FlowConstruct, account: str) -> cloudwatch.Alarm:
        """14 days (the threshold) before a Spotify account's refresh token expires, or when the daily
        check stops reporting it (missing data breaches)."""
        alarm = cloudwatch.Alarm(
            self,
            f"SpotifyAuthorisation{construct_id(account)}",
            alarm_name=f"{self._stack_name}-spotify-authorisation-{account}",
            alarm_description=(
                f"Spotify account {account}: its refresh token expires within {THRESHOLDS.authorisation_warning_days} days "
                f"(or the daily check stopped reporting); run python -m infra.ops auth spotify --account {account}"
            ),
            metric=cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=AUTHORISATION_DAYS_METRIC,
                dimensions_map={"account": account},
                statistic="Minimum",
                period=Duration.days(1),
            ),
            threshold=THRESHOLDS.authorisation_warning_days,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self._topic))
        alarm.add_ok_action(cloudwatch_actions.SnsAction(self._topic))
        return alarm

    def _alarm(self, flow: FlowConstruct, kind: str, description: str, **options: Any) -> cloudwatch.Alarm:
        name = flow.declaration.name
        alarm = cloudwatch.Alarm(
            self,
            f"{construct_id(name)}{construct_id(kind)}",
            alarm_name=f"{self._stack_name}-{name}-{kind}",
            alarm_description=f"{name}: {description}",
            **options,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self._topic))
        alarm.add_ok_action(cloudwatch_actions.SnsAction(self._topic))
        return alarm

    def _flow_alarms(self, flow: FlowConstruct) -> list[cloudwatch.Alarm]:
        period = THRESHOLDS.period
        function = flow.function
        alarms: list[cloudwatch.Alarm] = []
        if flow.dead_letter_queue is not None:
            alarms.append(
                self._alarm(
                    flow,
                    "dead-letters",
                    "messages in the dead-letter queue; see `python -m infra.ops dlq list`, fix, then `dlq redrive`",
                    metric=flow.dead_letter_queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum"),
                    threshold=THRESHOLDS.dead_letter_messages,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        alarms += [
            self._alarm(
                flow,
                "error-rate",
                f"more than {THRESHOLDS.error_rate_percent}% of invocations failed",
                metric=cloudwatch.MathExpression(
                    expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                    using_metrics={
                        "errors": function.metric_errors(period=period, statistic="Sum"),
                        "invocations": function.metric_invocations(period=period, statistic="Sum"),
                    },
                    label="error rate %",
                    period=period,
                ),
                threshold=THRESHOLDS.error_rate_percent,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            self._alarm(
                flow,
                "throttles",
                "invocations were throttled (concurrency exhausted)",
                metric=function.metric_throttles(period=period, statistic="Sum"),
                threshold=THRESHOLDS.throttles,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        if flow.queue is not None:
            age = oldest_message_age_threshold(flow)
            alarms.append(
                self._alarm(
                    flow,
                    "oldest-message-age",
                    f"a message has waited more than {int(age.to_seconds())} s; the flow is stuck or falling behind",
                    metric=flow.queue.metric_approximate_age_of_oldest_message(period=period, statistic="Maximum"),
                    threshold=age.to_seconds(),
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        return alarms

    def _heartbeat_alarm(self, flow: FlowConstruct, metric_name: str) -> cloudwatch.Alarm:
        period = heartbeat_period(flow)
        return self._alarm(
            flow,
            "lag",
            f"no {metric_name} for {int(period.to_minutes())} min; the flow has not completed a run",
            metric=heartbeat_metric(flow, metric_name, period),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )

    def _signal_alarm(self, flow: FlowConstruct, signal: SignalAlarm) -> cloudwatch.Alarm:
        return self._alarm(
            flow,
            signal.kind,
            f"{signal.metric_name} above {signal.threshold} in {int(signal.period.to_minutes())} min: {signal.description}",
            metric=signal_metric(flow.declaration.name, signal),
            threshold=signal.threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # no metric: nothing happened
        )

    def _dashboard(self, flows: Sequence[FlowConstruct]) -> cloudwatch.Dashboard:
        period = THRESHOLDS.period
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self._stack_name)
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.all_alarms, width=24, height=6),
        )
        dashboard.add_widgets(
            *[
                cloudwatch.GraphWidget(
                    title=f"{signal.metric_name} ({', '.join(signal.flows)})",
                    left=[signal_metric(flow_name, signal).with_(label=flow_name) for flow_name in signal.flows],
                    left_annotations=[cloudwatch.HorizontalAnnotation(value=signal.threshold, label="alarm above")],
                    width=24 // len(SIGNAL_ALARMS),
                )
                for signal in SIGNAL_ALARMS
            ]
        )
        for flow in flows:
            name = flow.declaration.name
            function = flow.function
            row: list[cloudwatch.IWidget] = [
                cloudwatch.GraphWidget(
                    title=f"{name}: invocations",
                    left=[
                        function.metric_invocations(period=period, statistic="Sum"),
                        function.metric_errors(period=period, statistic="Sum"),
                        function.metric_throttles(period=period, statistic="Sum"),
                    ],
                    width=6,
                ),
                cloudwatch.GraphWidget(
                    title=f"{name}: duration (timeout {flow.declaration.timeout_seconds} s)",
                    left=[
                        function.metric_duration(period=period, statistic="p95"),
                        function.metric_duration(period=period, statistic="Maximum"),
                    ],
                    width=6,
                ),
            ]
            if flow.queue is not None:
                row.append(
                    cloudwatch.GraphWidget(
                        title=f"{name}: queue",
                        left=[flow.queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum")],
                        right=[flow.queue.metric_approximate_age_of_oldest_message(period=period, statistic="Maximum")],
                        width=6,
                    )
                )
            heartbeat_metric_name = HEARTBEATS.get(name)
            if heartbeat_metric_name:
                row.append(
                    cloudwatch.GraphWidget(
                        title=f"{name}: {heartbeat_metric_name}",
                        left=[heartbeat_metric(flow, heartbeat_metric_name, Duration.minutes(schedule_minutes(flow)))],
                        width=6,
                    )
                )
            if flow.dead_letter_queue is not None:
                row.append(
                    cloudwatch.SingleValueWidget(
                        title=f"{name}: dead letters",
                        metrics=[flow.dead_letter_queue.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum")],
                        width=6,
                    )
                )
            dashboard.add_widgets(*row)
        if any(flow.declaration.name == LICENCE_SWEEP_FLOW for flow in flows):
            dashboard.add_widgets(*licence_widgets())
        return dashboard


def signal_metric(flow_name: str, signal: SignalAlarm) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=signal.metric_name,
        dimensions_map={"service": flow_name},
        statistic="Sum",
        period=signal.period,
    )


def heartbeat_metric(flow: FlowConstruct, metric_name: str, period: Duration) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"service": flow.declaration.name},
        statistic="Sum",
        period=period,
    )


def licence_widgets() -> list[cloudwatch.IWidget]:
    """Live, expiring and withdrawn branded licences per licensee (one line per licensee)."""
    period = Duration.minutes(15)
    return [
        cloudwatch.GraphWidget(
            title=f"{metric_name} per licensee",
            left=[
                cloudwatch.MathExpression(
                    expression=f"SEARCH('{{{METRICS_NAMESPACE},licensee}} MetricName=\"{metric_name}\"', 'Maximum', {int(period.to_seconds())})",
                    using_metrics={},
                    label=metric_name,
                    period=period,
                )
            ],
            width=24 // len(LICENCE_STATE_METRICS),
        )
        for metric_name in LICENCE_STATE_METRICS
    ]
