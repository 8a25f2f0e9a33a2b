"""The guardrails' checks, as pure functions; ``rules.py`` tables them with their enforcement.

A resource check is ``check(resource_type, props, stack_kind) -> list[str]``: it returns one message
per violation (an empty list when the resource complies or the check does not apply). ``props`` are
the resource's inputs as the engine sees them: camelCase keys, JSON documents as strings, secrets
already unwrapped, except for the checks whose rule ``needs`` secret markers or the ``protect``
option (see ``rules.py``).

A stack check sees every resource at once (to check that one resource is accompanied by another)
and returns ``(urn, message)`` pairs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

# The pack runs as a script with policy/ itself on sys.path (pulumi.policy's runpy.run_path), so
# there its modules import each other by bare name; tools/preview.py imports them as `policy.*`.
if __package__:
    from .resource_inputs import (
        _container_definitions,
        _ingresses,
        _is_world,
        _items,
        _statements,
        is_secret_marker,
        looks_secret,
    )
else:
    from resource_inputs import (
        _container_definitions,
        _ingresses,
        _is_world,
        _items,
        _statements,
        is_secret_marker,
        looks_secret,
    )

StackKind = Literal["production", "staging"]

DATABASE_PORTS = {5432: "PostgreSQL", 3306: "MySQL", 27017: "MongoDB", 6379: "Redis", 1433: "SQL Server"}
WORLD_OPEN_PORTS = frozenset({80, 443})

TLS13_LISTENER_POLICY = re.compile(r"^ELBSecurityPolicy-TLS13-")
CLOUDFRONT_MIN_TLS = ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")
WAF_REQUIRED_GROUPS = {
    "AWSManagedRulesCommonRuleSet": "OWASP common threats incl. XSS",
    "AWSManagedRulesSQLiRuleSet": "SQL injection",
}
ATLAS_DEDICATED = re.compile(r"^M([1-9]\d+)$")
ADMIN_POLICY_ARNS = frozenset({"arn:aws:iam::aws:policy/AdministratorAccess"})
MIN_PROD_BACKUP_DAYS = 7


# ---------------------------------------------------------------------------------------------
# Resource rules: check(resource_type, props, stack_kind) -> violations

S3_BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def s3_public_access_block(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        return []
    off = [flag for flag in PUBLIC_ACCESS_FLAGS if props.get(flag) is not True]
    return [f"public access block must set {', '.join(off)} to true"] if off else []


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
    return str(secure).lower() == "false" and "s3:*" in _items(statement.get("Action"))


def s3_tls_only(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:s3/bucketPolicy:BucketPolicy":
        return []
    if any(_denies_plain_http(s) for s in _statements(props.get("policy"))):
        return []
    return ['bucket policy must deny s3:* when "aws:SecureTransport" is "false" (TLS only)']


def rds_encrypted(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type not in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"):
        return []
    return [] if props.get("storageEncrypted") is True else ["storageEncrypted must be true"]


def rds_private(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type not in ("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"):
        return []
    return ["publiclyAccessible must be false"] if props.get("publiclyAccessible") is True else []


def rds_deletion_safety(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type not in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"):
        return []
    problems = []
    if props.get("deletionProtection") is not True:
        problems.append("deletionProtection must be true")
    if props.get("skipFinalSnapshot") is not False or not props.get("finalSnapshotIdentifier"):
        problems.append("skipFinalSnapshot must be false with a finalSnapshotIdentifier")
    return problems


def rds_backup_retention(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type not in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"):
        return []
    # AWS keeps 1 day when the argument is omitted.
    days = int(props.get("backupRetentionPeriod", 1))
    if days >= MIN_PROD_BACKUP_DAYS:
        return []
    return [f"backupRetentionPeriod is {days} days; keep at least {MIN_PROD_BACKUP_DAYS}"]


def rds_multi_az(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:rds/instance:Instance":
        return []
    return [] if props.get("multiAz") is True else ["multiAz must be true (a standby in a second AZ)"]


def kms_rotation(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:kms/key:Key":
        return []
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT" or props.get("enableKeyRotation") is True:
        return []
    return ["enableKeyRotation must be true"]


def log_group_retention(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:cloudwatch/logGroup:LogGroup":
        return []
    days = props.get("retentionInDays")
    return [] if days else ["retentionInDays must be set (0 or unset keeps logs, and their cost, forever)"]


def log_group_encrypted(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:cloudwatch/logGroup:LogGroup":
        return []
    return [] if props.get("kmsKeyId") else ["kmsKeyId must name the stack's KMS key"]


def ssm_secure_string(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:ssm/parameter:Parameter":
        return []
    name = str(props.get("name") or "")
    if not looks_secret(name):
        return []
    problems = []
    if props.get("type") != "SecureString":
        problems.append(f"{name} looks like a secret: type must be SecureString (got {props.get('type')!r})")
    elif not props.get("keyId"):
        problems.append(f"{name}: keyId must name the stack's KMS key, whose key policy limits who decrypts")
    return problems


def ecs_no_plain_secrets(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:ecs/taskDefinition:TaskDefinition":
        return []
    return [
        f"container {c.get('name')!r}: {e.get('name')} is a plain environment variable; "
        "inject it through `secrets` from SSM"
        for c in _container_definitions(props)
        for e in _items(c.get("environment"))
        if looks_secret(str(e.get("name", "")))
    ]


def ecs_read_only_root(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:ecs/taskDefinition:TaskDefinition":
        return []
    return [
        f"container {c.get('name')!r}: readonlyRootFilesystem must be true"
        for c in _container_definitions(props)
        if c.get("readonlyRootFilesystem") is not True
    ]


def ecs_private_tasks(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:ecs/service:Service":
        return []
    network = props.get("networkConfiguration") or {}
    if network.get("assignPublicIp") is True:
        return ["tasks get public IPs: run them in private subnets (assignPublicIp false)"]
    return []


SECURITY_GROUP_TYPES = frozenset(
    {
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    }
)


def sg_no_world_ingress(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    problems = []
    for ingress in _ingresses(resource_type, props):
        world = [c for c in ingress.cidrs if _is_world(c)]
        web = ingress.low == ingress.high and ingress.low in WORLD_OPEN_PORTS
        if world and not web:
            problems.append(
                f"ingress from {world[0]} on ports {ingress.low}-{ingress.high}: only 80/443 "
                "(a public load balancer) may be open to the internet"
            )
    return problems


def sg_no_database_port_cidr(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    """A rule that opens exactly a database port to a CIDR range (wide ranges on forwarding
    devices such as a NAT instance are not database access; database SGs: see database_sg_no_cidr)."""
    return [
        f"{DATABASE_PORTS[ingress.low]} port {ingress.low} open to {', '.join(ingress.cidrs)}: "
        "allow database ports from a security group only"
        for ingress in _ingresses(resource_type, props)
        if ingress.cidrs and ingress.low == ingress.high and ingress.low in DATABASE_PORTS
    ]


LOAD_BALANCER_TYPES = frozenset({"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"})
LISTENER_TYPES = frozenset({"aws:lb/listener:Listener", "aws:alb/listener:Listener"})


def alb_drop_invalid_headers(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if (
        resource_type not in LOAD_BALANCER_TYPES
        or props.get("loadBalancerType", "application") != "application"
    ):
        return []
    return [] if props.get("dropInvalidHeaderFields") is True else ["dropInvalidHeaderFields must be true"]


def alb_access_logs(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type not in LOAD_BALANCER_TYPES:
        return []
    logs = props.get("accessLogs") or {}
    return (
        []
        if logs.get("enabled") is True and logs.get("bucket")
        else ["accessLogs must be enabled with a bucket"]
    )


def listener_tls(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type not in LISTENER_TYPES:
        return []
    protocol = props.get("protocol")
    if protocol == "HTTPS":
        policy = str(props.get("sslPolicy") or "")
        return (
            []
            if TLS13_LISTENER_POLICY.match(policy)
            else [f"sslPolicy {policy or '(default)'} is not a TLS 1.3 policy"]
        )
    if protocol == "HTTP":
        actions = _items(props.get("defaultActions"))
        redirects = all(
            a.get("type") == "redirect" and (a.get("redirect") or {}).get("protocol") == "HTTPS"
            for a in actions
        )
        return [] if actions and redirects else ["an HTTP listener must only redirect to HTTPS"]
    return []


def _viewer_policies(props: Mapping[str, Any]) -> list[str]:
    behaviours = [props.get("defaultCacheBehavior") or {}, *_items(props.get("orderedCacheBehaviors"))]
    return [str(b.get("viewerProtocolPolicy")) for b in behaviours]


def cloudfront_tls(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:cloudfront/distribution:Distribution":
        return []
    problems = []
    certificate = props.get("viewerCertificate") or {}
    if certificate.get("cloudfrontDefaultCertificate") is True:
        problems.append("the default *.cloudfront.net certificate allows TLSv1; use an ACM certificate")
    elif certificate.get("minimumProtocolVersion") not in CLOUDFRONT_MIN_TLS:
        problems.append(
            f"minimumProtocolVersion {certificate.get('minimumProtocolVersion')!r} is below TLSv1.2_2021"
        )
    plain = sorted({p for p in _viewer_policies(props) if p not in ("redirect-to-https", "https-only")})
    if plain:
        problems.append(f"viewerProtocolPolicy {plain} lets viewers use HTTP; use redirect-to-https")
    return problems


def cloudfront_waf(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:cloudfront/distribution:Distribution":
        return []
    return [] if props.get("webAclId") else ["webAclId must attach the WAF web ACL"]


def waf_managed_rules(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != "aws:wafv2/webAcl:WebAcl":
        return []
    enforced = set()
    for rule in _items(props.get("rules")):
        group = ((rule.get("statement") or {}).get("managedRuleGroupStatement")) or {}
        counting = "count" in (rule.get("overrideAction") or {})
        if group.get("vendorName") == "AWS" and not counting:
            enforced.add(group.get("name"))
    return [
        f"web ACL must enforce the AWS managed rule group {name} ({what}), not only count it"
        for name, what in WAF_REQUIRED_GROUPS.items()
        if name not in enforced
    ]


IAM_POLICY_TYPES = frozenset(
    {
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
        "aws:iam/role:Role",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    }
)


def _grants_everything(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    actions = set(_items(statement.get("Action")))
    resources = set(_items(statement.get("Resource")))
    return bool(actions & {"*", "*:*"} or "NotAction" in statement) and "*" in resources


def iam_no_wildcard_admin(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type not in IAM_POLICY_TYPES:
        return []
    documents = [props.get("policy")]
    if resource_type == "aws:iam/role:Role":
        documents = [p.get("policy") for p in _items(props.get("inlinePolicies"))]
    problems = [
        'a statement allows Action "*" (or NotAction) on Resource "*": scope actions and ARNs'
        for document in documents
        for statement in _statements(document)
        if _grants_everything(statement)
    ]
    arns = {props.get("policyArn"), *_items(props.get("managedPolicyArns"))}
    problems += [
        f"{arn} grants everything; attach a scoped policy" for arn in sorted(arns & ADMIN_POLICY_ARNS)
    ]
    return problems


ATLAS_ACCESS_LIST = "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList"
ATLAS_CLUSTER_TYPES = frozenset(
    {
        "mongodbatlas:index/advancedCluster:AdvancedCluster",
        "mongodbatlas:index/cluster:Cluster",
    }
)


def atlas_no_open_access(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type != ATLAS_ACCESS_LIST:
        return []
    entry = props.get("cidrBlock") or props.get("ipAddress")
    if entry and _is_world(str(entry)):
        return [f"access list entry {entry} opens the cluster to the whole internet"]
    if props.get("cidrBlock"):
        network = ipaddress.ip_network(str(props["cidrBlock"]), strict=False)
        if network.prefixlen < 8:
            return [f"access list entry {network} is too broad"]
    return []


def _atlas_tiers(props: Mapping[str, Any]) -> set[str]:
    tiers = {str(props.get("providerInstanceSizeName") or "")}
    for spec in _items(props.get("replicationSpecs")):
        for region in _items(spec.get("regionConfigs")):
            tiers.add(str((region.get("electableSpecs") or {}).get("instanceSize") or ""))
    return {t for t in tiers if t}


def atlas_backup(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type not in ATLAS_CLUSTER_TYPES:
        return []
    dedicated = sorted(t for t in _atlas_tiers(props) if ATLAS_DEDICATED.match(t))
    enabled = props.get("backupEnabled") is True or props.get("cloudBackup") is True
    if dedicated and not enabled:
        return [f"dedicated tier {dedicated[0]} must have backupEnabled (M0/Flex clusters cannot)"]
    return []


VERCEL_ENV_TYPES = frozenset(
    {
        "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable",
        "vercel:index/projectEnvironmentVariables:ProjectEnvironmentVariables",
        "vercel:index/sharedEnvironmentVariable:SharedEnvironmentVariable",
        "vercel:index/project:Project",
    }
)


def vercel_sensitive_env(resource_type: str, props: Mapping[str, Any], kind: StackKind) -> list[str]:
    if resource_type not in VERCEL_ENV_TYPES:
        return []
    if resource_type.endswith(":ProjectEnvironmentVariables"):
        variables = _items(props.get("variables"))
    elif resource_type.endswith(":Project"):
        variables = _items(props.get("environments"))
    else:
        variables = [props]
    return [
        f"{v.get('key')} looks like a secret: set sensitive = true"
        for v in variables
        if looks_secret(str(v.get("key", ""))) and v.get("sensitive") is not True
    ]


RENDER_ENV_TYPES = frozenset(
    {
        "render:services:WebService",
        "render:services:PrivateService",
        "render:services:BackgroundWorker",
        "render:services:CronJob",
        "render:services:EnvVarsForService",
        "render:services:EnvVar",
        "render:env_groups:EnvGroup",
    }
)


def _render_variables(resource_type: str, inputs: Mapping[str, Any]) -> list[tuple[str, Any]]:
    if resource_type.endswith(":EnvVar"):
        return [(str(inputs.get("envVarKey", "")), inputs.get("value"))]
    if is_secret_marker(inputs.get("envVars")):
        return []  # the whole list is one secret: every value in it is secret
    return [
        (str(v.get("key", "")), v.get("value"))
        for v in _items(inputs.get("envVars"))
        if isinstance(v, Mapping)
    ]


def render_secret_env(resource_type: str, inputs: Mapping[str, Any], kind: StackKind) -> list[str]:
    """Needs secret markers: ``inputs`` keep a marker object around each secret value."""
    if resource_type not in RENDER_ENV_TYPES:
        return []
    return [
        f"{key} looks like a secret but its value is not a Pulumi secret"
        for key, value in _render_variables(resource_type, inputs)
        if looks_secret(key) and value is not None and not is_secret_marker(value)
    ]


DATA_STORE_TYPES = frozenset(
    {
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "mongodbatlas:index/advancedCluster:AdvancedCluster",
        "mongodbatlas:index/cluster:Cluster",
        "mongodbatlas:index/flexCluster:FlexCluster",
        # components/platforms/supabase.py: the dynamic provider's Supabase project.
        "pulumi-python:dynamic/supabase:Project",
    }
)


def data_store_protected(
    resource_type: str, props: Mapping[str, Any], kind: StackKind, *, protected: bool
) -> list[str]:
    if resource_type not in DATA_STORE_TYPES or protected:
        return []
    return ["a data store must be created with protect=True so `pulumi destroy` cannot delete it"]


# ---------------------------------------------------------------------------------------------
# Stack rules: see every resource, for "X always comes with Y"


@dataclass(frozen=True)
class StackResource:
    """What a stack rule knows about one resource."""

    urn: str
    type: str
    props: Mapping[str, Any]
    dependencies: frozenset[str]
    """URNs of the resources this one's inputs refer to."""


def s3_bucket_guarded(resources: Sequence[StackResource], kind: StackKind) -> list[tuple[str, str]]:
    """Every bucket has a public access block and a TLS-only bucket policy."""
    blocked = {
        dep
        for r in resources
        if r.type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
        and not s3_public_access_block(r.type, r.props, kind)
        for dep in r.dependencies
    }
    tls_only = {
        dep
        for r in resources
        if r.type == "aws:s3/bucketPolicy:BucketPolicy" and not s3_tls_only(r.type, r.props, kind)
        for dep in r.dependencies
    }
    problems = []
    for bucket in (r for r in resources if r.type in S3_BUCKET_TYPES):
        if bucket.urn not in blocked:
            problems.append((bucket.urn, "bucket has no public access block with all four flags on"))
        if bucket.urn not in tls_only:
            problems.append((bucket.urn, "bucket has no bucket policy that denies plain HTTP"))
    return problems


DATABASE_TYPES = frozenset({"aws:rds/instance:Instance", "aws:rds/cluster:Cluster"})


def database_sg_no_cidr(resources: Sequence[StackResource], kind: StackKind) -> list[tuple[str, str]]:
    """The security groups a database uses admit other security groups only, never CIDR ranges."""
    groups = {r.urn for r in resources if r.type == "aws:ec2/securityGroup:SecurityGroup"}
    database_groups = {dep for r in resources if r.type in DATABASE_TYPES for dep in r.dependencies & groups}
    problems = []
    for resource in resources:
        on_database_group = resource.urn in database_groups or (
            resource.type != "aws:ec2/securityGroup:SecurityGroup" and resource.dependencies & database_groups
        )
        if not on_database_group:
            continue
        for ingress in _ingresses(resource.type, resource.props):
            if ingress.cidrs:
                problems.append(
                    (
                        resource.urn,
                        f"database security group admits {', '.join(ingress.cidrs)}: use a security group",
                    )
                )
    return problems
