"""The two IAM roles of an ECS task, scoped to what that one task needs.

The execution role is the ECS agent's: it pulls the task's image from its own repository, writes
its own log group and reads exactly the SSM parameters the task receives. The task role is the
application's own and holds no permission: the services call no AWS API. Each service and the
database admin task get their own pair (components/service.py, components/migrations.py), so no
task can read another's secrets.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws


def _ecs_trust(account_id: pulumi.Input[str], extra_conditions: dict[str, object]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    # Confused-deputy protection: only ECS acting for this account.
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}, **extra_conditions},
                }
            ],
        }
    )


def execution_role(
    name: str,
    *,
    role_name: str,
    description: str,
    region: str,
    repository_arn: pulumi.Input[str] | None,
    log_group_name: pulumi.Input[str],
    parameter_arns: Sequence[pulumi.Input[str]],
    kms_key_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """The ECS agent's role for one task: pull from ``repository_arn`` (None: an image from another
    registry, pulled without AWS credentials), write ``log_group_name``, read ``parameter_arns``."""
    child = pulumi.ResourceOptions(parent=parent)
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id
    role = aws.iam.Role(
        name,
        name=role_name,
        description=description,
        assume_role_policy=_ecs_trust(account_id, {}),
        opts=child,
    )
    statements: list[dict] = []
    if repository_arn is not None:
        statements += [
            {
                # GetAuthorizationToken has no resource type; it only issues a registry login,
                # every pull is checked against the statement below.
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "PullTheImage",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                "Resource": repository_arn,
            },
        ]
    statements.append(
        {
            "Sid": "WriteTheLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": pulumi.Output.concat(
                "arn:aws:logs:", region, ":", account_id, ":log-group:", log_group_name, ":*"
            ),
        }
    )
    if parameter_arns:
        statements += [
            {
                "Sid": "ReadTheTasksSecrets",
                "Effect": "Allow",
                "Action": "ssm:GetParameters",
                "Resource": list(parameter_arns),
            },
            {
                # SecureString values are decrypted by SSM on the role's behalf.
                "Sid": "DecryptTheTasksSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}},
            },
        ]
    aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.name,
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
        opts=child,
    )
    return role


def task_role(
    name: str, *, role_name: str, description: str, region: str, parent: pulumi.Resource
) -> aws.iam.Role:
    """The application's role: assumable by ECS tasks of this account only, with no policy."""
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id
    return aws.iam.Role(
        name,
        name=role_name,
        description=description,
        assume_role_policy=_ecs_trust(
            account_id,
            {
                "ArnLike": {
                    "aws:SourceArn": pulumi.Output.concat("arn:aws:ecs:", region, ":", account_id, ":*")
                }
            },
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
