"""The platform's guardrails as pure functions, shared by the CrossGuard pack and the unit tests.

A resource rule is ``check(resource_type, props, stack_kind) -> list[str]``: it returns one message
per violation (an empty list when the resource complies or the rule does not apply). ``props`` are
the resource's inputs as the engine sees them: camelCase keys, JSON documents as strings, secrets
already unwrapped (``Captured.plain_inputs`` in the tests, ``args.props`` in CrossGuard). Two rules
need a fact that is not an input, and say so in ``Rule.needs``:

- ``protect``: the engine's ``protect`` option (CrossGuard: ``args.opts.protect``; tests:
  ``Captured.protect``);
- ``secrets``: which inputs were passed as Pulumi secrets. The Python policy SDK unwraps secrets
  before a policy sees them, so such a rule runs in the unit tests only (over ``Captured.inputs``,
  whose secret values are wrapped in a marker object with a ``value`` attribute).

A stack rule sees every resource at once (to check that one resource is accompanied by another).

Enforcement follows the stack's declared topology (``platform:topology``), whatever the stack is
called: every rule is mandatory except on the ``staging`` topology, where a rule that staging
deliberately relaxes to save money is only advisory, and says why in ``staging_exception``. A
stack without a known topology is production, so a new stack is never under-protected.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

StackKind = Literal["production", "staging"]
Enforcement = Literal["mandatory", "advisory"]
Needs = Literal["props", "protect", "secrets"]

STACK_KINDS: tuple[StackKind, ...] = ("production", "staging")


TOPOLOGY_KEY = "platform:topology"


def stack_kind(topology: str | None) -> StackKind:
    """The stack's declared topology (``platform:topology``) decides, never its name: the
    ``staging`` topology relaxes what the table allows; every other topology, and a stack that
    declares none, is production."""
    return "staging" if topology == "staging" else "production"


# ---------------------------------------------------------------------------------------------
# Helpers over engine-shaped values

# Env-var and parameter names that hold credentials. Names are split on "_", "-", "/" and "."
# and matched word by word, so API_KEY and DD_API_KEY match but MONKEY or KEYBOARD_LAYOUT do not.
SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "DSN", "CREDENTIALS", "PRIVATE"})
SECRET_NAMES = frozenset({"DATABASE_URL", "MONGODB_URI", "MONGO_URL", "REDIS_URL", "CONNECTION_STRING"})
# Next.js inlines NEXT_PUBLIC_* into the browser bundle: such values are public by construction.
PUBLIC_PREFIXES = ("NEXT_PUBLIC_",)

DATABASE_PORTS = {5432: "PostgreSQL", 3306: "MySQL", 27017: "MongoDB", 6379: "Redis", 1433: "SQL Server"}
WORLD_OPEN_PORTS = frozenset({80, 443})
WORLD = ("0.0.0.0/0", "::/0")

TLS13_LISTENER_POLICY = re.compile(r"^ELBSecurityPolicy-TLS13-")
CLOUDFRONT_MIN_TLS = ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")
WAF_REQUIRED_GROUPS = {
    "AWSManagedRulesCommonRuleSet": "OWASP common threats incl. XSS",
    "AWSManagedRulesSQLiRuleSet": "SQL injection",
}
ATLAS_DEDICATED = re.compile(r"^M([1-9]\d+)$")
ADMIN_POLICY_ARNS = frozenset({"arn:aws:iam::aws:policy/AdministratorAccess"})
MIN_PROD_BACKUP_DAYS = 7


def looks_secret(name: str) -> bool:
    """Whether an env-var or parameter name suggests it holds a credential."""
    upper = name.upper()
    if upper.startswith(PUBLIC_PREFIXES):
        return False
    last = re.split(r"/", upper)[-1]
    if last in SECRET_NAMES:
        return True
    return bool(SECRET_WORDS & set(re.split(r"[_\-./]", last)))


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _items(value: Any) -> list[Any]:
    """A list input as a list (absent -> empty; a single object -> one item)."""
    if value is None:
        return []
    return list(value) if _is_list(value) else [value]


def _json(value: Any) -> Any:
    """A JSON document input (the engine carries IAM policies and task definitions as strings)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _statements(document: Any) -> list[Mapping[str, Any]]:
    parsed = _json(document)
    if not isinstance(parsed, Mapping):
        return []
    return [s for s in _items(parsed.get("Statement")) if isinstance(s, Mapping)]


def _port_range(from_port: Any, to_port: Any, protocol: Any) -> tuple[int, int]:
    if str(protocol).lower() in ("-1", "all"):
        return 0, 65535
    low = int(from_port) if from_port is not None else 0
    high = int(to_port) if to_port is not None else low
    return low, high


def _is_world(cidr: str) -> bool:
    return cidr in WORLD or cidr == "0.0.0.0"


@dataclass(frozen=True)
class _Ingress:
    cidrs: tuple[str, ...]
    low: int
    high: int


def _ingresses(resource_type: str, props: Mapping[str, Any]) -> Iterator[_Ingress]:
    """Every CIDR-sourced ingress permission a security-group resource grants."""
    if resource_type == "aws:ec2/securityGroup:SecurityGroup":
        for rule in _items(props.get("ingress")):
            cidrs = (*_items(rule.get("cidrBlocks")), *_items(rule.get("ipv6CidrBlocks")))
            yield _Ingress(
                tuple(cidrs), *_port_range(rule.get("fromPort"), rule.get("toPort"), rule.get("protocol"))
            )
    elif resource_type == "aws:ec2/securityGroupRule:SecurityGroupRule":
        if props.get("type") == "ingress":
            cidrs = (*_items(props.get("cidrBlocks")), *_items(props.get("ipv6CidrBlocks")))
            yield _Ingress(
                tuple(cidrs), *_port_range(props.get("fromPort"), props.get("toPort"), props.get("protocol"))
            )
    elif resource_type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        cidrs = tuple(c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c)
        yield _Ingress(
            cidrs, *_port_range(props.get("fromPort"), props.get("toPort"), props.get("ipProtocol"))
        )


def _container_definitions(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    parsed = _json(props.get("containerDefinitions"))
    return [c for c in _items(parsed) if isinstance(c, Mapping)]


def is_secret_marker(value: Any) -> bool:
    """A value the program passed as a Pulumi secret (tools.mocks.Secret or pulumi_policy.Secret)."""
    return type(value).__name__ == "Secret" and hasattr(value, "value")


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


# ---------------------------------------------------------------------------------------------
# The table


ResourceCheck = Callable[..., list[str]]
StackCheck = Callable[[Sequence[StackResource], StackKind], list[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    """One guardrail: what it checks, and how hard it is enforced on each kind of stack."""

    name: str
    """Policy name (CrossGuard: letters, digits and dashes)."""
    description: str
    resource_types: frozenset[str]
    """Types the rule inspects (documentation, and what the failing examples cover)."""
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    staging: Enforcement = "mandatory"
    staging_exception: str = ""
    """Why staging only gets advice; required when ``staging`` is advisory."""
    needs: Needs = "props"

    def enforcement(self, kind: StackKind) -> Enforcement:
        return "mandatory" if kind == "production" else self.staging

    def evaluate(
        self, resource_type: str, props: Mapping[str, Any], kind: StackKind, *, protected: bool = False
    ) -> list[str]:
        """Violations of a resource rule (``props`` carry secret markers when needs == "secrets")."""
        if self.check is None:
            return []
        if self.needs == "protect":
            return self.check(resource_type, props, kind, protected=protected)
        return self.check(resource_type, props, kind)


COST = "staging trades this for cost and disposability (seed: business-hours staging at $60-70/month)"

RULES: tuple[Rule, ...] = (
    Rule(
        "s3-public-access-block",
        "S3 public access blocks set all four flags",
        frozenset({"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"}),
        s3_public_access_block,
    ),
    Rule(
        "s3-tls-only",
        "S3 bucket policies deny requests without TLS",
        frozenset({"aws:s3/bucketPolicy:BucketPolicy"}),
        s3_tls_only,
    ),
    Rule(
        "s3-bucket-guarded",
        "Every S3 bucket has a public access block and a TLS-only bucket policy",
        S3_BUCKET_TYPES,
        stack_check=s3_bucket_guarded,
    ),
    Rule(
        "rds-encrypted",
        "RDS and Aurora storage is encrypted at rest",
        frozenset({"aws:rds/instance:Instance", "aws:rds/cluster:Cluster"}),
        rds_encrypted,
    ),
    Rule(
        "rds-private",
        "RDS and Aurora instances are not publicly accessible",
        frozenset({"aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"}),
        rds_private,
    ),
    Rule(
        "rds-deletion-safety",
        "Databases keep deletion protection on and take a final snapshot",
        frozenset({"aws:rds/instance:Instance", "aws:rds/cluster:Cluster"}),
        rds_deletion_safety,
        staging="advisory",
        staging_exception=f"{COST}: the staging database is torn down and rebuilt freely; no real data",
    ),
    Rule(
        "rds-backup-retention",
        f"Databases keep automated backups for at least {MIN_PROD_BACKUP_DAYS} days",
        frozenset({"aws:rds/instance:Instance", "aws:rds/cluster:Cluster"}),
        rds_backup_retention,
        staging="advisory",
        staging_exception=f"{COST}: staging keeps 1 day of backups of test data",
    ),
    Rule(
        "rds-multi-az",
        "RDS instances run Multi-AZ",
        frozenset({"aws:rds/instance:Instance"}),
        rds_multi_az,
        staging="advisory",
        staging_exception=f"{COST}: a single-AZ db.t4g.micro halves the database bill; downtime is acceptable",
    ),
    Rule(
        "kms-key-rotation",
        "Symmetric KMS keys rotate yearly",
        frozenset({"aws:kms/key:Key"}),
        kms_rotation,
    ),
    Rule(
        "log-group-retention",
        "CloudWatch log groups have a retention period",
        frozenset({"aws:cloudwatch/logGroup:LogGroup"}),
        log_group_retention,
    ),
    Rule(
        "log-group-encrypted",
        "CloudWatch log groups are encrypted with the stack's KMS key",
        frozenset({"aws:cloudwatch/logGroup:LogGroup"}),
        log_group_encrypted,
    ),
    Rule(
        "ssm-secure-string",
        "SSM parameters holding secrets are SecureStrings under the stack's KMS key",
        frozenset({"aws:ssm/parameter:Parameter"}),
        ssm_secure_string,
    ),
    Rule(
        "ecs-no-plain-secrets",
        "ECS task definitions pass no secret-looking variables in `environment`",
        frozenset({"aws:ecs/taskDefinition:TaskDefinition"}),
        ecs_no_plain_secrets,
    ),
    Rule(
        "ecs-read-only-root",
        "ECS containers run with a read-only root filesystem",
        frozenset({"aws:ecs/taskDefinition:TaskDefinition"}),
        ecs_read_only_root,
    ),
    Rule(
        "ecs-private-tasks",
        "ECS tasks run in private subnets without public IPs",
        frozenset({"aws:ecs/service:Service"}),
        ecs_private_tasks,
        staging="advisory",
        staging_exception=(
            f"{COST}: network.nat 'none' saves a NAT gateway (~$45/month); tasks get public IPs in "
            "public subnets but accept traffic only from the ALB's security group"
        ),
    ),
    Rule(
        "sg-no-world-ingress",
        "Security groups admit the internet only on 80/443",
        SECURITY_GROUP_TYPES,
        sg_no_world_ingress,
    ),
    Rule(
        "sg-no-database-port-cidr",
        "No security group rule opens a database port to a CIDR range",
        SECURITY_GROUP_TYPES,
        sg_no_database_port_cidr,
    ),
    Rule(
        "database-sg-no-cidr",
        "Databases' security groups admit security groups only, never CIDR ranges",
        SECURITY_GROUP_TYPES | DATABASE_TYPES,
        stack_check=database_sg_no_cidr,
    ),
    Rule(
        "alb-drop-invalid-headers",
        "Application load balancers drop invalid HTTP headers",
        LOAD_BALANCER_TYPES,
        alb_drop_invalid_headers,
    ),
    Rule(
        "alb-access-logs",
        "Load balancers write access logs",
        LOAD_BALANCER_TYPES,
        alb_access_logs,
    ),
    Rule(
        "listener-tls",
        "HTTPS listeners use a TLS 1.3 policy; HTTP listeners only redirect to HTTPS",
        LISTENER_TYPES,
        listener_tls,
        staging="advisory",
        staging_exception=(
            f"{COST}: without platform:dns.domain staging serves plain HTTP on the ALB's own name "
            "(no certificate is possible for *.elb.amazonaws.com)"
        ),
    ),
    Rule(
        "cloudfront-tls",
        "CloudFront requires HTTPS from viewers with TLSv1.2_2021 or newer",
        frozenset({"aws:cloudfront/distribution:Distribution"}),
        cloudfront_tls,
    ),
    Rule(
        "cloudfront-waf",
        "CloudFront distributions are protected by a WAF web ACL",
        frozenset({"aws:cloudfront/distribution:Distribution"}),
        cloudfront_waf,
    ),
    Rule(
        "waf-managed-rules",
        "WAF web ACLs enforce AWS's common (XSS) and SQL-injection rule groups",
        frozenset({"aws:wafv2/webAcl:WebAcl"}),
        waf_managed_rules,
    ),
    Rule(
        "iam-no-wildcard-admin",
        "IAM policies never allow every action on every resource",
        IAM_POLICY_TYPES,
        iam_no_wildcard_admin,
    ),
    Rule(
        "atlas-no-open-access",
        "MongoDB Atlas access lists never admit the whole internet",
        frozenset({ATLAS_ACCESS_LIST}),
        atlas_no_open_access,
    ),
    Rule(
        "atlas-backup",
        "Dedicated MongoDB Atlas clusters have cloud backup on",
        ATLAS_CLUSTER_TYPES,
        atlas_backup,
    ),
    Rule(
        "vercel-sensitive-env",
        "Vercel environment variables with secret-looking keys are sensitive",
        VERCEL_ENV_TYPES,
        vercel_sensitive_env,
    ),
    Rule(
        "render-secret-env",
        "Render environment variables with secret-looking keys carry Pulumi secrets",
        RENDER_ENV_TYPES,
        render_secret_env,
        needs="secrets",
    ),
    Rule(
        "data-store-protected",
        "Databases are protected from `pulumi destroy` (protect=True)",
        DATA_STORE_TYPES,
        data_store_protected,
        staging="advisory",
        staging_exception=f"{COST}: `pulumi destroy` of staging must be able to remove its database",
        needs="protect",
    ),
)

RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


# ---------------------------------------------------------------------------------------------
# Whole stacks: what the unit tests and the offline preview run over captured resources.


@dataclass(frozen=True)
class Finding:
    """One violation of one rule by one resource."""

    rule: Rule
    resource: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule.name} on {self.resource}: {self.message}"


def findings(kind: StackKind, resources: Sequence[Any]) -> list[Finding]:
    """Every violation in a stack's captured resources.

    ``resources`` are the offline run's captured registrations (``tools.mocks.Captured``): each
    has ``urn``, ``name``, ``type``, ``inputs`` (secrets marked), ``plain_inputs``, ``protect``
    and ``dependencies``.
    """
    found: list[Finding] = []
    for resource in resources:
        for rule in RULES:
            if rule.check is None or resource.type not in rule.resource_types:
                continue
            props = resource.inputs if rule.needs == "secrets" else resource.plain_inputs
            for message in rule.evaluate(resource.type, props, kind, protected=resource.protect):
                found.append(Finding(rule, resource.name, message))
    everything = [StackResource(r.urn, r.type, r.plain_inputs, frozenset(r.dependencies)) for r in resources]
    names = {r.urn: r.name for r in resources}
    for rule in RULES:
        if rule.stack_check is not None:
            found += [
                Finding(rule, names[urn], message) for urn, message in rule.stack_check(everything, kind)
            ]
    return found


def evaluate(run: Any) -> tuple[list[str], list[str]]:
    """(mandatory violations, advisory findings) of an offline run (``tools.harness.Run``)."""
    kind = stack_kind(run.config.get(TOPOLOGY_KEY))
    mandatory, advisory = [], []
    for finding in findings(kind, run.resources):
        (mandatory if finding.rule.enforcement(kind) == "mandatory" else advisory).append(str(finding))
    return mandatory, advisory
