"""Recording mocks: run the program with no cloud account and capture what it would build.

The mocks answer like the real providers would, with deterministic, realistic values (ids,
ARNs, endpoints, AZ lists), so that everything the program derives from outputs (policies,
connection strings, alarms' dimensions) is exercised. The monitor also records what the mock
API does not pass to ``new_resource``: parent, protect, ignoreChanges, retainOnDelete,
deleteBeforeReplace and which inputs are secret.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib
import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks, rpc
from pulumi.runtime.mocks import MockMonitor

ACCOUNT_ID = "123456789012"
AZS_BY_REGION = {
    "ap-northeast-1": (
        ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"],
        ["apne1-az4", "apne1-az1", "apne1-az2"],
    ),
    "us-east-1": (
        ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"],
        ["use1-az1", "use1-az2", "use1-az4", "use1-az6", "use1-az3", "use1-az5"],
    ),
}


class Secret:
    """Marks an input the program passed as a Pulumi secret."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return "[secret]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(repr(self.value))


def _mark_secrets(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return Secret(_mark_secrets(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {k: _mark_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_secrets(v) for v in value]
    return value


def reveal(value: Any) -> Any:
    """The value with every secret marker removed (for assertions on the content)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


@dataclass
class Captured:
    """One registered resource, as the engine would have received it."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    parent: str = ""
    custom: bool = True
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    provider: str = ""
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    """The customTimeouts resource option as the engine receives it (create/update/delete)."""

    @property
    def plain_inputs(self) -> dict[str, Any]:
        return reveal(self.inputs)

    def __getitem__(self, key: str) -> Any:
        """The plain value of an input, e.g. ``resource["cidrBlock"]``."""
        return reveal(self.inputs[key])

    def get(self, key: str, default: Any = None) -> Any:
        return reveal(self.inputs.get(key, default))


def _fake_id(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Autonaming:
    """``pulumi:autonaming`` as the engine resolves it before the program runs.

    The engine reads the key from the stack's merged config (pulumi/pulumi
    pkg/cmd/pulumi/autonaming/config.go ``ParseAutonamingConfig``) and replaces ``${project}`` and
    ``${stack}`` once (pattern.go ``resolveStackExpressions``); per resource it replaces
    ``${name}`` with the URN's name and ``${hex(n)}`` with n random hex digits
    (pkg/resource/autonaming/strategy.go ``generateName``) and proposes the result to the
    provider. ``pattern`` is None without the key: the provider's default naming applies.
    """

    pattern: str | None = None

    @classmethod
    def of(cls, value: Any, *, project: str, stack: str) -> Autonaming:
        if value is None:
            return cls()
        section = json.loads(value) if isinstance(value, str) else dict(value)
        # The mocks imitate the one form this project sets; other modes, per-provider or
        # per-resource sections would need their own imitation, so they are refused here.
        if set(section) != {"pattern"}:
            raise ValueError(
                f"pulumi:autonaming: the offline mocks imitate a root `pattern` only, not {section}"
            )
        pattern = section["pattern"].replace("${project}", project).replace("${stack}", stack)
        return cls(pattern)

    def propose(self, logical: str, digits: str) -> str | None:
        """The proposed name of a resource, ``digits`` standing in for the engine's random hex."""
        if self.pattern is None:
            return None
        name = re.sub(
            r"\$\{hex\((\d+)\)\}", lambda m: digits[: int(m[1])], self.pattern.replace("${name}", logical)
        )
        if "${" in name:
            raise ValueError(f"pulumi:autonaming: the offline mocks cannot expand {self.pattern!r}")
        return name


# The longest name an autonamed type takes when the engine proposes one. Under a pattern the
# bridge uses the proposed name as is and fails when it exceeds the property's AutoName maxlen
# (pulumi-terraform-bridge pkg/tfbridge/info/autonaming.go ComputeAutoNameDefault, propose mode:
# "calculated name ... exceeds maximum length"): 255 for every input `name` (pulumi-aws
# provider/autonaming.go setAutonaming), 64 for IAM roles (provider/resources.go aws_iam_role:
# AutoName("name", 64, "-")). IAM refuses inline policy names over 128 characters
# (docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html, character limits).
AUTONAME_MAX_LENGTH = {
    "aws:iam/role:Role": 64,
    "aws:iam/rolePolicy:RolePolicy": 128,
    "aws:iam/userPolicy:UserPolicy": 128,
}
DEFAULT_AUTONAME_MAX_LENGTH = 255


@functools.cache
def aws_autonames(typ: str) -> bool:
    """Whether the AWS provider names a resource of ``typ`` whose program sets no ``name``.

    pulumi-aws autonames every resource with an input property ``name`` (provider/autonaming.go
    setAutonaming), which makes the property optional in the SDK ("If a required property is
    configured with AutoName, it becomes optional in the Pulumi Package Schema",
    pulumi-terraform-bridge pkg/tfbridge/info/autonaming.go); a ``name`` the provider does not
    autoname stays required (e.g. Route 53 records'). So: the SDK's Args take an optional ``name``.
    """
    if not typ.startswith("aws:"):
        return False
    _, module, member = typ.split(":")
    package = module.split("/")[0]
    sdk = importlib.import_module("pulumi_aws" if package == "index" else f"pulumi_aws.{package}")
    parameter = inspect.signature(getattr(sdk, f"{member}Args").__init__).parameters.get("name")
    return parameter is not None and parameter.default is None


class RecordingMocks(Mocks):
    """Answers resource registrations and invokes with realistic values."""

    def __init__(self, region: str = "ap-northeast-1", autonaming: Autonaming | None = None):
        self.region = region
        self.autonaming = autonaming or Autonaming()
        self.invokes: list[tuple[str, dict[str, Any]]] = []
        # Atlas project id -> the VPC endpoint its PrivateLinkEndpointService accepted.
        self.atlas_private_endpoints: dict[str, str] = {}
        # Atlas projects with a NetworkPeering, and those with custom DNS for AWS clusters on: only
        # a project in both lists gets privateSrv (see getAdvancedCluster below).
        self.atlas_peered_projects: set[str] = set()
        self.atlas_custom_dns_projects: set[str] = set()
        # ENI id -> its source_dest_check, which an instance launched on it reads back.
        self.eni_source_dest_check: dict[str, bool] = {}
        # Allocation id -> public address, which an association of the allocation reads back.
        self.eip_public_ips: dict[str, str] = {}
        # Record sets already in the Route 53 zones (a stack deployed before), as
        # ListResourceRecordSets lists them: {"zoneId", "name" (with the trailing dot), "type",
        # "resourceRecords": [{"value"}], ...}. A fresh zone holds none of the program's names.
        self.zone_records: list[dict[str, Any]] = []
        # Customer-managed IAM policy ARNs the account holds besides the bootstrap's boundaries.
        self.iam_policies: set[str] = set()

    # -- resources -------------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        region = rpc.unwrap_rpc_secret(inputs.get("region")) or self.region
        h = _fake_id(args.typ, args.name)
        typ = args.typ
        service = typ.split(":")[1].split("/")[0] if typ.count(":") >= 2 else ""
        resource_id = f"{args.name}-{h[:8]}"
        state: dict[str, Any] = {**inputs}
        # Resources with an explicit physical name keep it. An unnamed one the AWS provider
        # autonames (neither `name` nor the `namePrefix` that conflicts with it) gets the engine's
        # proposal under `pulumi:autonaming`, else the provider's default: the logical name, "-"
        # and 7 random hex digits (pulumi-terraform-bridge pkg/tfbridge/info/autonaming.go).
        if isinstance(inputs.get("name"), str):
            name = inputs["name"]
        elif isinstance(inputs.get("namePrefix"), str):
            # The AWS provider appends a 26-character unique suffix to the prefix
            # (hashicorp/terraform-plugin-sdk helper/id/id.go PrefixedUniqueId, UniqueIDSuffixLength).
            name = inputs["namePrefix"] + _fake_id(typ, args.name, length=26)
            state["name"] = name
        elif aws_autonames(typ):
            proposed = self.autonaming.propose(args.name, h)
            limit = AUTONAME_MAX_LENGTH.get(typ, DEFAULT_AUTONAME_MAX_LENGTH)
            if proposed is not None and len(proposed) > limit:
                raise ValueError(f"calculated name '{proposed}' exceeds maximum length of {limit}")
            name = proposed or f"{args.name}-{h[:7]}"
            state["name"] = name
        else:
            name = f"{args.name}-{h[:7]}"
        arn_prefix = f"arn:aws:{service}:{region}:{ACCOUNT_ID}"
        if typ.startswith("aws:"):
            state.setdefault("arn", f"{arn_prefix}:{name}")
            state.setdefault("region", region)
        prefixes = {
            "aws:ec2/vpc:Vpc": "vpc",
            "aws:ec2/subnet:Subnet": "subnet",
            "aws:ec2/securityGroup:SecurityGroup": "sg",
            "aws:ec2/internetGateway:InternetGateway": "igw",
            "aws:ec2/natGateway:NatGateway": "nat",
            "aws:ec2/routeTable:RouteTable": "rtb",
            "aws:ec2/eip:Eip": "eipalloc",
            "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
            "aws:ec2/instance:Instance": "i",
            "aws:ec2/networkInterface:NetworkInterface": "eni",
            "aws:ec2/flowLog:FlowLog": "fl",
            "aws:ec2/launchTemplate:LaunchTemplate": "lt",
        }
        if typ in prefixes:
            resource_id = f"{prefixes[typ]}-{h}"
            state["arn"] = f"arn:aws:ec2:{region}:{ACCOUNT_ID}:{prefixes[typ]}/{resource_id}"
        extra = self._outputs(typ, args.name, name, inputs, region, h)
        for dropped in extra.pop("__drop", ()):  # inputs the real provider does not echo
            state.pop(dropped, None)
        state.update(extra)
        resource_id = extra.pop("__id", None) or state.pop("__id", None) or resource_id
        state.pop("__id", None)
        return resource_id, state

    def _outputs(
        self, typ: str, logical: str, name: str, inputs: dict[str, Any], region: str, h: str
    ) -> dict[str, Any]:
        acct = ACCOUNT_ID
        if typ == "aws:ec2/vpc:Vpc":
            return {"defaultSecurityGroupId": f"sg-{h[::-1][:17]}", "mainRouteTableId": f"rtb-{h[1:18]}"}
        if typ == "aws:ec2/eip:Eip":
            n = int(h[:4], 16)
            self.eip_public_ips[f"eipalloc-{h}"] = f"203.0.113.{n % 250 + 1}"
            return {"publicIp": f"203.0.113.{n % 250 + 1}", "allocationId": f"eipalloc-{h}"}
        if typ == "aws:ec2/natGateway:NatGateway":
            n = int(h[:4], 16)
            return {"publicIp": f"198.51.100.{n % 250 + 1}"}
        if typ == "aws:ec2/networkInterface:NetworkInterface":
            # vpc_network_interface.go: source_dest_check is Optional with Default true.
            check = inputs.get("sourceDestCheck", True)
            self.eni_source_dest_check[f"eni-{h}"] = check
            return {"sourceDestCheck": check}
        if typ == "aws:ec2/instance:Instance":
            # internal/service/ec2/ec2_instance.go: Read takes primary_network_interface_id and
            # source_dest_check from the interface at device index 0 (an ENI passed through
            # primaryNetworkInterface is that one, so the flag reads back as the ENI's:
            # hashicorp/terraform-provider-aws#44768) and always fills primary_network_interface
            # (as PR #49198 points out); without an interface given, the schema's Default true
            # applies unless sourceDestCheck is set. No public IP at launch: the program's subnets
            # do not map one and it never asks for one (associate_public_ip_address); an Elastic IP
            # appears on the instance only once associated, after this create.
            given = (inputs.get("primaryNetworkInterface") or {}).get("networkInterfaceId")
            eni = given or f"eni-{h}"
            check = (
                self.eni_source_dest_check.get(eni, True) if given else inputs.get("sourceDestCheck", True)
            )
            return {
                "publicIp": "",
                "primaryNetworkInterfaceId": eni,
                "primaryNetworkInterface": {"networkInterfaceId": eni, "deleteOnTermination": not given},
                "sourceDestCheck": check,
                "privateIp": "10.0.0.10",
            }
        if typ == "aws:ec2/eipAssociation:EipAssociation":
            # ec2_eip_association.go: the id is the association id (eipassoc-), and Read fills the
            # address's network interface, instance and addresses from DescribeAddresses.
            public_ip = self.eip_public_ips.get(str(inputs.get("allocationId")), "")
            return {"__id": f"eipassoc-{h}", "publicIp": public_ip, "privateIpAddress": "10.0.0.10"}
        if typ == "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream":
            # The resource id is the stream ARN, in Firehose's own service namespace
            # (internal/service/firehose/delivery_stream.go: d.SetId(DeliveryStreamARN); the
            # importer parses arn:PARTITION:firehose:REGION:ACCOUNTID:deliverystream/NAME).
            arn = f"arn:aws:firehose:{region}:{acct}:deliverystream/{name}"
            return {"__id": arn, "arn": arn, "destinationId": "destinationId-000000000001", "versionId": "1"}
        if typ == "aws:secretsmanager/secret:Secret":
            # Secrets Manager appends a hyphen and six random characters to the secret's name
            # in its ARN (docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html,
            # "Secrets Manager ARN"); the id is the ARN (internal/service/secretsmanager/secret.go).
            arn = f"arn:aws:secretsmanager:{region}:{acct}:secret:{name}-{h[:6]}"
            return {"__id": arn, "arn": arn}
        if typ == "aws:kms/key:Key":
            key_id = f"{h[:8]}-{h[8:12]}-4{h[12:15]}-8{h[15:18]}-{_fake_id(h, length=12)}"
            return {"__id": key_id, "keyId": key_id, "arn": f"arn:aws:kms:{region}:{acct}:key/{key_id}"}
        if typ == "aws:iam/role:Role":
            # internal/service/iam/role.go: the id is the role's name.
            return {
                "__id": name,
                "arn": f"arn:aws:iam::{acct}:role/{name}",
                "name": name,
                "uniqueId": f"AROA{h[:16].upper()}",
            }
        if typ == "aws:sqs/queue:Queue":
            # internal/service/sqs/queue.go (hashicorp/terraform-provider-aws): the id is the queue
            # URL CreateQueue returns, and `url` is read back as the id; the ARN is the generic one.
            url = f"https://sqs.{region}.amazonaws.com/{acct}/{name}"
            return {"__id": url, "url": url}
        if typ == "aws:scheduler/scheduleGroup:ScheduleGroup":
            return {"arn": f"arn:aws:scheduler:{region}:{acct}:schedule-group/{name}", "name": name}
        if typ == "aws:iam/policy:Policy":
            return {"arn": f"arn:aws:iam::{acct}:policy/{name}", "name": name}
        if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            url = str(inputs.get("url", "")).removeprefix("https://")
            return {"arn": f"arn:aws:iam::{acct}:oidc-provider/{url}"}
        if typ == "aws:s3/bucket:Bucket" or typ == "aws:s3/bucketV2:BucketV2":
            bucket = inputs.get("bucket") or f"{logical}-{h[:8]}"
            return {
                "__id": bucket,
                "bucket": bucket,
                "arn": f"arn:aws:s3:::{bucket}",
                "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
            }
        if typ == "aws:ecr/repository:Repository":
            return {
                "__id": name,
                "repositoryUrl": f"{acct}.dkr.ecr.{region}.amazonaws.com/{name}",
                "arn": f"arn:aws:ecr:{region}:{acct}:repository/{name}",
            }
        if typ == "aws:lb/loadBalancer:LoadBalancer":
            kind = "app"
            lb_name = name[:32]
            arn = f"arn:aws:elasticloadbalancing:{region}:{acct}:loadbalancer/{kind}/{lb_name}/{h[:16]}"
            internal = "internal-" if inputs.get("internal") else ""
            return {
                "__id": arn,
                "arn": arn,
                "arnSuffix": f"{kind}/{lb_name}/{h[:16]}",
                "dnsName": f"{internal}{lb_name}-{int(h[:8], 16)}.{region}.elb.amazonaws.com",
                "zoneId": "Z14GRHDCWA56QT",
            }
        if typ == "aws:lb/targetGroup:TargetGroup":
            tg = name[:32]
            arn = f"arn:aws:elasticloadbalancing:{region}:{acct}:targetgroup/{tg}/{h[:16]}"
            return {"__id": arn, "arn": arn, "arnSuffix": f"targetgroup/{tg}/{h[:16]}"}
        if typ == "aws:lb/listener:Listener":
            arn = f"arn:aws:elasticloadbalancing:{region}:{acct}:listener/app/{logical[:20]}/{h[:16]}/{h[16:32]}"
            return {"__id": arn, "arn": arn}
        if typ == "aws:ecs/cluster:Cluster":
            return {
                "__id": f"arn:aws:ecs:{region}:{acct}:cluster/{name}",
                "arn": f"arn:aws:ecs:{region}:{acct}:cluster/{name}",
                "name": name,
            }
        if typ == "aws:ecs/service:Service":
            return {"__id": f"arn:aws:ecs:{region}:{acct}:service/{name}", "name": name}
        if typ == "aws:ecs/taskDefinition:TaskDefinition":
            family = inputs.get("family", name)
            return {
                "arn": f"arn:aws:ecs:{region}:{acct}:task-definition/{family}:1",
                "revision": 1,
                "arnWithoutRevision": f"arn:aws:ecs:{region}:{acct}:task-definition/{family}",
            }
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            return {"__id": name, "name": name, "arn": f"arn:aws:logs:{region}:{acct}:log-group:{name}"}
        if typ == "aws:ssm/parameter:Parameter":
            pname = inputs.get("name", name)
            return {"__id": pname, "arn": f"arn:aws:ssm:{region}:{acct}:parameter{pname}", "version": 1}
        if typ == "aws:sns/topic:Topic":
            return {
                "__id": f"arn:aws:sns:{region}:{acct}:{name}",
                "arn": f"arn:aws:sns:{region}:{acct}:{name}",
            }
        if typ == "aws:rds/instance:Instance":
            ident = inputs.get("identifier", name)
            return {
                "__id": ident,
                "identifier": ident,
                "address": f"{ident}.c{h[:10]}.{region}.rds.amazonaws.com",
                "endpoint": f"{ident}.c{h[:10]}.{region}.rds.amazonaws.com:5432",
                "port": 5432,
                "arn": f"arn:aws:rds:{region}:{acct}:db:{ident}",
                "resourceId": f"db-{h[:26].upper()}",
            }
        if typ == "aws:rds/cluster:Cluster":
            ident = inputs.get("clusterIdentifier", name)
            return {
                "__id": ident,
                "clusterIdentifier": ident,
                "endpoint": f"{ident}.cluster-c{h[:10]}.{region}.rds.amazonaws.com",
                "readerEndpoint": f"{ident}.cluster-ro-c{h[:10]}.{region}.rds.amazonaws.com",
                "port": 5432,
                "arn": f"arn:aws:rds:{region}:{acct}:cluster:{ident}",
                "clusterResourceId": f"cluster-{h[:26].upper()}",
            }
        if typ == "aws:rds/clusterInstance:ClusterInstance":
            ident = inputs.get("identifier", name)
            return {
                "__id": ident,
                "identifier": ident,
                "arn": f"arn:aws:rds:{region}:{acct}:db:{ident}",
                "endpoint": f"{ident}.c{h[:10]}.{region}.rds.amazonaws.com",
            }
        if typ == "aws:acm/certificate:Certificate":
            domain = inputs.get("domainName", "example.com")
            cert_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{_fake_id(h, length=12)}"
            return {
                "arn": f"arn:aws:acm:{region}:{acct}:certificate/{cert_id}",
                "domainValidationOptions": [
                    {
                        "domainName": d,
                        "resourceRecordName": f"_{h[:32]}.{d}.",
                        "resourceRecordType": "CNAME",
                        "resourceRecordValue": f"_{h[32:64]}.acm-validations.aws.",
                    }
                    for d in [domain, *inputs.get("subjectAlternativeNames", [])]
                ],
            }
        if typ == "aws:cloudfront/distribution:Distribution":
            dist = f"E{h[:13].upper()}"
            return {
                "__id": dist,
                "domainName": f"d{h[:13]}.cloudfront.net",
                "hostedZoneId": "Z2FDTNDATAQYW2",
                "arn": f"arn:aws:cloudfront::{acct}:distribution/{dist}",
            }
        if typ == "aws:cloudfront/vpcOrigin:VpcOrigin":
            return {"__id": f"vo_{h[:22]}", "arn": f"arn:aws:cloudfront::{acct}:vpcorigin/vo_{h[:22]}"}
        if typ == "aws:wafv2/webAcl:WebAcl":
            scope = str(inputs.get("scope", "REGIONAL")).lower()
            scope_path = "global" if scope == "cloudfront" else "regional"
            return {
                "__id": h[:36],
                "arn": f"arn:aws:wafv2:{region}:{acct}:{scope_path}/webacl/{name}/{h[:36]}",
                "capacity": 0,
            }
        if typ == "aws:route53/zone:Zone":
            return {
                "__id": f"Z{h[:20].upper()}",
                "zoneId": f"Z{h[:20].upper()}",
                "nameServers": ["ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk"],
            }
        if typ in (
            "aws:rds/parameterGroup:ParameterGroup",
            "aws:rds/clusterParameterGroup:ClusterParameterGroup",
        ):
            # internal/service/rds/parameter_group.go: the id is the group's name.
            return {"__id": name}
        if typ == "mongodbatlas:index/advancedCluster:AdvancedCluster":
            # Provider v2: one connectionStrings object, strings Atlas leaves out read as ""
            # (internal/service/advancedcluster/model_ClusterDescription20240805.go,
            # newConnectionStringsObjType: conversion.SafeValue). The cluster is created before any
            # private path exists, so its own state never holds privateSrv or private endpoints.
            cname = inputs.get("name", name)
            return {
                "clusterId": _fake_id(logical, length=24),
                "connectionStrings": _atlas_connection_strings(str(inputs.get("projectId")), cname),
                "stateName": "IDLE",
                "mongoDbVersion": "8.0.4",
            }
        # Atlas resources' ids are the provider's encoded key maps (conversion.EncodeStateID in
        # internal/common/conversion/encode_state.go), not Atlas ids: read the named outputs instead.
        project = str(inputs.get("projectId"))
        if typ == "mongodbatlas:index/databaseUser:DatabaseUser":
            # internal/service/databaseuser/model_database_user.go, NewTfDatabaseUserModel.
            user = {"username": inputs.get("username"), "auth_database_name": inputs.get("authDatabaseName")}
            return {"__id": _atlas_state_id(project_id=project, **user)}
        if typ == "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList":
            # model_project_ip_access_list.go: the entry is the cidr, the IP or the group.
            entry = inputs.get("cidrBlock") or inputs.get("ipAddress") or inputs.get("awsSecurityGroup")
            return {"__id": _atlas_state_id(entry=entry, project_id=project)}
        if typ == "mongodbatlas:index/privateLinkEndpointService:PrivateLinkEndpointService":
            # Create waits for AVAILABLE, then for the project's clusters to be IDLE
            # (internal/service/privatelinkendpointservice/resource.go, resourceCreate).
            vpce = str(inputs.get("endpointServiceId"))
            self.atlas_private_endpoints[project] = vpce
            return {"awsConnectionStatus": "AVAILABLE", "interfaceEndpointId": vpce, "deleteRequested": False}
        if typ == "mongodbatlas:index/networkContainer:NetworkContainer":
            # Not provisioned until a dedicated cluster runs in it (networkcontainer/resource_network_container.go).
            container = _fake_id(logical, length=24)
            return {
                "__id": _atlas_state_id(container_id=container, project_id=project),
                "containerId": container,
                "vpcId": f"vpc-{h}",
                "provisioned": False,
                "regionName": inputs.get("regionName"),
            }
        if typ == "mongodbatlas:index/networkPeering:NetworkPeering":
            # Create returns at PENDING_ACCEPTANCE, before AWS accepts (networkpeering/resource.go).
            self.atlas_peered_projects.add(project)
            peer = _fake_id(logical, length=24)
            return {
                "__id": _atlas_state_id(peer_id=peer, project_id=project, provider_name="AWS"),
                "peerId": peer,
                "connectionId": f"pcx-{h}",
                "statusName": "PENDING_ACCEPTANCE",
            }
        if typ == "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter":
            # The accepter is the connection itself: its id is the pcx- id it accepted.
            pcx = inputs.get("vpcPeeringConnectionId")
            return {"__id": pcx, "acceptStatus": "active"}
        if typ == "mongodbatlas:index/project:Project":
            return {"__id": _fake_id(logical, length=24), "orgId": inputs.get("orgId")}
        if typ == "mongodbatlas:index/customDnsConfigurationClusterAws:CustomDnsConfigurationClusterAws":
            if inputs.get("enabled") is True:
                self.atlas_custom_dns_projects.add(str(inputs.get("projectId")))
            return {}
        if typ == "mongodbatlas:index/privateLinkEndpoint:PrivateLinkEndpoint":
            return {
                "privateLinkId": _fake_id(logical, length=24),
                "endpointServiceName": f"com.amazonaws.vpce.{region}.vpce-svc-{h}",
                "status": "AVAILABLE",
            }
        if typ.startswith("sentry:") and typ.endswith(":SentryKey"):
            return {
                "dsnPublic": f"https://{h[:32]}@o4500000000000000.ingest.sentry.io/45000000000{int(h[:4], 16)}",
                "public": h[:32],
                "secret": h[32:64],
                "dsn": {
                    "public": f"https://{h[:32]}@o4500000000000000.ingest.sentry.io/45000000000{int(h[:4], 16)}"
                },
            }
        if typ == "datadog:aws/integrationExternalId:IntegrationExternalId":
            return {"__id": h[:32]}
        if typ == "datadog:index/monitor:Monitor":
            return {"__id": str(int(h[:7], 16))}
        if typ.startswith("random:") and typ.endswith("RandomPassword"):
            length = int(inputs.get("length", 32))
            return {"result": ("P" + h * 4)[:length]}
        if typ == "random:index/randomBytes:RandomBytes":
            # terraform-provider-random internal/provider/resource_bytes.go: Create sets the id to
            # "none" and base64/hex (both Sensitive) from crypto/rand; Read changes nothing.
            raw = bytes.fromhex((h * 4)[: 2 * int(inputs.get("length", 32))])
            return {"__id": "none", "base64": base64.b64encode(raw).decode(), "hex": raw.hex()}
        if typ.startswith("vercel:") and typ.endswith(":Project"):
            return {"__id": f"prj_{h[:28]}"}
        if typ.startswith("render:") and "WebService" in typ:
            # The provider's outputs are Render's service object (provider/pkg/provider/provider.go
            # OnPostCreate; openapi_generated.yml `webServiceOutput`): no `envVars` (Render never
            # returns them with the service) and `serviceDetails` in Render's GET shape, with the
            # required `env`, `buildPlan`, `openPorts` and `url` and the defaults it fills in.
            slug = inputs.get("name", logical)
            asked = rpc.unwrap_rpc_secret(inputs.get("serviceDetails")) or {}
            details = {
                "maxShutdownDelaySeconds": 30,
                "pullRequestPreviewsEnabled": "no",
                "numInstances": 1,
                **asked,
                "env": asked.get("runtime"),
                "buildPlan": "starter",
                "openPorts": [],
                "url": f"https://{slug}.onrender.com",
            }
            return {
                "__id": f"srv-{h[:20]}",
                "__drop": ["envVars"],
                "serviceDetails": details,
                "dashboardUrl": f"https://dashboard.render.com/web/srv-{h[:20]}",
                "slug": slug,
                "suspended": "not_suspended",
            }
        if typ == "render:services:CronJob":
            # As the web service: Render's service object (openapi_generated.yml `cronJobOutput`,
            # `cronJobDetailsOutput`: `env`, `buildPlan`, `plan`, `region` required), no `envVars`;
            # cron job ids start with `crn-`.
            asked = rpc.unwrap_rpc_secret(inputs.get("serviceDetails")) or {}
            details = {**asked, "env": asked.get("runtime"), "buildPlan": "starter"}
            return {
                "__id": f"crn-{h[:20]}",
                "__drop": ["envVars"],
                "serviceDetails": details,
                "dashboardUrl": f"https://dashboard.render.com/cron/crn-{h[:20]}",
                "slug": inputs.get("name", logical),
                "suspended": "not_suspended",
            }
        if typ == "aws:iam/user:User":
            # internal/service/iam/user.go: the id is the user name; unique_id from CreateUser.
            return {
                "__id": name,
                "arn": f"arn:aws:iam::{acct}:user/{name}",
                "uniqueId": f"AIDA{h[:16].upper()}",
            }
        if typ == "aws:iam/accessKey:AccessKey":
            # internal/service/iam/access_key.go: the id is the access key id; `secret` only from
            # CreateAccessKey (the SDK marks it secret), status Active.
            return {"__id": f"AKIA{h[:16].upper()}", "secret": f"{h}{h[:8]}", "status": "Active"}
        if typ == "render:services:EnvVarsForService":
            # PUT /services/{id}/env-vars answers a bare array of `envVarWithCursor`, values in
            # clear; the provider wraps it as `envVars` and, the array having no id, makes one
            # from the sha256 of the response (provider/pkg/provider/provider.go OnPostCreate,
            # array.go wrapArrayResponse). Nothing else is kept: no serviceId in the outputs.
            variables = rpc.unwrap_rpc_secret(inputs.get("envVars")) or []
            answer = [
                {
                    "envVar": {"key": v["key"], "value": rpc.unwrap_rpc_secret(v.get("value"))},
                    "cursor": v["key"],
                }
                for v in variables
            ]
            return {
                "__id": hashlib.sha256(repr(answer).encode()).hexdigest(),
                "__drop": ["serviceId"],
                "envVars": answer,
            }
        if typ == "pulumi-python:dynamic/supabase:Project":
            # As components/platforms/supabase.py's create answers (tests/test_supabase_provider.py
            # runs it against tests/fake_supabase.py): the pool mode's port, and 5432 for session.
            ref = "".join(chr(ord("a") + int(c, 16)) for c in _fake_id(typ, logical, length=20))
            password = rpc.unwrap_rpc_secret(inputs.get("db_pass"))
            pooler_host = f"aws-0-{inputs.get('region')}.pooler.supabase.com"
            port = {"session": 5432, "transaction": 6543}[inputs.get("pool_mode", "session")]

            def url(port: int) -> str:
                return f"postgresql://postgres.{ref}:{password}@{pooler_host}:{port}/postgres?sslmode=require"

            return {
                "__id": ref,
                "ref": ref,
                "organization_id": _fake_id(str(inputs.get("organization")), length=20),
                "status": "ACTIVE_HEALTHY",
                "db_host": f"db.{ref}.supabase.co",
                "pooler_host": pooler_host,
                "pooler_port": port,
                "pooler_user": f"postgres.{ref}",
                "database": "postgres",
                # As the state of a project created before the URLs verified TLS holds it: the
                # dynamic provider's diff ignores code changes, so the old string stays until an
                # update; the component must normalise it (components/platforms/supabase.py).
                "pooled_connection_string": url(port),
                "session_connection_string": url(5432),
            }
        if typ == "pulumi-python:dynamic/render:Scaling":
            # As components/platforms/render_scaling.py's create answers (tests/
            # test_render_scaling_provider.py runs it against tests/fake_render.py): the service's
            # srv- id as its id, the inputs back (PUT /autoscaling echoes them; /scale has no body).
            return {"__id": inputs.get("service_id")}
        return {}

    # -- invokes ---------------------------------------------------------------------------

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        token = args.token
        inputs = dict(args.args)
        self.invokes.append((token, inputs))
        region = inputs.get("region") or self.region
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names, ids = AZS_BY_REGION.get(
                region, ([f"{region}a", f"{region}b", f"{region}c"], ["az1", "az2", "az3"])
            )
            return {"names": names, "zoneIds": ids, "id": region, "state": "available"}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preview",
                "userId": "AIDAPREVIEW",
                "id": ACCOUNT_ID,
            }, []
        if token in ("aws:index/getRegion:getRegion",):
            return {
                "name": region,
                "region": region,
                "id": region,
                "endpoint": f"ec2.{region}.amazonaws.com",
                "description": region,
            }, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if token == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            return {"id": "pl-58a04531", "name": inputs.get("name"), "maxEntries": 55, "entries": []}, []
        if token == "aws:ec2/getSecurityGroup:getSecurityGroup":
            filters = {f["name"]: f["values"][0] for f in inputs.get("filters") or []}
            vpc_id = inputs.get("vpcId") or filters.get("vpc-id", "vpc-0")
            group_name = inputs.get("name") or filters.get("group-name", "default")
            group_id = inputs.get("id") or f"sg-{_fake_id(vpc_id, group_name)}"
            arn = f"arn:aws:ec2:{region}:{ACCOUNT_ID}:security-group/{group_id}"
            return {"id": group_id, "name": group_name, "vpcId": vpc_id, "arn": arn}, []
        if token == "aws:route53/getZone:getZone":
            zone = inputs.get("name", "example.com")
            return {
                "zoneId": f"Z{_fake_id(zone, length=20).upper()}",
                "id": f"Z{_fake_id(zone, length=20).upper()}",
                "name": zone,
            }, []
        if token == "aws:route53/getRecords:getRecords":
            # The provider lists the whole zone and keeps the names matching name_regex, names as
            # the API returns them (trailing dot); TXT values keep their quotes.
            # hashicorp/terraform-provider-aws internal/service/route53/records_data_source.go
            pattern = re.compile(inputs.get("nameRegex") or "")
            sets = [
                {k: v for k, v in record.items() if k != "zoneId"}
                for record in self.zone_records
                if record["zoneId"] == inputs.get("zoneId") and pattern.search(record["name"])
            ]
            return {
                "zoneId": inputs.get("zoneId"),
                "nameRegex": inputs.get("nameRegex"),
                "resourceRecordSets": sets,
            }, []
        if token == "aws:ec2/getAmi:getAmi":
            return {
                "id": f"ami-{_fake_id(str(inputs.get('filters')))}",
                "imageId": f"ami-{_fake_id(str(inputs.get('filters')))}",
                "architecture": "arm64",
            }, []
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            return {"arn": "arn:aws:iam::582318560864:root", "id": "582318560864"}, []
        if token == "mongodbatlas:index/getAdvancedCluster:getAdvancedCluster":
            cname, project = inputs.get("name", "cluster"), str(inputs.get("projectId"))
            h = _fake_id(project, cname)
            strings = _atlas_connection_strings(project, cname)
            # privateSrv/private only for a peered project with custom DNS for AWS clusters on:
            # "For Amazon Web Services (AWS) clusters, this parameter returns only if you enable
            # custom DNS" (internal/service/advancedcluster/schema.go, connection_strings.private_srv;
            # and customDnsConfigurationClusterAws' `enabled`: "If true, the Get All Clusters and Get
            # One Cluster endpoints return the connectionStrings.private and
            # connectionStrings.privateSrv fields for clusters deployed to AWS"). Without it Atlas
            # omits both and the provider reads "" (model_ClusterDescription20240805.go).
            peered = project in self.atlas_peered_projects
            if peered and project in self.atlas_custom_dns_projects:
                # Host shape from the provider's example (docs/resources/advanced_cluster.md:
                # "mongodb+srv://cluster-atlas-pri.ygo1m.mongodb.net").
                strings["privateSrv"] = f"mongodb+srv://{cname}-pri.{h[:5]}.mongodb.net"
                strings["private"] = f"mongodb://{cname}-shard-00-00-pri.{h[:5]}.mongodb.net:27017"
            accepted = self.atlas_private_endpoints.get(project)
            if accepted:
                strings["privateEndpoints"].append(
                    {
                        "srvConnectionString": f"mongodb+srv://{cname}-pl-0.{h[:5]}.mongodb.net",
                        "srvShardOptimizedConnectionString": f"mongodb+srv://{cname}-pl-0.{h[:5]}.mongodb.net",
                        "connectionString": f"mongodb://pl-0-{self.region}.{h[:5]}.mongodb.net:1024",
                        "type": "MONGOD",
                        "endpoints": [{"endpointId": accepted, "providerName": "AWS", "region": self.region}],
                    }
                )
            return {"name": cname, "projectId": project, "connectionStrings": strings}, []
        if token == "aws:iam/getPolicy:getPolicy":
            # The offline account is one the bootstrap has run in: it holds the boundary policies
            # bootstrap/github_oidc.py creates (<project>-github-<environment>-boundary) and no other
            # customer policy but ``iam_policies``. internal/service/iam/policy_data_source.go: an
            # unknown ARN is an error, which the engine returns as the invoke's error (a failure, under the Mocks API).
            arn = str(inputs.get("arn", ""))
            name = arn.rsplit("/", 1)[-1]
            bootstrapped = (
                arn.startswith(f"arn:aws:iam::{ACCOUNT_ID}:policy/")
                and "-github-" in name
                and name.endswith("-boundary")
            )
            if not bootstrapped and arn not in self.iam_policies:
                return {}, [("arn", f"reading IAM Policy ({arn}): couldn't find resource")]
            return {"arn": arn, "id": arn, "name": name, "path": "/", "policy": "{}"}, []
        if token == "sentry:index/getSentryTeam:getSentryTeam":
            # jianyuan/terraform-provider-sentry v0.11.2 sentry/data_source_sentry_team.go: the id
            # is the slug; internal_id is Sentry's numeric team id, as a string.
            slug = inputs.get("slug", "team")
            return {
                "id": slug,
                "slug": slug,
                "organization": inputs.get("organization"),
                "internalId": str(int(_fake_id(slug)[:6], 16)),
                "name": slug,
            }, []
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return {"json": "{}", "id": "doc"}, []
        return {}, []


def _atlas_state_id(**values: Any) -> str:
    """The provider's resource id: sorted ``b64(key):b64(value)`` pairs joined by ``-``."""

    def b64(text: Any) -> str:
        return base64.b64encode(str(text).encode()).decode()

    return "-".join(f"{b64(key)}:{b64(values[key])}" for key in sorted(values))


def _atlas_connection_strings(project: str, cluster: str) -> dict[str, Any]:
    """A cluster's connection strings as the provider reads them with no private path enabled; the
    host is a function of the project and the cluster's name, as in Atlas, so the resource and the
    getAdvancedCluster invoke agree."""
    h = _fake_id(project, cluster)
    return {
        "standard": f"mongodb://{cluster}-shard-00-00.{h[:5]}.mongodb.net:27017",
        "standardSrv": f"mongodb+srv://{cluster}.{h[:5]}.mongodb.net",
        "private": "",
        "privateSrv": "",
        "privateEndpoints": [],
    }


class RecordingMonitor(MockMonitor):
    """A mock monitor that keeps the registration details the Mocks API does not pass on."""

    def __init__(self, mocks: RecordingMocks):
        super().__init__(mocks)
        self.captured: dict[str, Captured] = {}
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = _mark_secrets(rpc.deserialize_properties(request.object))
        registration = self.resources.get(response.urn)
        self.captured[response.urn] = Captured(
            urn=response.urn,
            type=request.type,
            name=request.name,
            inputs=inputs,
            outputs=dict(registration.state) if registration and registration.state else {},
            id=registration.id if registration else None,
            parent=request.parent,
            custom=request.custom,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=tuple(request.ignoreChanges),
            dependencies=tuple(request.dependencies),
            provider=request.provider,
            custom_timeouts={
                key: getattr(request.customTimeouts, key)
                for key in ("create", "update", "delete")
                if request.HasField("customTimeouts") and getattr(request.customTimeouts, key)
            },
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        outputs = _mark_secrets(rpc.deserialize_properties(request.outputs))
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.stack_outputs = outputs
        elif request.urn in self.captured:
            self.captured[request.urn].outputs.update(outputs)
        return super().RegisterResourceOutputs(request)
