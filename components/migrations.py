"""The one-off database admin task: the only holder of the master URL.

Pulumi cannot create a role in the database: the database is private, and the deployer (a CI
runner) has no network path to it. So the program registers an ECS task definition that runs
inside the VPC with the master URL, and an operator starts it with ``aws ecs run-task`` after the
`pulumi up` that creates or changes it (docs/database.md). Run as it is, it bootstraps the API's
role (components/database.py, bootstrap_sql); with a command override it runs the API's schema
migrations as the master user. The API's own task gets only the app role's URL.

The task runs the API image with ``node`` as its entry point: the image already holds
node-postgres and the CA files the URL names (components/postgres_tls.py), so the admin task
connects exactly as the API does, and a bootstrap that succeeds also proves the TLS contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish
from components.task_roles import execution_role, task_role

CONTAINER_NAME = "db-admin"
# A node one-liner small enough for the container command. It checks the verifier's shape,
# then runs the role SQL and sets the password in one transaction; any error rolls back and
# exits non-zero, so the task's exit code is the result.
BOOTSTRAP_SCRIPT = """\
const { Client } = require("pg");
const role = process.env.APP_DB_ROLE;
const verifier = process.env.APP_DB_PASSWORD_VERIFIER || "";
if (!/^SCRAM-SHA-256\\$[0-9]+:[A-Za-z0-9+\\/=]+\\$[A-Za-z0-9+\\/=]+:[A-Za-z0-9+\\/=]+$/.test(verifier)) {
  console.error("APP_DB_PASSWORD_VERIFIER is not a SCRAM-SHA-256 verifier");
  process.exit(2);
}
const client = new Client({ connectionString: process.env.DATABASE_URL });
(async () => {
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query(process.env.DATABASE_BOOTSTRAP_SQL);
    await client.query(`ALTER ROLE ${client.escapeIdentifier(role)} PASSWORD ${client.escapeLiteral(verifier)}`);
    await client.query("COMMIT");
  } finally {
    await client.end();
  }
  console.log(`role ${role}: login with DML on the application schema`);
})().catch((error) => {
  console.error(`bootstrap failed: ${error.message}`);
  process.exit(1);
});
"""
# Fargate's smallest size: one short-lived node process.
CPU, MEMORY = "256", "512"


@dataclass(frozen=True)
class DatabaseAdminTaskArgs:
    name_prefix: str
    """Physical-name prefix, e.g. ``platform-staging``."""
    region: str
    """Region of the stack (for the awslogs driver)."""
    image: pulumi.Input[str]
    """The API image (it holds node, node-postgres and the CA files)."""
    architecture: str
    """``X86_64`` or ``ARM64``, as the API's task (the image is built for it)."""
    repository_arn: pulumi.Input[str] | None
    """The API's ECR repository, the only one the task's execution role may pull from; None for
    an image from another registry."""
    kms_key_arn: pulumi.Input[str]
    """The stack's key, which encrypts the two parameters."""
    log_group_name: pulumi.Input[str]
    """The API's log group; the task writes under the ``db-admin`` stream prefix."""
    master_url_parameter_arn: pulumi.Input[str]
    """SSM parameter of the master URL, injected as ``DATABASE_URL``."""
    app_password_verifier_parameter_arn: pulumi.Input[str]
    """SSM parameter of the app role's SCRAM verifier."""
    app_role: str
    """The API's role name."""
    bootstrap_sql: str
    """The role SQL (no secret in it: the password is set from the verifier)."""
    cluster_name: pulumi.Input[str]
    """Cluster the task is started in (for the exported command)."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets of the API's tasks."""
    security_group_id: pulumi.Input[str]
    """The API tasks' security group, which the database admits."""
    assign_public_ip: bool
    """As the API's tasks (True only without NAT)."""


class DatabaseAdminTask(pulumi.ComponentResource):
    """A one-off ECS task definition holding the master URL, for role bootstrap and migrations.

    It has its own execution role, the only one that may read the master URL and the verifier:
    the API's role reads the app role's URL alone (components/task_roles.py)."""

    family: str
    """The task definition family, ``<prefix>-db-admin``."""
    task_definition_arn: pulumi.Output[str]
    """Its current revision."""
    run_task_command: pulumi.Output[str]
    """The exact ``aws ecs run-task`` command that bootstraps the role."""

    def __init__(self, name: str, args: DatabaseAdminTaskArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:migrations:DatabaseAdminTask", name, None, opts)
        family = f"{args.name_prefix}-db-admin"
        container = {
            "name": CONTAINER_NAME,
            "image": args.image,
            "essential": True,
            # The image's own entry point starts the API; run-task may override the command
            # (for migrations), never the entry point, so node is the fixed entry point.
            "entryPoint": ["node"],
            "command": ["-e", BOOTSTRAP_SCRIPT],
            "readonlyRootFilesystem": True,
            "environment": [
                {"name": "APP_DB_ROLE", "value": args.app_role},
                {"name": "DATABASE_BOOTSTRAP_SQL", "value": args.bootstrap_sql},
                {"name": "NODE_ENV", "value": "production"},
            ],
            # Resolved from SSM when the task starts; the values never enter the definition.
            "secrets": [
                {"name": "APP_DB_PASSWORD_VERIFIER", "valueFrom": args.app_password_verifier_parameter_arn},
                {"name": "DATABASE_URL", "valueFrom": args.master_url_parameter_arn},
            ],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": args.log_group_name,
                    "awslogs-region": args.region,
                    "awslogs-stream-prefix": CONTAINER_NAME,
                },
            },
        }
        execution = execution_role(
            f"{name}-execution-role",
            role_name=f"{family}-execution",
            description="ECS agent of the database admin task: the API image, its logs, the master URL",
            region=args.region,
            repository_arn=args.repository_arn,
            log_group_name=args.log_group_name,
            parameter_arns=[args.master_url_parameter_arn, args.app_password_verifier_parameter_arn],
            kms_key_arn=args.kms_key_arn,
            parent=self,
        )
        application = task_role(
            f"{name}-task-role",
            role_name=f"{family}-task",
            description="The database admin task (no AWS permissions)",
            region=args.region,
            parent=self,
        )
        task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=family,
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            cpu=CPU,
            memory=MEMORY,
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": args.architecture},
            execution_role_arn=execution.arn,
            task_role_arn=application.arn,
            container_definitions=pulumi.Output.json_dumps([container]),
            opts=pulumi.ResourceOptions(parent=self),
        )
        run_task_command = pulumi.Output.all(
            args.cluster_name, args.security_group_id, *args.subnet_ids
        ).apply(
            lambda values: (
                f"aws ecs run-task --region {args.region} --cluster {values[0]} "
                f"--task-definition {family} --launch-type FARGATE --count 1 "
                "--network-configuration 'awsvpcConfiguration={subnets=["
                f"{','.join(values[2:])}],securityGroups=[{values[1]}],"
                f"assignPublicIp={'ENABLED' if args.assign_public_ip else 'DISABLED'}}}'"
            )
        )
        publish(
            self, family=family, task_definition_arn=task_definition.arn, run_task_command=run_task_command
        )
