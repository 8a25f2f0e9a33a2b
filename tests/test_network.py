"""Network under the mocks: subnets per AZ, the NAT strategies, endpoints, flow logs."""

import json

import pulumi_aws as aws
import pytest

from components.network import Network, NetworkArgs
from components.settings import NetworkSettings
from tools.harness import Run, run_stack
from tools.mocks import AZS_BY_REGION

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "staging"}
ZONES = AZS_BY_REGION["ap-northeast-1"][0]
KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/11111111-2222-4333-8444-555555555555"


def build(**settings: object) -> Run:
    args = NetworkArgs(
        settings=NetworkSettings(**settings),
        name_prefix="platform-test",
        availability_zones=ZONES,
        region="ap-northeast-1",
        flow_log_group_name="/platform/test/vpc-flow-logs",
        kms_key_arn=KEY_ARN,
    )
    return run_stack("test", config=CONFIG, program=lambda: Network("net", args))


def routes_to_internet(run: Run, key: str) -> list:
    return [
        r
        for r in run.of_type("aws:ec2/route:Route")
        if r.get("destinationCidrBlock") == "0.0.0.0/0" and r.get(key)
    ]


def test_one_public_and_one_private_subnet_per_zone_spread_over_distinct_zones() -> None:
    run = build(az_count=3, nat="none")
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    public = [s for s in subnets if s["tags"]["tier"] == "public"]
    private = [s for s in subnets if s["tags"]["tier"] == "private"]
    assert len(public) == len(private) == 3
    assert {s["availabilityZone"] for s in public} == {s["availabilityZone"] for s in private} == set(ZONES)
    assert not any(s.get("mapPublicIpOnLaunch") for s in subnets)


def test_every_child_is_parented_and_prefixed_by_the_component() -> None:
    run = build(nat="single")
    [component] = run.of_type("platform:network:Network")
    for resource in run.resources:
        if resource is component:
            continue
        assert resource.parent == component.urn
        assert resource.name.startswith("net-")


@pytest.mark.parametrize(("nat", "gateways", "instances", "private_tables"), [
    ("none", 0, 0, 1), ("single", 1, 0, 1), ("per-az", 2, 0, 2), ("instance", 0, 2, 2),
])  # fmt: skip
def test_nat_strategies(nat: str, gateways: int, instances: int, private_tables: int) -> None:
    run = build(nat=nat)
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == gateways
    assert len(run.of_type("aws:ec2/instance:Instance")) == instances
    private_rts = [r for r in run.of_type("aws:ec2/routeTable:RouteTable") if "private" in r.name]
    assert len(private_rts) == private_tables
    internet_routes = routes_to_internet(run, "natGatewayId") + routes_to_internet(run, "networkInterfaceId")
    assert len(internet_routes) == (0 if nat == "none" else private_tables)


def test_without_nat_private_subnets_have_no_way_out() -> None:
    run = build(nat="none")
    assert routes_to_internet(run, "natGatewayId") == []
    assert routes_to_internet(run, "networkInterfaceId") == []
    assert len(routes_to_internet(run, "gatewayId")) == 1  # the public table's internet gateway


def planned_source_dest_check_changes(run: Run) -> list[str]:
    """Instances whose next plan, after this first up, would change ``source_dest_check``.

    internal/service/ec2/ec2_instance.go: the attribute is Optional with Default true, so the plan
    compares the configured value (else true) with what Read left in state (the mocks answer as
    Read does), and its DiffSuppressFunc hides a difference only when the deprecated
    network_interface block is configured. With an ENI given through primary_network_interface
    that is hashicorp/terraform-provider-aws#44768: a change on every second up.
    """
    return [
        instance.name
        for instance in run.of_type("aws:ec2/instance:Instance")
        if not instance.get("networkInterfaces")
        and instance.get("sourceDestCheck", True) != instance.outputs["sourceDestCheck"]
    ]


def test_nat_instances_forward_and_are_hardened() -> None:
    run = build(nat="instance", nat_instance_type="t4g.micro")
    instances = run.of_type("aws:ec2/instance:Instance")
    assert len(instances) == 2
    for instance in instances:
        assert instance["sourceDestCheck"] is False  # it forwards packets not addressed to it
        assert instance["instanceType"] == "t4g.micro"
        assert instance["metadataOptions"]["httpTokens"] == "required"
        assert instance["rootBlockDevice"]["encrypted"] is True
    assert any(token == "aws:ec2/getAmi:getAmi" for token, _ in run.invokes)


def test_no_nat_instance_takes_its_eni_through_primary_network_interface() -> None:
    # hashicorp/terraform-provider-aws#44768 (open; fixes #47082 and #49198 unmerged): with an ENI
    # through primaryNetworkInterface the instance's source_dest_check (Default true, in
    # ConflictsWith of that block) flips the ENI's flag back on every second up, and egress stops.
    run = build(nat="instance")
    assert run.of_type("aws:ec2/networkInterface:NetworkInterface") == []
    public_ids = {s.id for s in run.of_type("aws:ec2/subnet:Subnet") if s["tags"]["tier"] == "public"}
    nat_sg = run.one("aws:ec2/securityGroup:SecurityGroup", "nat-sg")
    instances = run.of_type("aws:ec2/instance:Instance")
    assert {instance["subnetId"] for instance in instances} == public_ids  # one per zone
    for instance in instances:
        assert "primaryNetworkInterface" not in instance.inputs
        assert "networkInterfaces" not in instance.inputs
        assert instance["sourceDestCheck"] is False  # on the instance itself
        assert instance["vpcSecurityGroupIds"] == [nat_sg.id]
        # ForceNew, and Read derives it from the primary interface's association, which the
        # Elastic IP adds after launch: set, it would replace the instance on the next up.
        assert "associatePublicIpAddress" not in instance.inputs
    assert planned_source_dest_check_changes(run) == []


def test_an_eni_given_as_primary_interface_would_turn_forwarding_back_on() -> None:
    """The check above fails on the shape of #44768, as the provider's next plan would."""

    def program() -> None:
        eni = aws.ec2.NetworkInterface("eni", subnet_id="subnet-0", source_dest_check=False)
        aws.ec2.Instance(
            "nat",
            ami="ami-0",
            instance_type="t4g.nano",
            primary_network_interface=aws.ec2.InstancePrimaryNetworkInterfaceArgs(
                network_interface_id=eni.id
            ),
        )

    run = run_stack("test", config=CONFIG, program=program)
    assert planned_source_dest_check_changes(run) == ["nat"]


def test_nat_routes_and_addresses_point_at_each_instances_own_interface() -> None:
    run = build(nat="instance")
    igw = run.one("aws:ec2/internetGateway:InternetGateway")
    for index in range(2):
        instance = run.named(f"net-nat-{index}")
        eni = instance.outputs["primaryNetworkInterfaceId"]
        assert eni.startswith("eni-")
        assert run.named(f"net-private-default-{index}")["networkInterfaceId"] == eni
        association = run.named(f"net-nat-eip-assoc-{index}")
        assert association["networkInterfaceId"] == eni
        assert association["allocationId"] == run.named(f"net-nat-eip-{index}").id
        # A replacement instance runs before the old one is deleted; its association takes the
        # address over (AssociateAddress refuses an associated address without it).
        assert association["allowReassociation"] is True
        # EC2 associates an address only with an interface in a VPC with an internet gateway.
        assert igw.urn in association.dependencies
    for eip in run.of_type("aws:ec2/eip:Eip"):
        # ec2_eip.go's update would send both the old instance id and the new interface.
        assert not {"networkInterface", "instance"} & eip.inputs.keys()


def test_nat_instances_survive_new_fck_nat_releases_and_are_replaced_create_first() -> None:
    run = build(nat="instance")
    for instance in run.of_type("aws:ec2/instance:Instance"):
        # A new fck-nat release would otherwise replace every zone's way out.
        assert "ami" in instance.ignore_changes
        # Own interface, nothing to hand over: delete-first would only lengthen the outage.
        assert instance.delete_before_replace is False


def test_default_security_group_is_taken_over_with_no_rules() -> None:
    sg = build().one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sg.get("ingress", []) == [] and sg.get("egress", []) == []


def test_s3_gateway_endpoint_serves_every_route_table() -> None:
    run = build(nat="per-az")
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint", "s3")
    assert endpoint["vpcEndpointType"] == "Gateway"
    assert endpoint["serviceName"] == "com.amazonaws.ap-northeast-1.s3"
    assert len(endpoint["routeTableIds"]) == len(run.of_type("aws:ec2/routeTable:RouteTable"))


def test_interface_endpoints_are_private_with_https_from_the_vpc_only() -> None:
    run = build(interface_endpoints=("ecr.api", "ecr.dkr", "logs"))
    interfaces = [
        e for e in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e["vpcEndpointType"] == "Interface"
    ]
    assert sorted(e["serviceName"].rsplit(".", 2)[-2:][-1] for e in interfaces) == ["api", "dkr", "logs"]
    private_ids = {
        s.outputs.get("id") or s.id for s in run.of_type("aws:ec2/subnet:Subnet") if "private" in s.name
    }
    for endpoint in interfaces:
        assert endpoint["privateDnsEnabled"] is True
        assert set(endpoint["subnetIds"]) <= private_ids
    [rule] = run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (rule["fromPort"], rule["toPort"], rule["cidrIpv4"]) == (443, 443, "10.0.0.0/16")


def test_no_interface_endpoints_means_no_endpoint_security_group() -> None:
    run = build(interface_endpoints=())
    assert run.of_type("aws:ec2/securityGroup:SecurityGroup") == []


def test_flow_logs_go_to_a_retained_log_group_through_a_scoped_role() -> None:
    run = build(flow_log_retention_days=60)
    log_group = run.one("aws:cloudwatch/logGroup:LogGroup")
    assert log_group["retentionInDays"] == 60
    assert log_group["kmsKeyId"] == KEY_ARN
    flow_log = run.one("aws:ec2/flowLog:FlowLog")
    assert flow_log["trafficType"] == "ALL"
    trust = json.loads(run.one("aws:iam/role:Role")["assumeRolePolicy"])
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    write, describe = json.loads(run.one("aws:iam/rolePolicy:RolePolicy")["policy"])["Statement"]
    assert "*" not in write["Resource"] and all("vpc-flow-logs" in r for r in write["Resource"])
    assert set(write["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}
    assert describe["Action"] == "logs:DescribeLogGroups"
    assert describe["Resource"] == "arn:aws:logs:ap-northeast-1:123456789012:log-group:*"


def test_flow_logs_can_be_turned_off() -> None:
    run = build(flow_logs=False)
    assert run.of_type("aws:ec2/flowLog:FlowLog") == []
