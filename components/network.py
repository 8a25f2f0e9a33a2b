"""Network: the VPC, its subnets per AZ, the way out to the internet, endpoints and flow logs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cidr import plan_subnets
from components.outputs import publish
from components.settings import NetworkSettings

# fck-nat's published AMIs (https://fck-nat.dev): a maintained NAT instance image.
FCK_NAT_AMI_OWNER = "568608671756"
FCK_NAT_AMI_NAME = "fck-nat-al2023-*-arm64-ebs"

# Interface endpoint service name suffixes for the ``interfaceEndpoints`` setting.
ENDPOINT_SERVICES = {
    "ecr.api": "ecr.api",
    "ecr.dkr": "ecr.dkr",
    "logs": "logs",
    "ssm": "ssm",
    "secretsmanager": "secretsmanager",
    "kms": "kms",
}


@dataclass(frozen=True)
class NetworkArgs:
    settings: NetworkSettings
    """Validated ``platform:network`` settings."""
    name_prefix: str
    """Physical-name prefix, e.g. ``platform-staging``."""
    availability_zones: Sequence[str]
    """AZ names looked up from the region (at least ``settings.az_count``); the first ones are used."""
    region: str
    """The stack's AWS region (endpoint service names embed it)."""
    flow_log_group_name: str
    """CloudWatch log group of the VPC flow logs, e.g. ``/platform/staging/vpc-flow-logs``."""
    kms_key_arn: pulumi.Input[str]
    """The stack's key (components/kms.py); encrypts the flow logs."""


class Network(pulumi.ComponentResource):
    """A VPC with public and private subnets over ``az_count`` AZs."""

    vpc_id: pulumi.Output[str]
    """The VPC."""
    vpc_cidr: str
    """Its address block (``network.cidr``)."""
    availability_zones: list[str]
    """The AZs the subnets are in, one public and one private subnet each."""
    public_subnet_ids: list[pulumi.Output[str]]
    """The public subnets, in AZ order."""
    private_subnet_ids: list[pulumi.Output[str]]
    """The private subnets, in AZ order."""
    private_route_table_ids: list[pulumi.Output[str]]
    """The private route tables: one per AZ when each AZ has its own way out, else one."""
    egress_ips: list[pulumi.Output[str]]
    """Public addresses the private subnets leave through (NAT gateways' or NAT instances'
    Elastic IPs); empty when ``nat`` is ``none``, where tasks use their own public IPs."""
    endpoint_security_group_id: pulumi.Output[str] | None
    """The interface endpoints' security group, or ``None`` without interface endpoints."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:network:Network", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        zones = list(args.availability_zones[: settings.az_count])
        plan = plan_subnets(settings.cidr, settings.az_count)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=settings.cidr,
            # Interface endpoints' private DNS needs both, and so does a peered Atlas: its standard
            # host names resolve to the nodes' private addresses only with both on
            # (https://www.mongodb.com/docs/atlas/security-vpc-peering/).
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": args.name_prefix},
            opts=child,
        )
        # Take over the default security group with no rules, so nothing can use it by accident.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{args.name_prefix}-default-unused"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={"Name": args.name_prefix}, opts=child
        )

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags={"Name": f"{args.name_prefix}-public"}, opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )

        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for index, (zone, public_cidr, private_cidr) in enumerate(
            zip(zones, plan.public, plan.private, strict=True)
        ):
            public = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=public_cidr,
                availability_zone=zone,
                # Nothing gets a public IP unless it asks for one explicitly.
                map_public_ip_on_launch=False,
                tags={"Name": f"{args.name_prefix}-public-{zone}", "tier": "public"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}-rta", subnet_id=public.id, route_table_id=public_rt.id, opts=child
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=private_cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{args.name_prefix}-private-{zone}", "tier": "private"},
                opts=child,
            )
            public_subnets.append(public)
            private_subnets.append(private)

        # One private route table per AZ when each AZ has its own way out, else one shared.
        per_az_egress = settings.nat in ("per-az", "instance")
        route_table_count = settings.az_count if per_az_egress else 1
        private_rts = [
            aws.ec2.RouteTable(
                f"{name}-private-rt-{index}",
                vpc_id=vpc.id,
                tags={"Name": f"{args.name_prefix}-private-{index}"},
                opts=child,
            )
            for index in range(route_table_count)
        ]
        for index, subnet in enumerate(private_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}-rta",
                subnet_id=subnet.id,
                route_table_id=private_rts[index % route_table_count].id,
                opts=child,
            )

        egress_ips: list[pulumi.Output[str]] = []
        if settings.nat in ("single", "per-az"):
            for index in range(route_table_count):
                eip = aws.ec2.Eip(
                    f"{name}-nat-eip-{index}",
                    domain="vpc",
                    tags={"Name": f"{args.name_prefix}-nat-{index}"},
                    opts=child,
                )
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{index}",
                    allocation_id=eip.id,
                    subnet_id=public_subnets[index].id,
                    tags={"Name": f"{args.name_prefix}-nat-{zones[index]}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
                aws.ec2.Route(
                    f"{name}-private-default-{index}",
                    route_table_id=private_rts[index].id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.id,
                    opts=child,
                )
                egress_ips.append(eip.public_ip)
        elif settings.nat == "instance":
            egress_ips = self._nat_instances(name, args, vpc, igw, public_subnets, private_rts, zones)

        # The S3 gateway endpoint is free and keeps ECR layer downloads (stored in S3) off NAT.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts] + [public_rt.id],
            tags={"Name": f"{args.name_prefix}-s3"},
            opts=child,
        )

        endpoint_sg_id: pulumi.Output[str] | None = None
        if settings.interface_endpoints:
            endpoint_sg = aws.ec2.SecurityGroup(
                f"{name}-endpoints-sg",
                vpc_id=vpc.id,
                description="Interface VPC endpoints: HTTPS from inside the VPC",
                tags={"Name": f"{args.name_prefix}-endpoints"},
                opts=child,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-endpoints-https-in",
                security_group_id=endpoint_sg.id,
                description="HTTPS from the VPC",
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=settings.cidr,
                opts=child,
            )
            for service in settings.interface_endpoints:
                aws.ec2.VpcEndpoint(
                    f"{name}-{service.replace('.', '-')}",
                    vpc_id=vpc.id,
                    service_name=f"com.amazonaws.{args.region}.{ENDPOINT_SERVICES[service]}",
                    vpc_endpoint_type="Interface",
                    private_dns_enabled=True,
                    subnet_ids=[s.id for s in private_subnets],
                    security_group_ids=[endpoint_sg.id],
                    tags={"Name": f"{args.name_prefix}-{service}"},
                    opts=child,
                )
            endpoint_sg_id = endpoint_sg.id

        if settings.flow_logs:
            self._flow_logs(name, args, vpc)

        publish(
            self,
            vpc_id=vpc.id,
            vpc_cidr=settings.cidr,
            availability_zones=zones,
            public_subnet_ids=[s.id for s in public_subnets],
            private_subnet_ids=[s.id for s in private_subnets],
            private_route_table_ids=[rt.id for rt in private_rts],
            egress_ips=egress_ips,
            endpoint_security_group_id=endpoint_sg_id,
        )

    def _nat_instances(
        self,
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        igw: aws.ec2.InternetGateway,
        public_subnets: list[aws.ec2.Subnet],
        private_rts: list[aws.ec2.RouteTable],
        zones: list[str],
    ) -> list[pulumi.Output[str]]:
        """fck-nat style NAT instances, one per AZ: a few dollars a month instead of ~$45."""
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        ami = aws.ec2.get_ami_output(
            owners=[FCK_NAT_AMI_OWNER],
            most_recent=True,
            filters=[
                aws.ec2.GetAmiFilterArgs(name="name", values=[FCK_NAT_AMI_NAME]),
                aws.ec2.GetAmiFilterArgs(name="architecture", values=["arm64"]),
            ],
        )
        sg = aws.ec2.SecurityGroup(
            f"{name}-nat-sg",
            vpc_id=vpc.id,
            description="NAT instances: forward traffic from the VPC to the internet",
            tags={"Name": f"{args.name_prefix}-nat"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-nat-from-vpc",
            security_group_id=sg.id,
            description="Traffic to forward, from the VPC",
            ip_protocol="-1",
            cidr_ipv4=settings.cidr,
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-nat-to-internet",
            security_group_id=sg.id,
            description="Forwarded traffic to the internet",
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            opts=child,
        )
        egress_ips: list[pulumi.Output[str]] = []
        for index, zone in enumerate(zones):
            # Launched straight into its subnet, with the flag on the instance: the provider then
            # reads source_dest_check back from the instance's own primary interface and a second
            # up plans nothing. An ENI passed through primary_network_interface is not an option:
            # the instance's source_dest_check defaults to true, its diff suppression and update
            # guard only know the deprecated network_interface block, and the flag conflicts with
            # primary_network_interface, so every other up would turn forwarding back on
            # (hashicorp/terraform-provider-aws#44768, fixes #47082 and #49198 unmerged).
            instance = aws.ec2.Instance(
                f"{name}-nat-{index}",
                ami=ami.id,
                instance_type=settings.nat_instance_type,
                subnet_id=public_subnets[index].id,
                vpc_security_group_ids=[sg.id],
                source_dest_check=False,  # it forwards packets that are not addressed to it
                # associate_public_ip_address stays unset: it forces replacement and the provider
                # reads it back as true once the Elastic IP is on the interface.
                metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                    http_tokens="required", http_endpoint="enabled"
                ),
                root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(encrypted=True, volume_type="gp3"),
                tags={"Name": f"{args.name_prefix}-nat-{zone}"},
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[igw],
                    # The AMI lookup follows fck-nat's newest release; replacing a zone's only way
                    # out whenever one is published would cut its egress during a routine update.
                    # Any other replacement is create-before-delete: the new instance has its own
                    # interface, the address and the route move over to it, then the old one goes.
                    ignore_changes=["ami"],
                ),
            )
            eip = aws.ec2.Eip(
                f"{name}-nat-eip-{index}",
                domain="vpc",
                tags={"Name": f"{args.name_prefix}-nat-{index}"},
                opts=child,
            )
            # A separate association rather than the address's own network_interface: moving an
            # aws_eip to a replacement instance's interface sends AssociateAddress both the old
            # instance id (kept in state, Optional+Computed) and the new interface, which EC2
            # refuses (internal/service/ec2/ec2_eip.go, resourceEIPUpdate). The association is
            # replaced instead, and allow_reassociation lets the new one take the address from
            # the old instance while it still runs; deleting the old one then finds it gone,
            # which the provider tolerates (ec2_eip_association.go, InvalidAssociationID.NotFound).
            aws.ec2.EipAssociation(
                f"{name}-nat-eip-assoc-{index}",
                allocation_id=eip.id,
                network_interface_id=instance.primary_network_interface_id,
                allow_reassociation=True,
                # EC2 associates an address only with an interface of a VPC with an internet gateway.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            )
            # A new target is an in-place ReplaceRoute (internal/service/ec2/vpc_route.go).
            aws.ec2.Route(
                f"{name}-private-default-{index}",
                route_table_id=private_rts[index].id,
                destination_cidr_block="0.0.0.0/0",
                network_interface_id=instance.primary_network_interface_id,
                opts=child,
            )
            egress_ips.append(eip.public_ip)
        return egress_ips

    def _flow_logs(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc) -> None:
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=args.flow_log_group_name,
            retention_in_days=args.settings.flow_log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )
        account_id = aws.get_caller_identity_output().account_id
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            # Named like the stack's other roles rather than autonamed: under Pulumi.yaml's pattern
            # the provider refuses an autoname over IAM's 64 characters instead of truncating it
            # (pulumi-terraform-bridge pkg/tfbridge/info/autonaming.go, ComputeAutoNameDefault);
            # the settings' stack-name check measures this name among the stack's roles
            # (components/settings/derived.py, ALWAYS_ROLE_SUFFIXES).
            name=f"{args.name_prefix}-vpc-flow-logs",
            assume_role_policy=account_id.apply(
                lambda account: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-write",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [log_group.arn, pulumi.Output.concat(log_group.arn, ":*")],
                        },
                        {
                            # AWS's documented flow-log role includes it; it lists names only, and
                            # cannot be narrowed below the account's log groups in the region.
                            "Effect": "Allow",
                            "Action": "logs:DescribeLogGroups",
                            "Resource": pulumi.Output.concat(
                                "arn:aws:logs:", args.region, ":", account_id, ":log-group:*"
                            ),
                        },
                    ],
                }
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=600,
            tags={"Name": f"{args.name_prefix}-flow-log"},
            opts=child,
        )
