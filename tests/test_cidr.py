import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.cidr import MAX_AZS, plan_subnets

# "The allowed size for an IPv4 subnet is between a /28 netmask (16 IP addresses) and a /16 netmask"
# (EC2 CreateSubnet, https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnet.html).
AWS_SMALLEST_SUBNET_PREFIX = 28

PRIVATE_BASES = [
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
]


@st.composite
def vpc_cidrs(draw: st.DrawFn) -> str:
    """Any private range an AWS VPC accepts (/16 to /24)."""
    base = draw(st.sampled_from(PRIVATE_BASES))
    prefix = draw(st.integers(min_value=max(16, base.prefixlen), max_value=24))
    offset = draw(st.integers(min_value=0, max_value=base.num_addresses - 1))
    return str(ipaddress.IPv4Network((int(base.network_address) + offset, prefix), strict=False))


@given(vpc_cidrs(), st.integers(min_value=1, max_value=MAX_AZS))
def test_subnets_lie_inside_the_vpc_and_never_overlap(cidr: str, azs: int) -> None:
    plan = plan_subnets(cidr, azs)
    vpc = ipaddress.IPv4Network(cidr)
    subnets = [ipaddress.IPv4Network(s) for s in (*plan.public, *plan.private, plan.reserved)]
    assert len(plan.public) == len(plan.private) == azs
    for subnet in subnets:
        assert subnet.subnet_of(vpc)
        assert subnet.prefixlen <= AWS_SMALLEST_SUBNET_PREFIX
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b), (a, b)


@given(vpc_cidrs(), st.integers(min_value=1, max_value=MAX_AZS - 1))
def test_adding_a_zone_keeps_existing_subnets(cidr: str, azs: int) -> None:
    smaller, larger = plan_subnets(cidr, azs), plan_subnets(cidr, azs + 1)
    assert larger.public[:azs] == smaller.public
    assert larger.private[:azs] == smaller.private
    assert larger.reserved == smaller.reserved


@given(vpc_cidrs())
def test_a_quarter_of_the_vpc_stays_free_for_growth(cidr: str) -> None:
    plan = plan_subnets(cidr, MAX_AZS)
    vpc = ipaddress.IPv4Network(cidr)
    used = sum(ipaddress.IPv4Network(s).num_addresses for s in (*plan.public, *plan.private))
    assert ipaddress.IPv4Network(plan.reserved).num_addresses == vpc.num_addresses // 4
    assert used + vpc.num_addresses // 4 <= vpc.num_addresses


def test_private_subnets_are_larger_than_public_ones() -> None:
    plan = plan_subnets("10.0.0.0/16", 2)
    assert plan.private == ("10.0.0.0/19", "10.0.32.0/19")
    assert plan.public == ("10.0.128.0/20", "10.0.144.0/20")


@pytest.mark.parametrize(
    ("cidr", "azs"), [("10.0.0.0/25", 2), ("10.0.0.0/16", 0), ("10.0.0.0/16", MAX_AZS + 1)]
)
def test_impossible_plans_are_refused(cidr: str, azs: int) -> None:
    with pytest.raises(ValueError):
        plan_subnets(cidr, azs)
