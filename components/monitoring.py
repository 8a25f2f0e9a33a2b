"""Monitoring: the alarm topic, CloudWatch alarms, the dashboard and the monthly cost budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.dashboard import dashboard_widgets
from components.edge import EDGE_REGION
from components.outputs import publish
from components.settings import MonitoringSettings

# RDS and Aurora PostgreSQL default max_connections: LEAST(DBInstanceClassMemory / 9531392, 5000).
_BYTES_PER_CONNECTION = 9_531_392
_MAX_CONNECTIONS_CAP = 5000
# DBInstanceClassMemory is below the class's nominal memory (the OS and RDS reserve some), so
# alarm well before the estimate: 70% still fires before the real limit on a db.t4g.micro.
CONNECTIONS_ALARM_FRACTION = 0.7
# Storage autoscaling grows an instance at 10% free; 2 GiB left means it is lagging or at its ceiling.
FREE_STORAGE_ALARM_BYTES = 2 * 1024**3
FREEABLE_MEMORY_ALARM_FRACTION = 0.1

TreatMissingData = Literal["missing", "ignore", "breaching", "notBreaching"]


@dataclass(frozen=True)
class DatabaseTargets:
    """What the database exposes for alarms (from the Database component)."""

    engine: str
    """``rds-postgres`` or ``aurora-serverless-v2`` (plain: decides which alarms exist)."""
    instance_identifiers: Sequence[pulumi.Input[str]] = ()
    """RDS instance identifiers (``rds-postgres``), one set of alarms each."""
    cluster_identifier: pulumi.Input[str] | None = None
    """Aurora cluster identifier (``aurora-serverless-v2``)."""
    reader_instances: int = 0
    """Aurora readers (plain: a reader CPU alarm exists only when there is a reader)."""
    schedule_group_name: pulumi.Input[str] | None = None
    """EventBridge Scheduler group of the database's start/stop schedules (staging); given, a
    failed or dropped invocation is alarmed on."""
    memory_gib: float = 1.0
    """Memory of one instance: the RDS class's (1 GiB for db.t4g.micro) or, for Aurora
    Serverless v2, ``maxCapacity`` x 2 GiB. Sets the connection and freeable-memory thresholds."""

    @property
    def max_connections(self) -> int:
        """PostgreSQL's default max_connections on RDS and Aurora for this much memory."""
        return min(int(self.memory_gib * 1024**3 / _BYTES_PER_CONNECTION), _MAX_CONNECTIONS_CAP)


@dataclass(frozen=True)
class ServiceTargets:
    """What one service exposes for alarms (from its Service component)."""

    name: str
    """The service's name (``api``, ``web``): its alarms' keys start with it."""
    service_name: pulumi.Input[str]
    """The ECS service's name (``ServiceName`` dimension)."""
    target_group_arn_suffix: pulumi.Input[str] | None = None
    """``targetgroup/<name>/<id>`` (the ``TargetGroup`` dimension) of a served service; None for
    one without a route (a worker), which gets the ECS alarms only."""
    always_on: bool = True
    """False when the schedule scales it to zero outside business hours (staging): the "no
    healthy task" alarm is left out, since zero tasks at night is the plan."""


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of :class:`Monitoring`."""

    settings: MonitoringSettings
    """Alarm e-mail, dashboard switch and the monthly budget."""
    name_prefix: str
    """Physical-name prefix, e.g. ``platform-staging``."""
    region: str
    """The stack's AWS region (alarms on regional metrics are created there)."""
    kms_key_arn: pulumi.Input[str]
    """The stack's KMS key (components/kms.py); encrypts the alarm topic. Its key policy lets
    cloudwatch.amazonaws.com and budgets.amazonaws.com use it."""
    alb_arn_suffix: pulumi.Input[str]
    """``app/<name>/<id>``: the ALB's CloudWatch ``LoadBalancer`` dimension."""
    cluster_name: pulumi.Input[str]
    """ECS cluster name (``ClusterName`` dimension)."""
    services: Sequence[ServiceTargets]
    """The services, each with its own alarms."""
    database: DatabaseTargets
    """The database to alarm on."""
    distribution_id: pulumi.Input[str] | None = None
    """CloudFront distribution id; given, its 5xx error rate is alarmed on (in us-east-1)."""
    web_acl_metric_name: pulumi.Input[str] | None = None
    """The CLOUDFRONT-scope web ACL's ``visibility_config.metric_name`` (WAF's ``WebACL``
    dimension); given, a spike in blocked requests is alarmed on (in us-east-1)."""
    edge_kms_key_arn: pulumi.Input[str] | None = None
    """The stack's us-east-1 key, for the topic of the CloudFront/WAF alarms: SNS only accepts a
    key from the topic's region. Needed with ``distribution_id`` unless the stack is in us-east-1."""


@dataclass(frozen=True)
class _Alarm:
    """One CloudWatch metric alarm, before it is bound to a topic."""

    key: str
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    threshold: float
    statistic: str | None = None
    extended_statistic: str | None = None
    comparison: str = "GreaterThanOrEqualToThreshold"
    period: int = 300
    evaluation_periods: int = 3
    """Consecutive periods over the threshold before the alarm fires (all of them must breach)."""
    treat_missing_data: TreatMissingData = "notBreaching"
    """ALB ``HTTPCode_*`` metrics are only published when non-zero, and a stopped or idle service
    publishes no ECS/RDS/CloudFront metrics at all: for a "too high" alarm, no data means nothing
    is wrong. Only an alarm whose missing data signals an outage says otherwise."""


class Monitoring(pulumi.ComponentResource):
    """CloudWatch alarms on each service, the load balancer, database and edge, published to an
    encrypted SNS topic (e-mailed when ``alarm_email`` is set); a dashboard; a cost budget."""

    alarm_topic_arn: pulumi.Output[str]
    """The topic every regional alarm and the budget notify."""
    edge_alarm_topic_arn: pulumi.Output[str] | None
    """The us-east-1 topic of the CloudFront/WAF alarms (None without a distribution; the main
    topic when the stack itself runs in us-east-1)."""
    alarm_names: dict[str, pulumi.Output[str]]
    """Alarm key (e.g. ``api-target-5xx``) -> physical alarm name."""
    dashboard_name: pulumi.Output[str] | None
    """The CloudWatch dashboard (None when ``dashboard`` is off)."""
    budget_name: pulumi.Output[str]
    """The AWS Budgets monthly cost budget."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        watches_edge = args.distribution_id is not None or args.web_acl_metric_name is not None
        if watches_edge and args.region != EDGE_REGION and args.edge_kms_key_arn is None:
            raise ValueError("Monitoring: CloudFront/WAF alarms outside us-east-1 need edge_kms_key_arn")
        super().__init__("platform:monitoring:Monitoring", name, None, opts)
        self._name = name
        self._args = args
        settings = args.settings
        account_id = aws.get_caller_identity_output().account_id

        topic = self._topic(
            f"{name}-alarms", f"{args.name_prefix}-alarms", args.kms_key_arn, None, account_id
        )
        alarm_names = {
            alarm.key: self._metric_alarm(alarm, topic.arn, None) for alarm in self._regional_alarms()
        }

        edge_topic_arn: pulumi.Output[str] | None = None
        edge_alarms = self._edge_alarms()
        # An alarm lives in the region of its metric (EDGE_REGION for CloudFront's and WAF's) and
        # acts on a topic in that region.
        if edge_alarms:
            if args.region == EDGE_REGION:
                edge_topic_arn = topic.arn
            else:
                edge_topic_arn = self._topic(
                    f"{name}-edge-alarms",
                    f"{args.name_prefix}-edge-alarms",
                    args.edge_kms_key_arn,
                    EDGE_REGION,
                    account_id,
                ).arn
            for alarm in edge_alarms:
                alarm_names[alarm.key] = self._metric_alarm(alarm, edge_topic_arn, EDGE_REGION)

        dashboard_name: pulumi.Output[str] | None = None
        if settings.dashboard:
            dashboard = aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=f"{args.name_prefix}-overview",
                dashboard_body=pulumi.Output.json_dumps({"widgets": dashboard_widgets(self._args)}),
                opts=pulumi.ResourceOptions(parent=self),
            )
            dashboard_name = dashboard.dashboard_name

        publish(
            self,
            alarm_topic_arn=topic.arn,
            edge_alarm_topic_arn=edge_topic_arn,
            alarm_names=alarm_names,
            dashboard_name=dashboard_name,
            budget_name=self._budget(topic.arn).name,
        )

    # -- notification topics -------------------------------------------------------------------

    def _topic(
        self,
        logical: str,
        topic_name: str,
        kms_key_arn: pulumi.Input[str],
        region: str | None,
        account_id: pulumi.Output[str],
    ) -> aws.sns.Topic:
        """An encrypted topic that only this account's alarms (and budgets) may publish to, over TLS."""
        home_region = region or self._args.region
        topic = aws.sns.Topic(
            logical,
            name=topic_name,
            kms_master_key_id=kms_key_arn,
            region=region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        publishers: dict[str, str] = {
            "cloudwatch.amazonaws.com": "arn:aws:cloudwatch:{region}:{account}:alarm:*"
        }
        if region is None:
            # AWS Budgets is global; its notifications go to the main topic only.
            publishers["budgets.amazonaws.com"] = "arn:aws:budgets::{account}:*"
        aws.sns.TopicPolicy(
            f"{logical}-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        *(
                            {
                                "Sid": f"Allow{service.split('.')[0].capitalize()}Publish",
                                "Effect": "Allow",
                                "Principal": {"Service": service},
                                "Action": "sns:Publish",
                                "Resource": topic.arn,
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": account_id},
                                    "ArnLike": {
                                        "aws:SourceArn": account_id.apply(
                                            lambda account, pattern=pattern: pattern.format(
                                                region=home_region, account=account
                                            )
                                        )
                                    },
                                },
                            }
                            for service, pattern in publishers.items()
                        ),
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "sns:Publish",
                            "Resource": topic.arn,
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                }
            ),
            region=region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if self._args.settings.alarm_email:
            aws.sns.TopicSubscription(
                f"{logical}-email",
                topic=topic.arn,
                protocol="email",
                endpoint=self._args.settings.alarm_email,
                region=region,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return topic

    # -- alarms ----------------------------------------------------------------------------------

    def _regional_alarms(self) -> list[_Alarm]:
        args = self._args
        lb = {"LoadBalancer": args.alb_arn_suffix}
        alarms = [
            _Alarm(
                key="alb-elb-5xx",
                description="The load balancer itself answered 10 or more 5xx in 5 minutes "
                "(no healthy target, timeouts)",
                namespace="AWS/ApplicationELB",
                metric="HTTPCode_ELB_5XX_Count",
                dimensions=lb,
                threshold=10,
                evaluation_periods=1,
                statistic="Sum",
            ),
        ]
        for service in args.services:
            alarms += self._service_alarms(service)
        if args.database.schedule_group_name is not None:
            # AWS/Scheduler publishes per schedule group (dimension ScheduleGroup):
            # https://docs.aws.amazon.com/scheduler/latest/UserGuide/monitoring-cloudwatch.html,
            # aws/aws-cdk packages/aws-cdk-lib/aws-scheduler/lib/schedule-group.ts (metric()).
            # A start or stop that fails (e.g. during maintenance) would otherwise leave the
            # database stopped all day or running all night without a word.
            group = {"ScheduleGroup": args.database.schedule_group_name}
            for key, metric, what in (
                ("db-schedule-errors", "TargetErrorCount", "RDS refused a scheduled start or stop"),
                (
                    "db-schedule-dropped",
                    "InvocationDroppedCount",
                    "EventBridge Scheduler gave up on a scheduled start or stop",
                ),
            ):
                alarms.append(
                    _Alarm(
                        key=key,
                        description=f"{what}; the failed request is in the schedules' dead-letter queue",
                        namespace="AWS/Scheduler",
                        metric=metric,
                        dimensions=group,
                        threshold=1,
                        evaluation_periods=1,
                        statistic="Sum",
                    )
                )
        return alarms + self._database_alarms()

    def _service_alarms(self, service: ServiceTargets) -> list[_Alarm]:
        """One service's alarms: its answers, health and latency behind the load balancer (when
        served) and its tasks' CPU and memory, each keyed ``<service>-...``."""
        args, key = self._args, service.name
        ecs = {"ClusterName": args.cluster_name, "ServiceName": service.service_name}
        alarms = [
            _Alarm(
                key=f"{key}-cpu",
                description=f"{key}: CPU above 85% for 15 minutes (autoscaling at its ceiling?)",
                namespace="AWS/ECS",
                metric="CPUUtilization",
                dimensions=ecs,
                threshold=85,
                statistic="Average",
            ),
            _Alarm(
                key=f"{key}-memory",
                description=f"{key}: memory above 85% for 15 minutes",
                namespace="AWS/ECS",
                metric="MemoryUtilization",
                dimensions=ecs,
                threshold=85,
                statistic="Average",
            ),
        ]
        if service.target_group_arn_suffix is None:
            return alarms
        # The target group's own metrics, with the load balancer as the second dimension
        # (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html,
        # "Metric dimensions": TargetGroup, LoadBalancer).
        target_group = {"TargetGroup": service.target_group_arn_suffix, "LoadBalancer": args.alb_arn_suffix}
        alarms += [
            _Alarm(
                key=f"{key}-target-5xx",
                description=f"{key} answered 10 or more 5xx responses in 5 minutes",
                namespace="AWS/ApplicationELB",
                metric="HTTPCode_Target_5XX_Count",
                dimensions=target_group,
                threshold=10,
                evaluation_periods=1,
                statistic="Sum",
            ),
            _Alarm(
                key=f"{key}-unhealthy-hosts",
                description=f"A {key} task has failed its health check for 5 minutes",
                namespace="AWS/ApplicationELB",
                metric="UnHealthyHostCount",
                dimensions=target_group,
                threshold=1,
                period=60,
                evaluation_periods=5,
                statistic="Maximum",
            ),
            _Alarm(
                key=f"{key}-p95-latency",
                description=f"{key}: p95 response time above 1 s for 15 minutes",
                namespace="AWS/ApplicationELB",
                metric="TargetResponseTime",
                dimensions=target_group,
                comparison="GreaterThanThreshold",
                threshold=1.0,
                extended_statistic="p95",
            ),
        ]
        if service.always_on:
            # Always-on service: no metric means no registered target, which is an outage.
            alarms.append(
                _Alarm(
                    key=f"{key}-no-healthy-hosts",
                    description=f"No healthy {key} task behind the load balancer for 3 minutes",
                    namespace="AWS/ApplicationELB",
                    metric="HealthyHostCount",
                    dimensions=target_group,
                    comparison="LessThanThreshold",
                    threshold=1,
                    period=60,
                    treat_missing_data="breaching",
                    statistic="Minimum",
                )
            )
        return alarms

    def _database_alarms(self) -> list[_Alarm]:
        db = self._args.database
        connections = max(1, int(db.max_connections * CONNECTIONS_ALARM_FRACTION))
        if db.engine == "rds-postgres":
            alarms: list[_Alarm] = []
            for index, identifier in enumerate(db.instance_identifiers):
                instance = {"DBInstanceIdentifier": identifier}
                alarms += [
                    _Alarm(
                        key=f"db{index}-cpu",
                        description="Database CPU above 80% for 15 minutes",
                        namespace="AWS/RDS",
                        metric="CPUUtilization",
                        dimensions=instance,
                        threshold=80,
                        statistic="Average",
                    ),
                    _Alarm(
                        key=f"db{index}-free-storage",
                        description="Less than 2 GiB of database storage left",
                        namespace="AWS/RDS",
                        metric="FreeStorageSpace",
                        dimensions=instance,
                        comparison="LessThanThreshold",
                        threshold=FREE_STORAGE_ALARM_BYTES,
                        evaluation_periods=1,
                        statistic="Minimum",
                    ),
                    _Alarm(
                        key=f"db{index}-connections",
                        description=f"Database connections at {connections} "
                        f"(of about {db.max_connections}) for 10 minutes",
                        namespace="AWS/RDS",
                        metric="DatabaseConnections",
                        dimensions=instance,
                        threshold=connections,
                        evaluation_periods=2,
                        statistic="Maximum",
                    ),
                ]
            return alarms
        if db.engine == "aurora-serverless-v2":
            if db.cluster_identifier is None:
                raise ValueError("DatabaseTargets: aurora-serverless-v2 needs cluster_identifier")
            cluster = {"DBClusterIdentifier": db.cluster_identifier}
            memory_floor = db.memory_gib * 1024**3 * FREEABLE_MEMORY_ALARM_FRACTION
            # CPU per role (dimensions DBClusterIdentifier + Role, "Amazon CloudWatch metrics for
            # Amazon Aurora"): the cluster-wide average would hide a saturated writer behind an
            # idle reader.
            roles = ["WRITER"] + (["READER"] if db.reader_instances else [])
            cpu = [
                _Alarm(
                    key=f"db-{role.lower()}-cpu",
                    description=f"Aurora {role.lower()} CPU above 80% for 15 minutes",
                    namespace="AWS/RDS",
                    metric="CPUUtilization",
                    dimensions={**cluster, "Role": role},
                    threshold=80,
                    statistic="Average",
                )
                for role in roles
            ]
            return [
                *cpu,
                _Alarm(
                    key="db-connections",
                    description=f"An Aurora instance has {connections} connections "
                    f"(of about {db.max_connections}) for 10 minutes",
                    namespace="AWS/RDS",
                    metric="DatabaseConnections",
                    dimensions=cluster,
                    threshold=connections,
                    evaluation_periods=2,
                    statistic="Maximum",
                ),
                _Alarm(
                    key="db-acu-utilization",
                    description="Aurora above 90% of maxCapacity ACUs for 15 minutes",
                    namespace="AWS/RDS",
                    metric="ACUUtilization",
                    dimensions=cluster,
                    threshold=90,
                    statistic="Average",
                ),
                _Alarm(
                    key="db-freeable-memory",
                    description="An Aurora instance has under 10% of its memory free",
                    namespace="AWS/RDS",
                    metric="FreeableMemory",
                    dimensions=cluster,
                    comparison="LessThanThreshold",
                    threshold=memory_floor,
                    statistic="Minimum",
                ),
            ]
        raise ValueError(f"DatabaseTargets: unknown engine {db.engine!r}")

    def _edge_alarms(self) -> list[_Alarm]:
        args = self._args
        alarms: list[_Alarm] = []
        if args.distribution_id is not None:
            alarms.append(
                _Alarm(
                    key="cloudfront-5xx-rate",
                    description="Over 5% of CloudFront responses were 5xx for 10 minutes",
                    namespace="AWS/CloudFront",
                    metric="5xxErrorRate",
                    dimensions={"DistributionId": args.distribution_id, "Region": "Global"},
                    threshold=5,
                    evaluation_periods=2,
                    statistic="Average",
                )
            )
        if args.web_acl_metric_name is not None:
            # A static ceiling, not anomaly detection: BlockedRequests is sparse (absent at zero),
            # which anomaly models read badly.
            alarms.append(
                _Alarm(
                    key="waf-blocked-spike",
                    description="WAF blocked 1000 or more requests in 5 minutes (attack?)",
                    namespace="AWS/WAFV2",
                    metric="BlockedRequests",
                    dimensions={"WebACL": args.web_acl_metric_name, "Rule": "ALL"},
                    threshold=1000,
                    evaluation_periods=1,
                    statistic="Sum",
                )
            )
        return alarms

    def _metric_alarm(
        self, alarm: _Alarm, topic_arn: pulumi.Input[str], region: str | None
    ) -> pulumi.Output[str]:
        """The alarm, notifying ``topic_arn``; returns its name."""
        physical = f"{self._args.name_prefix}-{alarm.key}"
        resource = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{alarm.key}",
            name=physical,
            alarm_description=alarm.description,
            namespace=alarm.namespace,
            metric_name=alarm.metric,
            dimensions=dict(alarm.dimensions),
            statistic=alarm.statistic,
            extended_statistic=alarm.extended_statistic,
            period=alarm.period,
            evaluation_periods=alarm.evaluation_periods,
            datapoints_to_alarm=alarm.evaluation_periods,
            comparison_operator=alarm.comparison,
            threshold=alarm.threshold,
            treat_missing_data=alarm.treat_missing_data,
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
            region=region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return resource.name

    # -- budget ----------------------------------------------------------------------------------

    def _budget(self, topic_arn: pulumi.Input[str]) -> aws.budgets.Budget:
        settings = self._args.settings
        emails = [settings.alarm_email] if settings.alarm_email else None
        return aws.budgets.Budget(
            f"{self._name}-budget",
            name=f"{self._args.name_prefix}-monthly-cost",
            budget_type="COST",
            limit_amount=f"{settings.monthly_budget_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            # One account may hold several stacks: count only this stack's spend, by the `stack`
            # cost-allocation tag its aws:defaultTags put on every resource (the AWS Budgets API's
            # TagKeyValue filter takes "user:<key>$<value>"; the tag must be activated for cost
            # allocation: bootstrap:activateStackCostTag). Untagged spend is outside every budget.
            cost_filters=[
                aws.budgets.BudgetCostFilterArgs(
                    name="TagKeyValue", values=[f"user:stack${pulumi.get_stack()}"]
                )
            ],
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                    subscriber_email_addresses=emails,
                    subscriber_sns_topic_arns=[topic_arn],
                )
                for kind, percent in (("ACTUAL", 80), ("FORECASTED", 100))
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
