"""Security-group rules, and admitting clients by security group.

Every rule of the stack is its own resource (no inline rules) and names one peer: another group or
a CIDR block. The data components own the rules of their clients (components/database.py,
components/atlas.py) the way the edge owns the ALB's ingress from CloudFront: a service reaches a
data store only when it is one of the store's clients, and nothing else in the stack needs to know
which services those are.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

ANYWHERE_IPV4 = "0.0.0.0/0"
"""Every IPv4 address: the peer of a rule to the internet (AWS APIs, a data store with no fixed
addresses)."""


def tcp_rule(
    name: str,
    *,
    direction: str,
    group_id: pulumi.Input[str],
    ports: tuple[int, int],
    description: str,
    region: pulumi.Input[str] | None,
    parent: pulumi.Resource,
    peer_group_id: pulumi.Input[str] | None = None,
    cidr: str | None = None,
) -> None:
    """One TCP rule of ``group_id`` (``direction`` ``in`` or ``out``) for ``ports`` (first, last),
    whose peer is another security group or an IPv4 block."""
    kind = aws.vpc.SecurityGroupIngressRule if direction == "in" else aws.vpc.SecurityGroupEgressRule
    kind(
        name,
        security_group_id=group_id,
        ip_protocol="tcp",
        from_port=ports[0],
        to_port=ports[1],
        referenced_security_group_id=peer_group_id,
        cidr_ipv4=cidr,
        description=description,
        region=region,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def admit_clients(
    name: str,
    *,
    group_id: pulumi.Input[str],
    clients: Mapping[str, pulumi.Input[str]],
    ports: tuple[int, int],
    what: str,
    region: pulumi.Input[str] | None,
    parent: pulumi.Resource,
) -> None:
    """For each client (name -> its security group): ingress to ``group_id`` on ``ports`` from the
    client's group, and the client's egress to ``group_id`` on them. Security groups are stateful,
    so the data store needs no egress rule for its answers."""
    for client, client_group_id in clients.items():
        common = {"ports": ports, "region": region, "parent": parent}
        tcp_rule(
            f"{name}-in-{client}",
            direction="in",
            group_id=group_id,
            peer_group_id=client_group_id,
            description=f"{what} from {client}",
            **common,
        )
        tcp_rule(
            f"{name}-out-{client}",
            direction="out",
            group_id=client_group_id,
            peer_group_id=group_id,
            description=what,
            **common,
        )
