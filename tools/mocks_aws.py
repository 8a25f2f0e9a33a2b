"""The recording mocks' answers for the AWS provider: resource outputs and invokes.

Each answer imitates what pulumi-aws (hashicorp/terraform-provider-aws underneath) reads back;
the comments cite where the behaviour is documented.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tools.mocks_naming import fake_id

if TYPE_CHECKING:
    from tools.mocks import RecordingMocks

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
# The id prefix of EC2 resources, whose id (and ARN) is EC2's own rather than the name.
EC2_ID_PREFIXES = {
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


def aws_outputs(
    mocks: RecordingMocks, typ: str, logical: str, name: str, inputs: dict[str, Any], region: str, h: str
) -> dict[str, Any]:
    """The outputs the AWS provider adds to (or, under ``__drop``, removes from) an AWS resource's
    inputs; ``__id`` is its id when it is not the default."""
    acct = ACCOUNT_ID
    if typ == "aws:ec2/vpc:Vpc":
        return {"defaultSecurityGroupId": f"sg-{h[::-1][:17]}", "mainRouteTableId": f"rtb-{h[1:18]}"}
    if typ == "aws:ec2/eip:Eip":
        n = int(h[:4], 16)
        mocks.eip_public_ips[f"eipalloc-{h}"] = f"203.0.113.{n % 250 + 1}"
        return {"publicIp": f"203.0.113.{n % 250 + 1}", "allocationId": f"eipalloc-{h}"}
    if typ == "aws:ec2/natGateway:NatGateway":
        n = int(h[:4], 16)
        return {"publicIp": f"198.51.100.{n % 250 + 1}"}
    if typ == "aws:ec2/networkInterface:NetworkInterface":
        # vpc_network_interface.go: source_dest_check is Optional with Default true.
        check = inputs.get("sourceDestCheck", True)
        mocks.eni_source_dest_check[f"eni-{h}"] = check
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
        check = mocks.eni_source_dest_check.get(eni, True) if given else inputs.get("sourceDestCheck", True)
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
        public_ip = mocks.eip_public_ips.get(str(inputs.get("allocationId")), "")
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
        key_id = f"{h[:8]}-{h[8:12]}-4{h[12:15]}-8{h[15:18]}-{fake_id(h, length=12)}"
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
        cert_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{fake_id(h, length=12)}"
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
    if typ == "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter":
        # The accepter is the connection itself: its id is the pcx- id it accepted.
        pcx = inputs.get("vpcPeeringConnectionId")
        return {"__id": pcx, "acceptStatus": "active"}
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
    return {}


def aws_invoke(
    mocks: RecordingMocks, token: str, inputs: dict[str, Any], region: str
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The answer of an AWS invoke and its failures (property, reason)."""
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
        group_id = inputs.get("id") or f"sg-{fake_id(vpc_id, group_name)}"
        arn = f"arn:aws:ec2:{region}:{ACCOUNT_ID}:security-group/{group_id}"
        return {"id": group_id, "name": group_name, "vpcId": vpc_id, "arn": arn}, []
    if token == "aws:route53/getZone:getZone":
        zone = inputs.get("name", "example.com")
        return {
            "zoneId": f"Z{fake_id(zone, length=20).upper()}",
            "id": f"Z{fake_id(zone, length=20).upper()}",
            "name": zone,
        }, []
    if token == "aws:route53/getRecords:getRecords":
        # The provider lists the whole zone and keeps the names matching name_regex, names as
        # the API returns them (trailing dot); TXT values keep their quotes.
        # hashicorp/terraform-provider-aws internal/service/route53/records_data_source.go
        pattern = re.compile(inputs.get("nameRegex") or "")
        sets = [
            {k: v for k, v in record.items() if k != "zoneId"}
            for record in mocks.zone_records
            if record["zoneId"] == inputs.get("zoneId") and pattern.search(record["name"])
        ]
        return {
            "zoneId": inputs.get("zoneId"),
            "nameRegex": inputs.get("nameRegex"),
            "resourceRecordSets": sets,
        }, []
    if token == "aws:ec2/getAmi:getAmi":
        return {
            "id": f"ami-{fake_id(str(inputs.get('filters')))}",
            "imageId": f"ami-{fake_id(str(inputs.get('filters')))}",
            "architecture": "arm64",
        }, []
    if token == "aws:elb/getServiceAccount:getServiceAccount":
        return {"arn": "arn:aws:iam::582318560864:root", "id": "582318560864"}, []
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
        if not bootstrapped and arn not in mocks.iam_policies:
            return {}, [("arn", f"reading IAM Policy ({arn}): couldn't find resource")]
        return {"arn": arn, "id": arn, "name": name, "path": "/", "policy": "{}"}, []
    if token == "aws:iam/getPolicyDocument:getPolicyDocument":
        return {"json": "{}", "id": "doc"}, []
    return {}, []
