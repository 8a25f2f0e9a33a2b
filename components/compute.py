"""The API on ECS Fargate behind an Application Load Balancer, with autoscaling and business hours."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pulumi
import pulumi_aws as aws

from components.containers import (
    CONTAINER_NAME,
    HEALTH_CHECK_GRACE_SECONDS,
    DatadogSidecar,
    container_definitions,
    volume_names,
)
from components.outputs import publish
from components.schedule import local_now, service_hours
from components.settings import ComputeSettings, ScheduleSettings

# How far ahead of the clock the scalable target's period is chosen: longer than an update takes
# to reach the target (the service before it may wait for its deployment to settle).
SCALING_TARGET_LOOKAHEAD = timedelta(minutes=45)
# AWS's recommended ALB policy (the console default since the 2025-09 policies): TLS 1.3 and
# TLS 1.2 with forward-secret AEAD ciphers only ("Res"), plus hybrid post-quantum key exchange
# (ML-KEM) for clients that offer it, classical ECDHE for those that do not. TLS 1.0/1.1 and CBC
# ciphers are refused; every browser and SDK of the last decade negotiates TLS 1.2+ with GCM.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"

# Seconds the ALB waits for an in-flight request of a deregistered task before ECS stops it. The
# API answers in well under a second; 30 s keeps deployments and scale-in quick.
DEREGISTRATION_DELAY_SECONDS = 30
# The ALB's default; the app's keep-alive timeout must be longer (Node's 5 s default causes 502s).
ALB_IDLE_TIMEOUT_SECONDS = 60
# Scale out fast on load, scale in slowly so a short lull does not drop capacity that is needed again.
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300

_ELB_NAME_LIMIT = 32


def elb_name(prefix: str, suffix: str) -> str:
    """A load balancer or target group name: at most 32 alphanumerics and hyphens.

    Names too long for the limit are cut and end in a hash of the full name, so two stacks whose
    names share a long prefix still get distinct load balancers.
    """
    full = re.sub(r"[^A-Za-z0-9-]", "-", f"{prefix}-{suffix}").strip("-")
    if len(full) <= _ELB_NAME_LIMIT:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:6]
    return f"{full[: _ELB_NAME_LIMIT - len(digest) - 1].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class ComputeArgs:
    """Inputs of :class:`Compute`."""

    settings: ComputeSettings
    """Task size, counts, scaling goals, Spot, logs, plain environment."""
    schedule: ScheduleSettings
    """Business hours: ``stop`` scales to zero at night, ``scale-down`` lowers the floor."""
    name_prefix: str
    """Physical-name prefix, e.g. ``platform-staging``."""
    region: str
    """Region of the stack (for the awslogs driver)."""
    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of an internet-facing ALB, and of the tasks when ``assign_public_ip``."""
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the tasks, and of an internal ALB."""
    assign_public_ip: bool
    """True only without NAT: tasks then run in the public subnets with their own public IPs."""
    alb_internal: bool
    """True when CloudFront reaches the ALB through a VPC origin (the ALB has no public address)."""
    alb_security_group_id: pulumi.Input[str]
    task_security_group_id: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    """Role ECS uses to pull the image, write logs and read the secret parameters."""
    task_role_arn: pulumi.Input[str]
    """Role of the application itself."""
    image: pulumi.Input[str]
    """Image of the API container."""
    log_group_name: str
    """CloudWatch log group of the task, e.g. ``/platform/staging/api``."""
    kms_key_arn: pulumi.Input[str]
    """The stack's KMS key; encrypts the log group."""
    secrets: Mapping[str, pulumi.Input[str]]
    """Env var name -> SSM parameter ARN, injected by ECS at start (never as plain environment)."""
    access_log_bucket: pulumi.Input[str]
    """Bucket of the ALB access logs (prefix ``alb``); pass it from the bucket policy's output so the
    ALB is created after ELB log delivery is allowed."""
    certificate_arn: pulumi.Input[str] | None
    """ACM certificate of the ALB's HTTPS listener; None serves HTTP only (and warns)."""
    datadog: DatadogSidecar | None = None
    """Run the Datadog Agent next to the API; None: no agent."""
    image_tag_moves: bool = False
    """True when ``image`` is a tag that can be pushed again (a mutable repository, or another
    registry's tag not pinned by digest): every task then pulls the tag as it starts."""
    now: datetime | None = None
    """Local time in the schedule's zone the business hours are generated for; None: the clock."""


class Compute(pulumi.ComponentResource):
    """The API service: ECS cluster, Fargate service and task, ALB, autoscaling, business hours."""

    cluster_name: pulumi.Output[str]
    """The ECS cluster's name."""
    cluster_arn: pulumi.Output[str]
    """The ECS cluster's ARN."""
    service_name: pulumi.Output[str]
    """The ECS service."""
    alb_arn: pulumi.Output[str]
    """The load balancer's ARN."""
    alb_arn_suffix: pulumi.Output[str]
    """Its ARN suffix (the ``LoadBalancer`` dimension of its metrics)."""
    alb_dns_name: pulumi.Output[str]
    """Its DNS name."""
    alb_zone_id: pulumi.Output[str]
    """Its hosted zone id, for alias records."""
    target_group_arn: pulumi.Output[str]
    """The tasks' target group."""
    target_group_arn_suffix: pulumi.Output[str]
    """Its ARN suffix (the ``TargetGroup`` dimension of its metrics)."""
    listener_arn: pulumi.Output[str]
    """The listener that forwards to the tasks (HTTPS:443 with a certificate)."""
    listener_port: int
    """443 with a certificate, else 80."""
    log_group_name: pulumi.Output[str]
    """The task log group."""
    task_definition_arn: pulumi.Output[str]
    """The current task definition revision (what a finished deployment runs)."""
    scalable_target_resource_id: pulumi.Output[str]
    """``service/<cluster>/<service>`` (Application Auto Scaling)."""

    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:compute:Compute", name, None, opts)
        _check(args)
        self._name, self._args = name, args
        service_name = f"{args.name_prefix}-api"
        cluster, capacity_providers = self._cluster()
        log_group, task_definition = self._task(service_name)
        alb, target_group, listeners, serving, listener_port = self._load_balancer()
        service = self._service(
            service_name, cluster, capacity_providers, task_definition, target_group, listeners
        )
        scalable_target_resource_id = pulumi.Output.concat("service/", cluster.name, "/", service.name)
        self._autoscaling(name, args, scalable_target_resource_id, alb, target_group)

        publish(
            self,
            cluster_name=cluster.name,
            cluster_arn=cluster.arn,
            service_name=service.name,
            alb_arn=alb.arn,
            alb_arn_suffix=alb.arn_suffix,
            alb_dns_name=alb.dns_name,
            alb_zone_id=alb.zone_id,
            target_group_arn=target_group.arn,
            target_group_arn_suffix=target_group.arn_suffix,
            listener_arn=serving.arn,
            listener_port=listener_port,
            log_group_name=log_group.name,
            task_definition_arn=task_definition.arn,
            scalable_target_resource_id=scalable_target_resource_id,
        )

    def _cluster(self) -> tuple[aws.ecs.Cluster, aws.ecs.ClusterCapacityProviders]:
        """The cluster, with Fargate and Fargate Spot as its capacity providers."""
        name, args, settings = self._name, self._args, self._args.settings
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=args.name_prefix,
            settings=[
                {
                    "name": "containerInsights",
                    "value": "enabled" if settings.container_insights else "disabled",
                }
            ],
            opts=child,
        )
        capacity_providers = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity-providers",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[{"capacity_provider": "FARGATE", "weight": 1}],
            opts=child,
        )
        return cluster, capacity_providers

    def _task(self, service_name: str) -> tuple[aws.cloudwatch.LogGroup, aws.ecs.TaskDefinition]:
        """The task's log group and its definition (the API, and the Datadog Agent when on)."""
        name, args, settings = self._name, self._args, self._args.settings
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=settings.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )

        task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=service_name,
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            cpu=str(settings.cpu),
            memory=str(settings.memory),
            runtime_platform={
                "operating_system_family": "LINUX",
                "cpu_architecture": settings.architecture,
            },
            execution_role_arn=args.execution_role_arn,
            task_role_arn=args.task_role_arn,
            # Task storage (no host path: Fargate's ephemeral storage) for the writable paths of the
            # containers' read-only root filesystems.
            volumes=[{"name": volume} for volume in volume_names(args)],
            container_definitions=pulumi.Output.json_dumps(container_definitions(args, log_group.name)),
            opts=child,
        )
        return log_group, task_definition

    def _load_balancer(
        self,
    ) -> tuple[aws.lb.LoadBalancer, aws.lb.TargetGroup, list[aws.lb.Listener], aws.lb.Listener, int]:
        """The ALB, the tasks' target group and the listeners: HTTPS (and a redirect from HTTP)
        with a certificate, plain HTTP without one; returns the one that forwards and its port."""
        name, args, settings = self._name, self._args, self._args.settings
        child = pulumi.ResourceOptions(parent=self)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=elb_name(args.name_prefix, "api"),
            load_balancer_type="application",
            internal=args.alb_internal,
            subnets=list(args.private_subnet_ids if args.alb_internal else args.public_subnet_ids),
            security_groups=[args.alb_security_group_id],
            drop_invalid_header_fields=True,
            idle_timeout=ALB_IDLE_TIMEOUT_SECONDS,
            enable_deletion_protection=settings.alb_deletion_protection,
            # ELB writes to <bucket>/alb/AWSLogs/<account>/..., the path the bucket policy allows.
            access_logs={"bucket": args.access_log_bucket, "prefix": "alb", "enabled": True},
            opts=child,
        )
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            # The port is part of the name: a new port replaces the group, and create-before-delete
            # needs a name the old group does not hold.
            name=elb_name(args.name_prefix, f"api-{settings.container_port}"),
            target_type="ip",
            protocol="HTTP",
            port=settings.container_port,
            vpc_id=args.vpc_id,
            deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
            health_check={
                "enabled": True,
                "path": settings.health_check_path,
                "protocol": "HTTP",
                "port": "traffic-port",
                "matcher": "200-399",
                "interval": 15,
                "timeout": 5,
                "healthy_threshold": 2,
                "unhealthy_threshold": 3,
            },
            opts=child,
        )
        forward = [{"type": "forward", "target_group_arn": target_group.arn}]
        if args.certificate_arn is not None:
            https = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=alb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=SSL_POLICY,
                certificate_arn=args.certificate_arn,
                default_actions=forward,
                routing_http_response_strict_transport_security_header_value="max-age=31536000; includeSubDomains",
                routing_http_response_x_content_type_options_header_value="nosniff",
                opts=child,
            )
            http = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    {
                        "type": "redirect",
                        "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"},
                    }
                ],
                opts=child,
            )
            listeners, serving, listener_port = [https, http], https, 443
        else:
            pulumi.log.warn(_http_only_warning(args.alb_internal), resource=self)
            http = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=forward,
                opts=child,
            )
            listeners, serving, listener_port = [http], http, 80
        return alb, target_group, listeners, serving, listener_port

    def _service(
        self,
        service_name: str,
        cluster: aws.ecs.Cluster,
        capacity_providers: aws.ecs.ClusterCapacityProviders,
        task_definition: aws.ecs.TaskDefinition,
        target_group: aws.lb.TargetGroup,
        listeners: list[aws.lb.Listener],
    ) -> aws.ecs.Service:
        """The Fargate service: rolling deployments with a circuit breaker, awaited by `pulumi up`."""
        name, args, settings = self._name, self._args, self._args.settings
        service = aws.ecs.Service(
            f"{name}-service",
            name=service_name,
            cluster=cluster.arn,
            task_definition=task_definition.arn,
            desired_count=settings.desired_count,
            capacity_provider_strategies=_capacity_provider_strategies(settings),
            # Changing the strategy (turning Spot on or off) is then an in-place rolling deployment
            # instead of replacing the named service, which AWS refuses while the old one exists.
            force_new_deployment=True,
            network_configuration={
                "subnets": list(args.public_subnet_ids if args.assign_public_ip else args.private_subnet_ids),
                "security_groups": [args.task_security_group_id],
                "assign_public_ip": args.assign_public_ip,
            },
            load_balancers=[
                {
                    "target_group_arn": target_group.arn,
                    "container_name": CONTAINER_NAME,
                    "container_port": settings.container_port,
                }
            ],
            health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            enable_execute_command=False,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            # A release that never becomes healthy fails `pulumi up` at the timeout. When the
            # circuit breaker rolls it back first, the service is steady again on the old task
            # definition, which the wait may accept (hashicorp/terraform-provider-aws#19519,
            # #20858); the deploy workflow's rollout check (tools/rollout.py) fails that case.
            wait_for_steady_state=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{settings.deployment_timeout_minutes}m",
                    update=f"{settings.deployment_timeout_minutes}m",
                ),
                # A target group only accepts targets once a listener uses it, and the strategy
                # needs the capacity providers attached to the cluster.
                depends_on=[*listeners, capacity_providers],
                # The autoscaler and the business-hours schedule own the task count after the
                # first deployment; applying desired_count again would undo their work.
                ignore_changes=["desiredCount"],
            ),
        )
        return service

    def _autoscaling(
        self,
        name: str,
        args: ComputeArgs,
        resource_id: pulumi.Output[str],
        alb: aws.lb.LoadBalancer,
        target_group: aws.lb.TargetGroup,
    ) -> None:
        """Target tracking on CPU (and ALB requests), plus the business-hours scheduled actions.

        The scheduled actions set min/max at every start and stop. The scalable target itself is
        given the values of the period ``now`` falls in, so each `pulumi up` agrees with the last
        action that fired instead of undoing it (scheduled scaling fights IaC state,
        terraform-aws-modules/terraform-aws-ecs#422), and a changed minCount/maxCount takes effect
        at once: on the target for the current period, in the actions for the next ones.
        """
        settings, schedule = args.settings, args.schedule
        # Scale to zero with scheduled actions: target tracking alone never reaches 0 even with a
        # floor of 0 (aws/copilot-cli#3054). In "stop" mode the night's max of 0 empties the service.
        night = (0, 0) if schedule.mode == "stop" else (schedule.off_hours_min_count, settings.max_count)
        day = (settings.min_count, settings.max_count)
        # Equal floors: a schedule would change nothing.
        now = args.now or local_now(schedule)
        hours = service_hours(schedule, now) if schedule.enabled and night != day else None
        # The values of the period the update will be in when it reaches the target: one started
        # just before a scheduled start or stop registers the target after that action fired, and
        # the earlier period's values would undo it for a whole day or night. Within the lookahead
        # of a boundary the next period's values apply a little early instead.
        in_hours = hours is None or service_hours(schedule, now + SCALING_TARGET_LOOKAHEAD).in_hours
        current = day if in_hours else night
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=resource_id,
            min_capacity=current[0],
            max_capacity=current[1],
            opts=pulumi.ResourceOptions(parent=self),
        )
        common = {
            "service_namespace": target.service_namespace,
            "scalable_dimension": target.scalable_dimension,
            "resource_id": target.resource_id,
        }
        # Application Auto Scaling rejects concurrent changes to one scalable target
        # (ConcurrentUpdateException, hashicorp/terraform-provider-aws#17915): chain them.
        previous: pulumi.Resource = target
        goals: list[tuple[str, dict]] = [
            (
                "cpu",
                {
                    "predefined_metric_specification": {
                        "predefined_metric_type": "ECSServiceAverageCPUUtilization"
                    },
                    "target_value": settings.cpu_target_percent,
                },
            )
        ]
        if settings.requests_per_target is not None:
            goals.append(
                (
                    "requests",
                    {
                        "predefined_metric_specification": {
                            "predefined_metric_type": "ALBRequestCountPerTarget",
                            "resource_label": pulumi.Output.concat(
                                alb.arn_suffix, "/", target_group.arn_suffix
                            ),
                        },
                        "target_value": settings.requests_per_target,
                    },
                )
            )
        for goal, configuration in goals:
            previous = aws.appautoscaling.Policy(
                f"{name}-scale-on-{goal}",
                name=f"{args.name_prefix}-api-{goal}",
                policy_type="TargetTrackingScaling",
                target_tracking_scaling_policy_configuration={
                    **configuration,
                    "scale_in_cooldown": SCALE_IN_COOLDOWN_SECONDS,
                    "scale_out_cooldown": SCALE_OUT_COOLDOWN_SECONDS,
                },
                **common,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )

        if hours is None:
            return
        # One start per month of the horizon, naming its open days, and one stop every evening:
        # at most horizonMonths + 1 (<= 25) of the 200 actions a scalable target may have
        # (Application Auto Scaling quotas, not adjustable).
        actions = [(f"start-{month}", cron, day) for month, cron in hours.starts.items()]
        actions.append(("stop", hours.stop, night))
        for action, cron, (min_capacity, max_capacity) in actions:
            previous = aws.appautoscaling.ScheduledAction(
                f"{name}-{action}",
                name=f"{args.name_prefix}-api-{action}",
                schedule=cron,
                timezone=hours.timezone,
                scalable_target_action={"min_capacity": min_capacity, "max_capacity": max_capacity},
                **common,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )


def _check(args: ComputeArgs) -> None:
    """Refuse combinations AWS would only reject halfway through a deployment."""
    clash = sorted(set(args.secrets) & (set(args.settings.environment) | {"NODE_ENV", "PORT"}))
    if clash:
        raise ValueError(f"{clash} are injected as secrets and must not also be plain environment variables")


def _http_only_warning(alb_internal: bool) -> str:
    if alb_internal:
        hop = "CloudFront reaches the internal ALB over plain HTTP (port 80)"
    else:
        hop = "the API is served over plain, unencrypted HTTP on the ALB's own DNS name (port 80)"
    return (
        f"{hop} because no domain is configured, so there is no certificate for HTTPS. "
        "Set platform:dns.domain to get an ACM certificate and an HTTPS listener."
    )


def _capacity_provider_strategies(settings: ComputeSettings) -> list[dict]:
    if not settings.spot:
        return [{"capacity_provider": "FARGATE", "weight": 1}]
    # The base keeps at least that many tasks on regular Fargate, so a Spot reclaim never takes
    # the whole service down; above the base, tasks are shared by weight.
    return [
        {"capacity_provider": "FARGATE", "base": settings.on_demand_base, "weight": 1},
        {"capacity_provider": "FARGATE_SPOT", "weight": settings.spot_weight},
    ]
