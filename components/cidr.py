"""CIDR planning: where each tier's subnets sit inside the VPC (pure, no resources).

The plan reserves room for ``MAX_AZS`` zones whatever ``az_count`` is, so adding a zone later
adds subnets without renumbering the existing ones. Layout of a VPC of prefix ``/p``:

- private subnets ``/p+3`` in the first half (tasks behind NAT, databases, endpoints);
- public subnets ``/p+4`` in the third quarter (ALB, NAT, tasks when there is no NAT);
- the last quarter is left free for a future tier.

For 10.0.0.0/16 that is private /19s (8,187 usable addresses each) and public /20s.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MAX_AZS = 4
MIN_SUBNET_PREFIX = 28  # AWS's smallest subnet


@dataclass(frozen=True)
class SubnetPlan:
    public: tuple[str, ...]
    private: tuple[str, ...]
    reserved: str
    """The free quarter kept for a future tier."""


def plan_subnets(vpc_cidr: str, az_count: int) -> SubnetPlan:
    """Public and private subnet CIDRs, one of each per AZ, for ``az_count`` zones."""
    vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    if not 1 <= az_count <= MAX_AZS:
        raise ValueError(f"az_count must be 1 to {MAX_AZS}, got {az_count}")
    if vpc.prefixlen + 4 > MIN_SUBNET_PREFIX:
        raise ValueError(
            f"{vpc_cidr} is too small: public subnets would be smaller than /{MIN_SUBNET_PREFIX}"
        )
    lower_half, upper_half = vpc.subnets(prefixlen_diff=1)
    public_quarter, reserved = upper_half.subnets(prefixlen_diff=1)
    private = list(lower_half.subnets(new_prefix=vpc.prefixlen + 3))[:az_count]
    public = list(public_quarter.subnets(new_prefix=vpc.prefixlen + 4))[:az_count]
    return SubnetPlan(
        public=tuple(str(n) for n in public),
        private=tuple(str(n) for n in private),
        reserved=str(reserved),
    )
