"""Datadog: the AWS integration (a read-only role Datadog assumes) and APM monitors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

import pulumi
import pulumi_aws as aws

from components.edge import EDGE_REGION
from components.outputs import publish
from components.settings import DatadogSettings

# The AWS account Datadog assumes integration roles from, per site (Datadog's own CloudFormation
# template, aws_quickstart/main_v2.yaml, mapping DdAccountIdBySite).
DATADOG_AWS_ACCOUNT_BY_SITE: dict[str, str] = {
    "datadoghq.com": "464622532012",
    "us3.datadoghq.com": "464622532012",
    "us5.datadoghq.com": "464622532012",
    "datadoghq.eu": "464622532012",
    "ap1.datadoghq.com": "417141415827",
    "ap2.datadoghq.com": "412381753143",
}

# The read-only part of Datadog's documented integration policy ("AWS integration IAM policy")
# for the services this platform runs. Left out on purpose: the write actions Datadog lists for
# its log-forwarder Lambda (logs:PutSubscriptionFilter, logs:DeleteSubscriptionFilter,
# s3:PutBucketNotification, events:CreateEventBus, sns:Publish), which this platform does not use,
# and services it does not run. Resource collection is covered by the SecurityAudit attachment.
DATADOG_READ_ACTIONS: tuple[str, ...] = (
    "autoscaling:Describe*",
    "budgets:ViewBudget",
    "cloudfront:GetDistributionConfig",
    "cloudfront:ListDistributions",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:LookupEvents",
    "cloudwatch:Describe*",
    "cloudwatch:Get*",
    "cloudwatch:List*",
    "ec2:Describe*",
    "ecs:Describe*",
    "ecs:List*",
    "elasticloadbalancing:Describe*",
    "health:DescribeAffectedEntities",
    "health:DescribeEventDetails",
    "health:DescribeEvents",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:DescribeSubscriptionFilters",
    "logs:FilterLogEvents",
    "logs:TestMetricFilter",
    "rds:Describe*",
    "rds:List*",
    "route53:List*",
    "s3:GetBucketLocation",
    "s3:GetBucketLogging",
    "s3:GetBucketNotification",
    "s3:GetBucketTagging",
    "s3:ListAllMyBuckets",
    "secretsmanager:GetResourcePolicy",
    "sns:GetSubscriptionAttributes",
    "sns:List*",
    "support:DescribeTrustedAdvisor*",
    "support:RefreshTrustedAdvisorCheck",
    "tag:GetResources",
    "tag:GetTagKeys",
    "tag:GetTagValues",
    "wafv2:GetIPSet",
    "wafv2:GetLoggingConfiguration",
    "wafv2:GetRegexPatternSet",
    "wafv2:GetRuleGroup",
    "wafv2:ListLoggingConfigurations",
)

# CloudWatch namespaces worth collecting here; each collected namespace costs GetMetricData calls.
DATADOG_NAMESPACES: tuple[str, ...] = (
    "AWS/ApplicationELB",
    "AWS/CloudFront",
    "AWS/ECS",
    "AWS/NATGateway",
    "AWS/RDS",
    "AWS/SNS",
    "AWS/WAFV2",
    "ECS/ContainerInsights",
)


def _datadog_sdk() -> ModuleType:
    """``pulumi_datadog``, imported only when a Datadog resource is about to be declared: the SDK
    takes 20-40 s to import (its generated ``_inputs`` module alone is 20 MB), a cost that every
    stack without Datadog (staging, pre-commercial, most tests) would otherwise pay at start-up."""
    import pulumi_datadog

    return pulumi_datadog


SECURITY_AUDIT_POLICY_ARN = "arn:aws:iam::aws:policy/SecurityAudit"
# The tag key the stack files' aws:defaultTags put on every resource (Pulumi.<stack>.yaml).
STACK_TAG_KEY = "stack"


@dataclass(frozen=True)
class DatadogArgs:
    """Inputs of :class:`Datadog`."""

    settings: DatadogSettings
    """``enabled`` gates everything; ``aws_integration`` and ``monitors`` each add their part."""
    name_prefix: str
    """Physical-name prefix, e.g. ``platform-prod-commercial``."""
    services: Mapping[str, str]
    """APM service name (the agent's ``DD_SERVICE``, e.g. ``api``) -> the root span of its requests
    (``express.request`` for NestJS on Express, ``next.request`` for Next.js): each gets its own
    latency and error-rate monitors."""
    env: str
    """APM environment (``DD_ENV``), e.g. the stack name."""
    region: str
    """The stack's AWS region, the one region the integration collects from."""
    collect_us_east_1: bool = False
    """Also collect us-east-1, where CloudFront and CLOUDFRONT-scope WAF publish their metrics."""
    stack_tag: str = ""
    """The ``stack`` tag every resource of this stack carries (``aws:defaultTags``): the
    integration collects metrics only from resources carrying it; "" means ``env``."""
    alarm_email: str | None = None
    """Notified by the monitors through an ``@`` handle; unset, monitors only show in Datadog."""
    latency_p95_seconds: float = 1.0
    """p95 request latency that alerts."""
    error_rate: float = 0.05
    """Share of requests ending in error that alerts."""


class Datadog(pulumi.ComponentResource):
    """Datadog's AWS integration and each service's latency and error-rate monitors.

    The Datadog provider must point at ``settings.site`` (``datadog:apiUrl``, e.g.
    ``https://api.ap1.datadoghq.com/``) with the API and application keys as secret config.
    """

    integration_role_arn: pulumi.Output[str] | None
    """The role Datadog assumes (None when the integration is off)."""
    external_id: pulumi.Output[str] | None
    """The external id the role's trust policy requires (None when off)."""
    monitor_ids: dict[str, pulumi.Output[str]]
    """``<service>-latency`` / ``<service>-error-rate`` -> Datadog monitor id (empty when off)."""

    def __init__(self, name: str, args: DatadogArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:datadog:Datadog", name, None, opts)
        self._name = name
        self._args = args
        settings = args.settings
        role_arn, external_id = (
            self._integration() if settings.enabled and settings.aws_integration else (None, None)
        )
        publish(
            self,
            integration_role_arn=role_arn,
            external_id=external_id,
            monitor_ids=self._monitors() if settings.enabled and settings.monitors else {},
        )

    def _integration(self) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The integration and the role it assumes; returns the role's ARN and the external id."""
        datadog = _datadog_sdk()
        args = self._args
        name = self._name
        datadog_account = DATADOG_AWS_ACCOUNT_BY_SITE[args.settings.site]
        stack = args.stack_tag or args.env
        # Generated first, so the role can trust it before the integration that uses it exists.
        external_id = datadog.aws.IntegrationExternalId(
            f"{name}-external-id", opts=pulumi.ResourceOptions(parent=self)
        )
        role = aws.iam.Role(
            f"{name}-integration-role",
            name=f"{args.name_prefix}-datadog-integration",
            description="Assumed by Datadog's AWS integration to read metrics, tags and resource metadata",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{datadog_account}:root"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"sts:ExternalId": external_id.id}},
                        }
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        read_policy = aws.iam.RolePolicy(
            f"{name}-integration-read",
            role=role.name,
            name="datadog-integration-read",
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": list(DATADOG_READ_ACTIONS), "Resource": "*"}],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        security_audit = aws.iam.RolePolicyAttachment(
            f"{name}-integration-security-audit",
            role=role.name,
            policy_arn=SECURITY_AUDIT_POLICY_ARN,
            opts=pulumi.ResourceOptions(parent=self),
        )
        regions = [args.region] + (
            [EDGE_REGION] if args.collect_us_east_1 and args.region != EDGE_REGION else []
        )
        datadog.aws.IntegrationAccount(
            f"{name}-integration",
            aws_account_id=aws.get_caller_identity_output().account_id,
            aws_partition="aws",
            aws_regions=datadog.aws.IntegrationAccountAwsRegionsArgs(include_onlies=regions),
            auth_config=datadog.aws.IntegrationAccountAuthConfigArgs(
                aws_auth_config_role=datadog.aws.IntegrationAccountAuthConfigAwsAuthConfigRoleArgs(
                    role_name=role.name, external_id=external_id.id
                )
            ),
            account_tags=[f"env:{args.env}", f"stack:{stack}"],
            metrics_config=datadog.aws.IntegrationAccountMetricsConfigArgs(
                namespace_filters=datadog.aws.IntegrationAccountMetricsConfigNamespaceFiltersArgs(
                    include_onlies=list(DATADOG_NAMESPACES)
                ),
                # The integration reads the whole account; only this stack's resources are
                # collected, by their `stack` tag, per namespace ("AWS Metrics Collection tag
                # filters", DataDog/terraform-provider-datadog
                # datadog/fwprovider/resource_datadog_integration_aws_account.go).
                tag_filters=[
                    datadog.aws.IntegrationAccountMetricsConfigTagFilterArgs(
                        namespace=namespace, tags=[f"{STACK_TAG_KEY}:{stack}"]
                    )
                    for namespace in DATADOG_NAMESPACES
                ],
            ),
            resources_config=datadog.aws.IntegrationAccountResourcesConfigArgs(
                extended_collection=True, cloud_security_posture_management_collection=False
            ),
            logs_config=datadog.aws.IntegrationAccountLogsConfigArgs(
                lambda_forwarder=datadog.aws.IntegrationAccountLogsConfigLambdaForwarderArgs()
            ),
            traces_config=datadog.aws.IntegrationAccountTracesConfigArgs(
                xray_services=datadog.aws.IntegrationAccountTracesConfigXrayServicesArgs(include_onlies=[])
            ),
            # Datadog checks the role on creation: it must exist with its permissions first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, read_policy, security_audit]),
        )
        return role.arn, external_id.id

    def _monitors(self) -> dict[str, pulumi.Output[str]]:
        """Each service's latency and error-rate monitors, by ``<service>-<key>``."""
        datadog = _datadog_sdk()
        args = self._args
        notify = f"\n\n@{args.alarm_email}" if args.alarm_email else ""
        ids = {}
        for service, span_name in args.services.items():
            scope = f"service:{service},env:{args.env}"
            metric = f"trace.{span_name}"
            tags = [f"service:{service}", f"env:{args.env}", "managed-by:pulumi"]
            queries = {
                "latency": (
                    f"p95 latency of {service} ({args.env}) above {args.latency_p95_seconds} s",
                    f"percentile(last_10m):p95:{metric}{{{scope}}} > {args.latency_p95_seconds}",
                    args.latency_p95_seconds,
                ),
                "error-rate": (
                    f"error rate of {service} ({args.env}) above {args.error_rate:.0%}",
                    f"sum(last_10m):( sum:{metric}.errors{{{scope}}}.as_count() / "
                    f"sum:{metric}.hits{{{scope}}}.as_count() ) > {args.error_rate}",
                    args.error_rate,
                ),
            }
            for key, (title, query, threshold) in queries.items():
                monitor = datadog.Monitor(
                    f"{self._name}-{service}-{key}",
                    name=f"[{args.name_prefix}] {title}",
                    type="query alert",
                    query=query,
                    message=f"{title}. See the service page in APM for the slow or failing endpoints.{notify}",
                    monitor_thresholds=datadog.MonitorMonitorThresholdsArgs(critical=str(threshold)),
                    # No traffic (staging at night) is not an outage: keep the last state quietly.
                    notify_no_data=False,
                    require_full_window=False,
                    tags=tags,
                    opts=pulumi.ResourceOptions(parent=self),
                )
                ids[f"{service}-{key}"] = monitor.id
        return ids
