"""The ALB -> tasks -> database security-group chain and the ECS roles."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish
from components.settings import SecuritySettings, in_rfc1918

ANYWHERE_IPV4 = "0.0.0.0/0"
HTTPS_PORT = 443
HTTP_PORT = 80
ATLAS_PORT = 27017


@dataclass(frozen=True)
class SecurityArgs:
    settings: SecuritySettings
    """The ``platform:security`` section (key deletion window)."""
    name_prefix: str
    """Physical-name prefix of the stack, e.g. ``platform-staging``."""
    parameter_prefix: str
    """SSM path of this stack's secrets, e.g. ``/platform/staging``; the execution role may read
    exactly the parameters below it."""
    region: str
    """Region of the key, the security groups and the ARNs the policies are scoped to."""
    vpc_id: pulumi.Input[str]
    """VPC the security groups belong to."""
    vpc_cidr: str
    """The VPC's CIDR block. No rule uses it: every rule names a security group or the internet."""
    container_port: int
    """Port the API container listens on (ALB -> tasks)."""
    ecr_repository_arn: pulumi.Input[str]
    """The only repository the execution role may pull from."""
    log_group_name: str
    """The only log group the execution role may write to, e.g. ``/platform/staging/api``."""
    alb_public: bool
    """True: the ALB SG admits HTTP/HTTPS from the internet. False: the ALB is internal behind a
    CloudFront VPC origin and the Edge component adds the only ingress rule itself."""
    kms_key_arn: pulumi.Input[str]
    """The stack's key (components/kms.py): the only key the execution role may decrypt with."""
    database_port: int = 5432
    """PostgreSQL port (tasks -> database)."""
    atlas_over_internet: bool = True
    """The tasks reach MongoDB Atlas' public endpoints on 27017 (an IP access list guards them);
    False when Atlas is reached only privately (PrivateLink, peering), or not at all."""
    atlas_cidr: str | None = None
    """Atlas' block when the VPC is peered with it (``platform:atlas.peeringCidr``): the tasks
    reach 27017 there, and only there unless ``atlas_over_internet``. None: no peering."""
    legacy_database_port: int | None = None
    """While the cut-over runs on the pre-commercial data (``platform:cutover.dataSource: legacy``):
    the port of its PostgreSQL (Supabase's pooler), which the tasks may then reach anywhere on the
    internet, since the pooler has no fixed addresses. None: no such rule."""


class Security(pulumi.ComponentResource):
    """The stack's security groups and ECS IAM roles.

    The groups chain ALB -> tasks (container port) -> database (database port), by SG reference
    only. The tasks also reach the internet on 443, Atlas' 27017 on the internet or in the peered
    ``atlas_cidr``, and ``legacy_database_port`` while the cut-over uses the pre-commercial data.
    """

    alb_security_group_id: pulumi.Output[str]
    """The load balancer's group."""
    task_security_group_id: pulumi.Output[str]
    """The API tasks' group."""
    database_security_group_id: pulumi.Output[str]
    """The database's group."""
    execution_role_arn: pulumi.Output[str]
    """Role the ECS agent uses to pull the image, write the log group and read the stack's
    secrets."""
    execution_role_name: pulumi.Output[str]
    """Its name."""
    task_role_arn: pulumi.Output[str]
    """Role the application runs as (no permissions)."""
    task_role_name: pulumi.Output[str]
    """Its name."""

    def __init__(self, name: str, args: SecurityArgs, opts: pulumi.ResourceOptions | None = None):
        _check(args)
        super().__init__("platform:security:Security", name, None, opts)
        self._name, self._args = name, args
        alb_sg, task_sg, database_sg = self._security_groups()
        self._rules(alb_sg, task_sg, database_sg)
        execution_role, task_role = self._roles()

        publish(
            self,
            alb_security_group_id=alb_sg.id,
            task_security_group_id=task_sg.id,
            database_security_group_id=database_sg.id,
            execution_role_arn=execution_role.arn,
            execution_role_name=execution_role.name,
            task_role_arn=task_role.arn,
            task_role_name=task_role.name,
        )

    def _security_groups(self) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """The ALB's, the tasks' and the database's groups, with no inline rules: every rule is
        its own resource."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        region = args.region

        def security_group(suffix: str, description: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                f"{name}-{suffix}",
                name_prefix=f"{args.name_prefix}-{suffix}-",
                description=description,
                vpc_id=args.vpc_id,
                region=region,
                tags={"Name": f"{args.name_prefix}-{suffix}"},
                opts=child,
            )

        alb_sg = security_group("alb", "Application Load Balancer")
        task_sg = security_group("tasks", "API tasks on ECS Fargate")
        database_sg = security_group("database", "PostgreSQL, reachable only from the API tasks")

        return alb_sg, task_sg, database_sg

    def _rules(
        self,
        alb_sg: aws.ec2.SecurityGroup,
        task_sg: aws.ec2.SecurityGroup,
        database_sg: aws.ec2.SecurityGroup,
    ) -> None:
        """ALB -> tasks (container port) -> database (database port), by group reference; the
        tasks' ways out to the internet, Atlas and, during the canary, the legacy database."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        region = args.region

        def rule(
            kind: type[aws.vpc.SecurityGroupIngressRule] | type[aws.vpc.SecurityGroupEgressRule],
            suffix: str,
            group: aws.ec2.SecurityGroup,
            port: int,
            peer: aws.ec2.SecurityGroup | str,
            description: str,
        ) -> None:
            """A TCP rule whose peer is another security group or an IPv4 CIDR block."""
            kind(
                f"{name}-{suffix}",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=None if isinstance(peer, str) else peer.id,
                cidr_ipv4=peer if isinstance(peer, str) else None,
                description=description,
                region=region,
                opts=child,
            )

        ingress, egress = aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule
        if args.alb_public:
            rule(ingress, "alb-in-http", alb_sg, HTTP_PORT, ANYWHERE_IPV4, "HTTP from the internet")
            rule(ingress, "alb-in-https", alb_sg, HTTPS_PORT, ANYWHERE_IPV4, "HTTPS from the internet")
        rule(egress, "alb-out-tasks", alb_sg, args.container_port, task_sg, "Requests, health checks")

        rule(ingress, "tasks-in-alb", task_sg, args.container_port, alb_sg, "Requests from the ALB")
        rule(egress, "tasks-out-https", task_sg, HTTPS_PORT, ANYWHERE_IPV4, "AWS APIs, Sentry, Datadog")
        rule(egress, "tasks-out-database", task_sg, args.database_port, database_sg, "PostgreSQL")
        if args.atlas_over_internet:
            rule(egress, "tasks-out-atlas", task_sg, ATLAS_PORT, ANYWHERE_IPV4, "MongoDB Atlas")
        if args.atlas_cidr is not None:
            rule(
                egress,
                "tasks-out-atlas-peering",
                task_sg,
                ATLAS_PORT,
                args.atlas_cidr,
                "MongoDB Atlas, peered",
            )
        if args.legacy_database_port is not None:
            rule(
                egress,
                "tasks-out-legacy-database",
                task_sg,
                args.legacy_database_port,
                ANYWHERE_IPV4,
                "Cut-over only: pre-commercial PostgreSQL (Supabase pooler)",
            )

        # The database only answers; security groups are stateful, so it needs no egress rule.
        rule(ingress, "database-in-tasks", database_sg, args.database_port, task_sg, "PostgreSQL from tasks")

    def _roles(self) -> tuple[aws.iam.Role, aws.iam.Role]:
        """The execution role (image, logs, secrets) and the application's role (no permissions)."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        region = args.region
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        def ecs_trust(extra_conditions: dict[str, object]) -> pulumi.Output[str]:
            return pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            # Confused-deputy protection: only ECS acting for this account.
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": account_id},
                                **extra_conditions,
                            },
                        }
                    ],
                }
            )

        execution_role = aws.iam.Role(
            f"{name}-execution-role",
            name=f"{args.name_prefix}-ecs-execution",
            description="ECS agent: pull the API image, write its logs, read the stack's secrets",
            assume_role_policy=ecs_trust({}),
            opts=child,
        )
        parameters_arn = pulumi.Output.concat(
            "arn:aws:ssm:", region, ":", account_id, ":parameter", args.parameter_prefix, "/*"
        )
        log_streams_arn = pulumi.Output.concat(
            "arn:aws:logs:", region, ":", account_id, ":log-group:", args.log_group_name, ":*"
        )
        aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=execution_role.name,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            # GetAuthorizationToken has no resource type; it only issues a
                            # registry login, every pull is checked against the statement below.
                            "Sid": "EcrLogin",
                            "Effect": "Allow",
                            "Action": "ecr:GetAuthorizationToken",
                            "Resource": "*",
                        },
                        {
                            "Sid": "PullTheApiImage",
                            "Effect": "Allow",
                            "Action": [
                                "ecr:BatchCheckLayerAvailability",
                                "ecr:GetDownloadUrlForLayer",
                                "ecr:BatchGetImage",
                            ],
                            "Resource": args.ecr_repository_arn,
                        },
                        {
                            "Sid": "WriteTheApiLogGroup",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": log_streams_arn,
                        },
                        {
                            "Sid": "ReadTheStacksSecrets",
                            "Effect": "Allow",
                            "Action": "ssm:GetParameters",
                            "Resource": parameters_arn,
                        },
                        {
                            # SecureString values are decrypted by SSM on the role's behalf.
                            "Sid": "DecryptTheStacksSecrets",
                            "Effect": "Allow",
                            "Action": "kms:Decrypt",
                            "Resource": args.kms_key_arn,
                            "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}},
                        },
                    ],
                }
            ),
            opts=child,
        )

        # The application calls no AWS API, so its role has no policy at all (Datadog included).
        task_role = aws.iam.Role(
            f"{name}-task-role",
            name=f"{args.name_prefix}-ecs-task",
            description="The API application (no AWS permissions)",
            assume_role_policy=ecs_trust(
                {
                    "ArnLike": {
                        "aws:SourceArn": pulumi.Output.concat("arn:aws:ecs:", region, ":", account_id, ":*")
                    }
                }
            ),
            opts=child,
        )

        return execution_role, task_role


def _check(args: SecurityArgs) -> None:
    """Refuse rules AWS would reject halfway through an update (programmer errors: the settings
    refuse what a user could set)."""
    if args.legacy_database_port in (HTTPS_PORT, ATLAS_PORT):
        # EC2 refuses a second rule with the same protocol, port and peer.
        raise ValueError(f"legacy_database_port {args.legacy_database_port} is already open to the internet")
    if args.atlas_cidr is not None and not in_rfc1918(args.atlas_cidr):
        raise ValueError(f"atlas_cidr {args.atlas_cidr} is not private: a peered Atlas is in RFC 1918 space")
