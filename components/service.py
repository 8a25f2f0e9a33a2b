"""One service of the cluster (``platform:services.<name>``) on ECS Fargate.

Each service owns what terraform-aws-ecs's ``for_each = var.services`` gives each entry: its task
definition, security group, execution and task roles, log group, autoscaling and business-hours
schedule and, when served, its target group and its host rule on the shared load balancer. What the
tasks may reach beyond HTTPS on the internet is added by what they reach: the database and Atlas
admit a service's group (components/database.py, components/atlas.py), as the edge admits
CloudFront's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pulumi
import pulumi_aws as aws

from components.admission import ANYWHERE_IPV4, tcp_rule
from components.cluster import Cluster
from components.containers import (
    HEALTH_CHECK_GRACE_SECONDS,
    DatadogSidecar,
    container_definitions,
    volume_names,
)
from components.load_balancer import elb_name
from components.outputs import publish
from components.schedule import local_now, service_hours
from components.settings import ScheduleSettings, ServiceSettings, rule_priority
from components.task_roles import execution_role, task_role

HTTPS_PORT = 443
# How far ahead of the clock the scalable target's period is chosen: longer than an update takes
# to reach the target (the service before it may wait for its deployment to settle).
SCALING_TARGET_LOOKAHEAD = timedelta(minutes=45)
# Seconds the ALB waits for an in-flight request of a deregistered task before ECS stops it. The
# services answer in well under a second; 30 s keeps deployments and scale-in quick.
DEREGISTRATION_DELAY_SECONDS = 30
# Scale out fast on load, scale in slowly so a short lull does not drop capacity that is needed again.
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300


@dataclass(frozen=True)
class Routing:
    """How a served service is reached through the shared load balancer."""

    listener_arn: pulumi.Input[str]
    """The listener the service's rule attaches to."""
    load_balancer_arn_suffix: pulumi.Input[str]
    """The ALB's ARN suffix (request-count scaling's resource label)."""
    load_balancer_security_group_id: pulumi.Input[str]
    """The ALB's group: it gets the egress to this service's port, the service the ingress."""
    host: str | None
    """The host name the rule matches; None (a stack without a domain): every request."""


@dataclass(frozen=True)
class Egress:
    """A way out of the tasks beyond HTTPS, to addresses no security group of the stack guards."""

    port: int
    cidr: str
    description: str


@dataclass(frozen=True)
class ServiceArgs:
    """Inputs of :class:`Service`."""

    service: str
    """The service's name (``api``, ``web``): its container's name and ``DD_SERVICE``."""
    settings: ServiceSettings
    """Its ``platform:services.<name>`` entry."""
    schedule: ScheduleSettings
    """Business hours: ``stop`` scales to zero at night, ``scale-down`` lowers the floor; only when
    the entry's ``schedule`` is on."""
    deployment_timeout_minutes: int
    """How long `pulumi up` waits for a deployment to settle."""
    name_prefix: str
    """Physical-name prefix of the stack, e.g. ``platform-staging``."""
    region: str
    """Region of the stack (for the awslogs driver and the ARNs the roles are scoped to)."""
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the tasks (private, or public when ``assign_public_ip``)."""
    assign_public_ip: bool
    """True only without NAT: tasks then run in the public subnets with their own public IPs."""
    cluster: Cluster
    """The cluster the service runs on."""
    image: pulumi.Input[str]
    """Image of the application container."""
    repository_arn: pulumi.Input[str] | None
    """The service's ECR repository, the only one its execution role may pull from; None for an
    image from another registry."""
    log_group_name: str
    """CloudWatch log group of the task, e.g. ``/platform/staging/api``."""
    kms_key_arn: pulumi.Input[str]
    """The stack's KMS key: encrypts the log group, decrypts the secret parameters."""
    secrets: Mapping[str, pulumi.Input[str]]
    """Env var name -> SSM parameter ARN, injected by ECS at start (never as plain environment);
    the execution role may read exactly these (and the Datadog key's)."""
    egress: Sequence[Egress] = ()
    """Further ways out (e.g. the pre-commercial databases during the cut-over's canary); the
    stack's own data stores add theirs when they admit the service."""
    routing: Routing | None = None
    """The load balancer's rule for the service; None: not served (a worker)."""
    datadog: DatadogSidecar | None = None
    """Run the Datadog Agent next to the application; None: no agent."""
    image_tag_moves: bool = False
    """True when ``image`` is a tag that can be pushed again: every task then pulls the tag as it
    starts."""
    now: datetime | None = None
    """Local time in the schedule's zone the business hours are generated for; None: the clock."""


class Service(pulumi.ComponentResource):
    """A Fargate service with its own group, roles, logs, scaling and, when served, its route."""

    service_name: pulumi.Output[str]
    """The ECS service's name, ``<prefix>-<service>``."""
    security_group_id: pulumi.Output[str]
    """The tasks' group: what the service may reach is added to it by what it reaches."""
    task_definition_arn: pulumi.Output[str]
    """The current task definition revision (what a finished deployment runs)."""
    log_group_name: pulumi.Output[str]
    """The task log group."""
    execution_role_name: pulumi.Output[str]
    """The ECS agent's role for this service."""
    task_role_arn: pulumi.Output[str]
    """The application's role (no permissions)."""
    target_group_arn_suffix: pulumi.Output[str] | None
    """The target group's ARN suffix (its metrics' ``TargetGroup`` dimension); None unless served."""
    scalable_target_resource_id: pulumi.Output[str]
    """``service/<cluster>/<service>`` (Application Auto Scaling)."""

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None):
        _check(args)
        super().__init__("platform:service:Service", name, None, opts)
        self._name, self._args = name, args
        service_name = f"{args.name_prefix}-{args.service}"
        security_group = self._security_group()
        log_group = self._log_group()
        execution, application = self._roles()
        task_definition = self._task_definition(service_name, log_group, execution, application)
        target_group, rule = self._route(security_group) if args.routing else (None, None)
        service = self._service(service_name, task_definition, security_group, target_group, rule)
        resource_id = pulumi.Output.concat("service/", args.cluster.cluster_name, "/", service.name)
        self._autoscaling(resource_id, target_group)

        publish(
            self,
            service_name=service.name,
            security_group_id=security_group.id,
            task_definition_arn=task_definition.arn,
            log_group_name=log_group.name,
            execution_role_name=execution.name,
            task_role_arn=application.arn,
            target_group_arn_suffix=target_group.arn_suffix if target_group else None,
            scalable_target_resource_id=resource_id,
        )

    def _security_group(self) -> aws.ec2.SecurityGroup:
        """The tasks' group, with HTTPS to the internet (AWS APIs, Sentry, Datadog) and ``egress``
        as its ways out; no inline rules, every rule is its own resource."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name_prefix=f"{args.name_prefix}-{args.service}-",
            description=f"{args.service} tasks on ECS Fargate",
            vpc_id=args.vpc_id,
            region=args.region,
            tags={"Name": f"{args.name_prefix}-{args.service}"},
            opts=child,
        )
        ways_out = [Egress(HTTPS_PORT, ANYWHERE_IPV4, "AWS APIs, Sentry, Datadog"), *args.egress]
        for way in ways_out:
            tcp_rule(
                f"{name}-out-{way.port}",
                direction="out",
                group_id=group.id,
                ports=(way.port, way.port),
                cidr=way.cidr,
                description=way.description,
                region=args.region,
                parent=self,
            )
        return group

    def _log_group(self) -> aws.cloudwatch.LogGroup:
        args = self._args
        return aws.cloudwatch.LogGroup(
            f"{self._name}-logs",
            name=args.log_group_name,
            retention_in_days=args.settings.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _roles(self) -> tuple[aws.iam.Role, aws.iam.Role]:
        """The execution role (this image, this log group, these secrets) and the app's role."""
        name, args = self._name, self._args
        parameters = list(args.secrets.values())
        if args.datadog is not None:
            parameters.append(args.datadog.api_key_parameter_arn)
        execution = execution_role(
            f"{name}-execution-role",
            role_name=f"{args.name_prefix}-{args.service}-execution",
            description=f"ECS agent of {args.service}: pull its image, write its logs, read its secrets",
            region=args.region,
            repository_arn=args.repository_arn,
            log_group_name=args.log_group_name,
            parameter_arns=parameters,
            kms_key_arn=args.kms_key_arn,
            parent=self,
        )
        application = task_role(
            f"{name}-task-role",
            role_name=f"{args.name_prefix}-{args.service}-task",
            description=f"The {args.service} application (no AWS permissions)",
            region=args.region,
            parent=self,
        )
        return execution, application

    def _task_definition(
        self,
        family: str,
        log_group: aws.cloudwatch.LogGroup,
        execution: aws.iam.Role,
        application: aws.iam.Role,
    ) -> aws.ecs.TaskDefinition:
        """The task: the application (and the Datadog Agent when on), sized by the entry."""
        args, settings = self._args, self._args.settings
        return aws.ecs.TaskDefinition(
            f"{self._name}-task",
            family=family,
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            cpu=str(settings.cpu),
            memory=str(settings.memory),
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": settings.architecture},
            execution_role_arn=execution.arn,
            task_role_arn=application.arn,
            # Task storage (no host path: Fargate's ephemeral storage) for the writable paths of the
            # containers' read-only root filesystems.
            volumes=[{"name": volume} for volume in volume_names(args)],
            container_definitions=pulumi.Output.json_dumps(container_definitions(args, log_group.name)),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _route(self, security_group: aws.ec2.SecurityGroup) -> tuple[aws.lb.TargetGroup, aws.lb.ListenerRule]:
        """The target group, the listener rule for the service's host, and the two rules that let
        the load balancer reach the tasks' port."""
        name, args, settings = self._name, self._args, self._args.settings
        routing = args.routing
        assert routing is not None
        child = pulumi.ResourceOptions(parent=self)
        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            # The port is part of the name: a new port replaces the group, and create-before-delete
            # needs a name the old group does not hold.
            name=elb_name(args.name_prefix, f"{args.service}-{settings.port}"),
            target_type="ip",
            protocol="HTTP",
            port=settings.port,
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
        # Without a domain the one served service takes every path of the ALB's own name.
        condition = (
            {"host_header": {"values": [routing.host]}}
            if routing.host is not None
            else {"path_pattern": {"values": ["/*"]}}
        )
        rule = aws.lb.ListenerRule(
            f"{name}-rule",
            listener_arn=routing.listener_arn,
            priority=rule_priority(args.service),
            conditions=[condition],
            actions=[{"type": "forward", "target_group_arn": target_group.arn}],
            opts=child,
        )
        # The load balancer reaches the tasks' port, and only the load balancer does.
        port = (settings.port, settings.port)
        tcp_rule(
            f"{name}-in-alb",
            direction="in",
            group_id=security_group.id,
            peer_group_id=routing.load_balancer_security_group_id,
            ports=port,
            description="Requests from the ALB",
            region=args.region,
            parent=self,
        )
        tcp_rule(
            f"{name}-alb-out",
            direction="out",
            group_id=routing.load_balancer_security_group_id,
            peer_group_id=security_group.id,
            ports=port,
            description=f"Requests and health checks to {args.service}",
            region=args.region,
            parent=self,
        )
        return target_group, rule

    def _service(
        self,
        service_name: str,
        task_definition: aws.ecs.TaskDefinition,
        security_group: aws.ec2.SecurityGroup,
        target_group: aws.lb.TargetGroup | None,
        rule: aws.lb.ListenerRule | None,
    ) -> aws.ecs.Service:
        """The Fargate service: rolling deployments with a circuit breaker, awaited by `pulumi up`."""
        args, settings = self._args, self._args.settings
        timeout = f"{args.deployment_timeout_minutes}m"
        # A target group only accepts targets once a listener rule uses it, and the strategy needs
        # the capacity providers attached to the cluster.
        depends_on: list[pulumi.Resource] = [args.cluster.capacity_providers]
        if rule is not None:
            depends_on.append(rule)
        return aws.ecs.Service(
            f"{self._name}-service",
            name=service_name,
            cluster=args.cluster.cluster_arn,
            task_definition=task_definition.arn,
            desired_count=settings.desired_count,
            capacity_provider_strategies=_capacity_provider_strategies(settings),
            # Changing the strategy (turning Spot on or off) is then an in-place rolling deployment
            # instead of replacing the named service, which AWS refuses while the old one exists.
            force_new_deployment=True,
            network_configuration={
                "subnets": list(args.subnet_ids),
                "security_groups": [security_group.id],
                "assign_public_ip": args.assign_public_ip,
            },
            load_balancers=[
                {
                    "target_group_arn": target_group.arn,
                    "container_name": args.service,
                    "container_port": settings.port,
                }
            ]
            if target_group is not None
            else None,
            health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS
            if target_group is not None
            else None,
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
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout),
                depends_on=depends_on,
                # The autoscaler and the business-hours schedule own the task count after the
                # first deployment; applying desired_count again would undo their work.
                ignore_changes=["desiredCount"],
            ),
        )

    def _autoscaling(self, resource_id: pulumi.Output[str], target_group: aws.lb.TargetGroup | None) -> None:
        """Target tracking on CPU (and ALB requests), plus the business-hours scheduled actions.

        The scheduled actions set min/max at every start and stop. The scalable target itself is
        given the values of the period ``now`` falls in, so each `pulumi up` agrees with the last
        action that fired instead of undoing it (scheduled scaling fights IaC state,
        terraform-aws-modules/terraform-aws-ecs#422), and a changed minCount/maxCount takes effect
        at once: on the target for the current period, in the actions for the next ones.
        """
        name, args = self._name, self._args
        settings, schedule = args.settings, args.schedule
        prefix = f"{args.name_prefix}-{args.service}"
        # Scale to zero with scheduled actions: target tracking alone never reaches 0 even with a
        # floor of 0 (aws/copilot-cli#3054). In "stop" mode the night's max of 0 empties the service.
        night = (0, 0) if schedule.mode == "stop" else (schedule.off_hours_min_count, settings.max_count)
        day = (settings.min_count, settings.max_count)
        # Equal floors: a schedule would change nothing.
        now = args.now or local_now(schedule)
        follows = schedule.enabled and settings.schedule and night != day
        hours = service_hours(schedule, now) if follows else None
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
        if settings.requests_per_target is not None and target_group is not None and args.routing:
            goals.append(
                (
                    "requests",
                    {
                        "predefined_metric_specification": {
                            "predefined_metric_type": "ALBRequestCountPerTarget",
                            "resource_label": pulumi.Output.concat(
                                args.routing.load_balancer_arn_suffix, "/", target_group.arn_suffix
                            ),
                        },
                        "target_value": settings.requests_per_target,
                    },
                )
            )
        for goal, configuration in goals:
            previous = aws.appautoscaling.Policy(
                f"{name}-scale-on-{goal}",
                name=f"{prefix}-{goal}",
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
                name=f"{prefix}-{action}",
                schedule=cron,
                timezone=hours.timezone,
                scalable_target_action={"min_capacity": min_capacity, "max_capacity": max_capacity},
                **common,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )


def _check(args: ServiceArgs) -> None:
    """Refuse combinations AWS would only reject halfway through a deployment (programmer errors:
    the settings refuse what a user could set)."""
    clash = sorted(set(args.secrets) & (set(args.settings.environment) | {"NODE_ENV", "PORT"}))
    if clash:
        raise ValueError(f"{clash} are injected as secrets and must not also be plain environment variables")
    ports = [HTTPS_PORT, *(way.port for way in args.egress)]
    if len(set(ports)) != len(ports):
        # EC2 refuses a second rule with the same protocol, port and peer.
        raise ValueError(f"egress ports {ports} repeat a port already open to the internet")


def _capacity_provider_strategies(settings: ServiceSettings) -> list[dict]:
    if not settings.spot:
        return [{"capacity_provider": "FARGATE", "weight": 1}]
    # The base keeps at least that many tasks on regular Fargate, so a Spot reclaim never takes
    # the whole service down; above the base, tasks are shared by weight.
    return [
        {"capacity_provider": "FARGATE", "base": settings.on_demand_base, "weight": 1},
        {"capacity_provider": "FARGATE_SPOT", "weight": settings.spot_weight},
    ]
