"""Admitting clients by security group: a data store's way in, and each client's way out to it.

The data components own these rules (components/database.py, components/atlas.py) the way the
edge owns the ALB's ingress from CloudFront: a service reaches a data store only when it is one of
the store's clients, and nothing else in the stack needs to know which services those are.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def admit_clients(
    name: str,
    *,
    group_id: pulumi.Input[str],
    clients: Mapping[str, pulumi.Input[str]],
    port: int,
    what: str,
    region: str | None,
    parent: pulumi.Resource,
) -> None:
    """For each client (name -> its security group): ingress to ``group_id`` on ``port`` from the
    client's group, and the client's egress to ``group_id`` on that port. Security groups are
    stateful, so the data store needs no egress rule for its answers."""
    child = pulumi.ResourceOptions(parent=parent)
    for client, client_group_id in clients.items():
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-in-{client}",
            security_group_id=group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=client_group_id,
            description=f"{what} from {client}",
            region=region,
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-out-{client}",
            security_group_id=client_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=group_id,
            description=what,
            region=region,
            opts=child,
        )


def allow_egress(
    name: str,
    *,
    clients: Mapping[str, pulumi.Input[str]],
    port: int,
    cidr: str,
    what: str,
    region: str | None,
    parent: pulumi.Resource,
) -> None:
    """Each client's egress on ``port`` to ``cidr``: a data store outside the VPC (Atlas over the
    internet or its peered block), which no security group of this stack guards."""
    for client, client_group_id in clients.items():
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-out-{client}",
            security_group_id=client_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr,
            description=what,
            region=region,
            opts=pulumi.ResourceOptions(parent=parent),
        )
