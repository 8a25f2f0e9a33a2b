"""The platform's guardrails, shared by the CrossGuard pack and the unit tests.

Each ``Rule`` names a check from ``checks.py`` (the helpers it reads inputs with are in
``resource_inputs.py``) and says how hard it is enforced. Resource checks see a resource's inputs
as the engine does (``Captured.plain_inputs`` in the tests, ``args.props`` in CrossGuard). Two rules
need a fact that is not an input, and say so in ``Rule.needs``:

- ``protect``: the engine's ``protect`` option (CrossGuard: ``args.opts.protect``; tests:
  ``Captured.protect``);
- ``secrets``: which inputs were passed as Pulumi secrets. The Python policy SDK unwraps secrets
  before a policy sees them, so such a rule runs in the unit tests only (over ``Captured.inputs``,
  whose secret values are wrapped in a marker object with a ``value`` attribute).

Enforcement follows the stack's declared topology (``platform:topology``), whatever the stack is
called: every rule is mandatory except on the ``staging`` topology, where a rule that staging
deliberately relaxes to save money is only advisory, and says why in ``staging_exception``. A
stack without a known topology is production, so a new stack is never under-protected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

# See checks.py: bare imports when the pack runs as a script, relative ones in the package.
if __package__:
    from . import checks, resource_inputs
else:
    import checks
    import resource_inputs

# Names the pack (__main__.py), the tests and tools/preview.py read from here.
StackKind = checks.StackKind
StackResource = checks.StackResource
looks_secret = resource_inputs.looks_secret
_items = resource_inputs._items

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
        checks.s3_public_access_block,
    ),
    Rule(
        "s3-tls-only",
        "S3 bucket policies deny requests without TLS",
        frozenset({"aws:s3/bucketPolicy:BucketPolicy"}),
        checks.s3_tls_only,
    ),
    Rule(
        "s3-bucket-guarded",
        "Every S3 bucket has a public access block and a TLS-only bucket policy",
        checks.S3_BUCKET_TYPES,
        stack_check=checks.s3_bucket_guarded,
    ),
    Rule(
        "rds-encrypted",
        "RDS and Aurora storage is encrypted at rest",
        frozenset({"aws:rds/instance:Instance", "aws:rds/cluster:Cluster"}),
        checks.rds_encrypted,
    ),
    Rule(
        "rds-private",
        "RDS and Aurora instances are not publicly accessible",
        frozenset({"aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"}),
        checks.rds_private,
    ),
    Rule(
        "rds-deletion-safety",
        "Databases keep deletion protection on and take a final snapshot",
        frozenset({"aws:rds/instance:Instance", "aws:rds/cluster:Cluster"}),
        checks.rds_deletion_safety,
        staging="advisory",
        staging_exception=f"{COST}: the staging database is torn down and rebuilt freely; no real data",
    ),
    Rule(
        "rds-backup-retention",
        f"Databases keep automated backups for at least {checks.MIN_PROD_BACKUP_DAYS} days",
        frozenset({"aws:rds/instance:Instance", "aws:rds/cluster:Cluster"}),
        checks.rds_backup_retention,
        staging="advisory",
        staging_exception=f"{COST}: staging keeps 1 day of backups of test data",
    ),
    Rule(
        "rds-multi-az",
        "RDS instances run Multi-AZ",
        frozenset({"aws:rds/instance:Instance"}),
        checks.rds_multi_az,
        staging="advisory",
        staging_exception=f"{COST}: a single-AZ db.t4g.micro halves the database bill; downtime is acceptable",
    ),
    Rule(
        "kms-key-rotation",
        "Symmetric KMS keys rotate yearly",
        frozenset({"aws:kms/key:Key"}),
        checks.kms_rotation,
    ),
    Rule(
        "log-group-retention",
        "CloudWatch log groups have a retention period",
        frozenset({"aws:cloudwatch/logGroup:LogGroup"}),
        checks.log_group_retention,
    ),
    Rule(
        "log-group-encrypted",
        "CloudWatch log groups are encrypted with the stack's KMS key",
        frozenset({"aws:cloudwatch/logGroup:LogGroup"}),
        checks.log_group_encrypted,
    ),
    Rule(
        "ssm-secure-string",
        "SSM parameters holding secrets are SecureStrings under the stack's KMS key",
        frozenset({"aws:ssm/parameter:Parameter"}),
        checks.ssm_secure_string,
    ),
    Rule(
        "ecs-no-plain-secrets",
        "ECS task definitions pass no secret-looking variables in `environment`",
        frozenset({"aws:ecs/taskDefinition:TaskDefinition"}),
        checks.ecs_no_plain_secrets,
    ),
    Rule(
        "ecs-read-only-root",
        "ECS containers run with a read-only root filesystem",
        frozenset({"aws:ecs/taskDefinition:TaskDefinition"}),
        checks.ecs_read_only_root,
    ),
    Rule(
        "ecs-private-tasks",
        "ECS tasks run in private subnets without public IPs",
        frozenset({"aws:ecs/service:Service"}),
        checks.ecs_private_tasks,
        staging="advisory",
        staging_exception=(
            f"{COST}: network.nat 'none' saves a NAT gateway (~$45/month); tasks get public IPs in "
            "public subnets but accept traffic only from the ALB's security group"
        ),
    ),
    Rule(
        "sg-no-world-ingress",
        "Security groups admit the internet only on 80/443",
        checks.SECURITY_GROUP_TYPES,
        checks.sg_no_world_ingress,
    ),
    Rule(
        "sg-no-database-port-cidr",
        "No security group rule opens a database port to a CIDR range",
        checks.SECURITY_GROUP_TYPES,
        checks.sg_no_database_port_cidr,
    ),
    Rule(
        "database-sg-no-cidr",
        "Databases' security groups admit security groups only, never CIDR ranges",
        checks.SECURITY_GROUP_TYPES | checks.DATABASE_TYPES,
        stack_check=checks.database_sg_no_cidr,
    ),
    Rule(
        "alb-drop-invalid-headers",
        "Application load balancers drop invalid HTTP headers",
        checks.LOAD_BALANCER_TYPES,
        checks.alb_drop_invalid_headers,
    ),
    Rule(
        "alb-access-logs",
        "Load balancers write access logs",
        checks.LOAD_BALANCER_TYPES,
        checks.alb_access_logs,
    ),
    Rule(
        "listener-tls",
        "HTTPS listeners use a TLS 1.3 policy; HTTP listeners only redirect to HTTPS",
        checks.LISTENER_TYPES,
        checks.listener_tls,
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
        checks.cloudfront_tls,
    ),
    Rule(
        "cloudfront-waf",
        "CloudFront distributions are protected by a WAF web ACL",
        frozenset({"aws:cloudfront/distribution:Distribution"}),
        checks.cloudfront_waf,
    ),
    Rule(
        "waf-managed-rules",
        "WAF web ACLs enforce AWS's common (XSS) and SQL-injection rule groups",
        frozenset({"aws:wafv2/webAcl:WebAcl"}),
        checks.waf_managed_rules,
    ),
    Rule(
        "iam-no-wildcard-admin",
        "IAM policies never allow every action on every resource",
        checks.IAM_POLICY_TYPES,
        checks.iam_no_wildcard_admin,
    ),
    Rule(
        "atlas-no-open-access",
        "MongoDB Atlas access lists never admit the whole internet",
        frozenset({checks.ATLAS_ACCESS_LIST}),
        checks.atlas_no_open_access,
    ),
    Rule(
        "atlas-backup",
        "Dedicated MongoDB Atlas clusters have cloud backup on",
        checks.ATLAS_CLUSTER_TYPES,
        checks.atlas_backup,
    ),
    Rule(
        "vercel-sensitive-env",
        "Vercel environment variables with secret-looking keys are sensitive",
        checks.VERCEL_ENV_TYPES,
        checks.vercel_sensitive_env,
    ),
    Rule(
        "render-secret-env",
        "Render environment variables with secret-looking keys carry Pulumi secrets",
        checks.RENDER_ENV_TYPES,
        checks.render_secret_env,
        needs="secrets",
    ),
    Rule(
        "data-store-protected",
        "Databases are protected from `pulumi destroy` (protect=True)",
        checks.DATA_STORE_TYPES,
        checks.data_store_protected,
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
