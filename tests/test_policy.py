"""The guardrails (policy/rules.py): each rule fails on a bad resource and passes on a good one,
every committed stack is clean of mandatory violations, and the CrossGuard adapter enforces each
rule at the right level on the right stacks."""

from __future__ import annotations

import json
import runpy
import sys
from collections.abc import Mapping
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from tools.harness import ROOT_DIR, Run, run_stack, stack_names
from tools.mocks import Secret

# The pack runs with its own directory on sys.path (the CLI's runpy), so its modules import each
# other by bare name; the tests do the same to share one copy of `rules`.
sys.path.insert(0, str(ROOT_DIR / "policy"))
import rules

PACK = runpy.run_path(str(ROOT_DIR / "policy" / "__main__.py"), run_name="policy_pack_under_test")

# The four flags of S3's PublicAccessBlockConfiguration
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html), in the
# provider's spelling (pulumi_aws.s3.BucketPublicAccessBlock).
S3_PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
# The type token the MongoDB Atlas SDK registers (pulumi_mongodbatlas/project_ip_access_list.py).
ATLAS_ACCESS_LIST = "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList"
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
SCOPED = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}],
    }
)
TLS_ONLY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
)


def _containers(**container: Any) -> str:
    return json.dumps([{"name": "api", "image": "api:1", **container}])


def _waf_rule(name: str, override: str = "none") -> dict[str, Any]:
    return {
        "name": name,
        "priority": 1,
        "overrideAction": {override: {}},
        "statement": {"managedRuleGroupStatement": {"name": name, "vendorName": "AWS"}},
    }


def _atlas_cluster(size: str, **extra: Any) -> dict[str, Any]:
    region = {"electableSpecs": {"instanceSize": size}, "providerName": "AWS", "regionName": "AP_NORTHEAST_1"}
    return {"clusterType": "REPLICASET", "replicationSpecs": [{"regionConfigs": [region]}], **extra}


# (rule, resource type, bad props, good props); every rule appears at least once.
EXAMPLES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "s3-public-access-block",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        {"bucket": "b", "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True},
        dict.fromkeys(S3_PUBLIC_ACCESS_FLAGS, True),
    ),
    (
        "s3-tls-only",
        "aws:s3/bucketPolicy:BucketPolicy",
        {"bucket": "b", "policy": SCOPED},
        {"bucket": "b", "policy": TLS_ONLY},
    ),
    ("rds-encrypted", "aws:rds/cluster:Cluster", {"storageEncrypted": False}, {"storageEncrypted": True}),
    ("rds-encrypted", "aws:rds/instance:Instance", {}, {"storageEncrypted": True}),
    ("rds-private", "aws:rds/instance:Instance", {"publiclyAccessible": True}, {"publiclyAccessible": False}),
    ("rds-private", "aws:rds/clusterInstance:ClusterInstance", {"publiclyAccessible": True}, {}),
    (
        "rds-deletion-safety",
        "aws:rds/cluster:Cluster",
        {"deletionProtection": False, "skipFinalSnapshot": True},
        {"deletionProtection": True, "skipFinalSnapshot": False, "finalSnapshotIdentifier": "final"},
    ),
    (
        "rds-deletion-safety",
        "aws:rds/instance:Instance",
        {"deletionProtection": True, "skipFinalSnapshot": False},  # no snapshot name: AWS refuses to delete
        {"deletionProtection": True, "skipFinalSnapshot": False, "finalSnapshotIdentifier": "final"},
    ),
    (
        "rds-backup-retention",
        "aws:rds/cluster:Cluster",
        {"backupRetentionPeriod": 1},
        {"backupRetentionPeriod": 14},
    ),
    ("rds-backup-retention", "aws:rds/instance:Instance", {}, {"backupRetentionPeriod": 7}),
    ("rds-multi-az", "aws:rds/instance:Instance", {"multiAz": False}, {"multiAz": True}),
    ("kms-key-rotation", "aws:kms/key:Key", {"enableKeyRotation": False}, {"enableKeyRotation": True}),
    (
        "log-group-retention",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 0},
        {"retentionInDays": 30},
    ),
    (
        "log-group-encrypted",
        "aws:cloudwatch/logGroup:LogGroup",
        {"retentionInDays": 30},
        {"kmsKeyId": "arn:k"},
    ),
    (
        "ssm-secure-string",
        "aws:ssm/parameter:Parameter",
        {"name": "/platform/prod/DATABASE_URL", "type": "String", "value": "postgresql://u:p@h/db"},
        {"name": "/platform/prod/DATABASE_URL", "type": "SecureString", "keyId": "arn:k", "value": "x"},
    ),
    (
        "ssm-secure-string",
        "aws:ssm/parameter:Parameter",
        {"name": "/platform/prod/DD_API_KEY", "type": "SecureString", "value": "x"},  # AWS-managed key
        {"name": "/platform/prod/LOG_LEVEL", "type": "String", "value": "info"},
    ),
    (
        "ecs-no-plain-secrets",
        "aws:ecs/taskDefinition:TaskDefinition",
        {
            "containerDefinitions": _containers(
                environment=[{"name": "MONGODB_URI", "value": "mongodb+srv://u:p@x"}]
            )
        },
        {
            "containerDefinitions": _containers(
                environment=[{"name": "NODE_ENV", "value": "production"}],
                secrets=[
                    {
                        "name": "MONGODB_URI",
                        "valueFrom": "arn:aws:ssm:ap-northeast-1:1:parameter/p/MONGODB_URI",
                    }
                ],
            )
        },
    ),
    (
        "ecs-read-only-root",
        "aws:ecs/taskDefinition:TaskDefinition",
        {"containerDefinitions": _containers()},
        {"containerDefinitions": _containers(readonlyRootFilesystem=True)},
    ),
    (
        "ecs-private-tasks",
        "aws:ecs/service:Service",
        {"networkConfiguration": {"assignPublicIp": True, "subnets": ["subnet-1"]}},
        {"networkConfiguration": {"assignPublicIp": False, "subnets": ["subnet-1"]}},
    ),
    (
        "sg-no-world-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"cidrIpv4": "0.0.0.0/0", "fromPort": 22, "toPort": 22, "ipProtocol": "tcp"},
        {"cidrIpv4": "0.0.0.0/0", "fromPort": 443, "toPort": 443, "ipProtocol": "tcp"},
    ),
    (
        "sg-no-world-ingress",
        "aws:ec2/securityGroup:SecurityGroup",
        {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]},
        {"ingress": [{"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["0.0.0.0/0"]}]},
    ),
    (
        "sg-no-world-ingress",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        {"type": "ingress", "protocol": "tcp", "fromPort": 0, "toPort": 65535, "ipv6CidrBlocks": ["::/0"]},
        {"type": "egress", "protocol": "tcp", "fromPort": 0, "toPort": 65535, "cidrBlocks": ["0.0.0.0/0"]},
    ),
    (
        "sg-no-database-port-cidr",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"cidrIpv4": "10.0.0.0/16", "fromPort": 5432, "toPort": 5432, "ipProtocol": "tcp"},
        {"referencedSecurityGroupId": "sg-tasks", "fromPort": 5432, "toPort": 5432, "ipProtocol": "tcp"},
    ),
    (
        "sg-no-database-port-cidr",
        "aws:ec2/securityGroup:SecurityGroup",
        {"ingress": [{"protocol": "tcp", "fromPort": 27017, "toPort": 27017, "cidrBlocks": ["10.0.0.0/8"]}]},
        {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["10.0.0.0/16"]}]},  # NAT
    ),
    (
        "alb-drop-invalid-headers",
        "aws:lb/loadBalancer:LoadBalancer",
        {"loadBalancerType": "application"},
        {"loadBalancerType": "application", "dropInvalidHeaderFields": True},
    ),
    (
        "alb-access-logs",
        "aws:lb/loadBalancer:LoadBalancer",
        {"accessLogs": {"enabled": False, "bucket": "logs"}},
        {"accessLogs": {"enabled": True, "bucket": "logs"}},
    ),
    (
        "listener-tls",
        "aws:lb/listener:Listener",
        {"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-2016-08"},
        {"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"},
    ),
    (
        "listener-tls",
        "aws:lb/listener:Listener",
        {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]},
        {
            "protocol": "HTTP",
            "port": 80,
            "defaultActions": [
                {
                    "type": "redirect",
                    "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
                }
            ],
        },
    ),
    (
        "cloudfront-tls",
        "aws:cloudfront/distribution:Distribution",
        {
            "viewerCertificate": {"cloudfrontDefaultCertificate": True},
            "defaultCacheBehavior": {"viewerProtocolPolicy": "allow-all"},
        },
        {
            "viewerCertificate": {"acmCertificateArn": "arn:c", "minimumProtocolVersion": "TLSv1.2_2021"},
            "defaultCacheBehavior": {"viewerProtocolPolicy": "redirect-to-https"},
        },
    ),
    (
        "cloudfront-tls",
        "aws:cloudfront/distribution:Distribution",
        {
            "viewerCertificate": {"acmCertificateArn": "arn:c", "minimumProtocolVersion": "TLSv1.2_2019"},
            "defaultCacheBehavior": {"viewerProtocolPolicy": "https-only"},
        },
        {
            "viewerCertificate": {"acmCertificateArn": "arn:c", "minimumProtocolVersion": "TLSv1.3_2025"},
            "defaultCacheBehavior": {"viewerProtocolPolicy": "https-only"},
            "orderedCacheBehaviors": [
                {"pathPattern": "/static/*", "viewerProtocolPolicy": "redirect-to-https"}
            ],
        },
    ),
    ("cloudfront-waf", "aws:cloudfront/distribution:Distribution", {}, {"webAclId": "arn:aws:wafv2:acl"}),
    (
        "waf-managed-rules",
        "aws:wafv2/webAcl:WebAcl",
        {
            "rules": [
                _waf_rule("AWSManagedRulesCommonRuleSet"),
                _waf_rule("AWSManagedRulesSQLiRuleSet", "count"),
            ]
        },
        {"rules": [_waf_rule("AWSManagedRulesCommonRuleSet"), _waf_rule("AWSManagedRulesSQLiRuleSet")]},
    ),
    ("iam-no-wildcard-admin", "aws:iam/policy:Policy", {"policy": ALLOW_ALL}, {"policy": SCOPED}),
    ("iam-no-wildcard-admin", "aws:iam/rolePolicy:RolePolicy", {"policy": ALLOW_ALL}, {"policy": SCOPED}),
    (
        "iam-no-wildcard-admin",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"},
    ),
    (
        "atlas-no-open-access",
        ATLAS_ACCESS_LIST,
        {"projectId": "p", "cidrBlock": "0.0.0.0/0"},
        {"projectId": "p", "cidrBlock": "203.0.113.10/32"},
    ),
    (
        "atlas-no-open-access",
        ATLAS_ACCESS_LIST,
        {"ipAddress": "0.0.0.0"},
        {"ipAddress": "203.0.113.10"},
    ),
    (
        "atlas-backup",
        "mongodbatlas:index/advancedCluster:AdvancedCluster",
        _atlas_cluster("M10", backupEnabled=False),
        _atlas_cluster("M10", backupEnabled=True),
    ),
    (
        "vercel-sensitive-env",
        "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable",
        {"key": "SENTRY_AUTH_TOKEN", "value": "x", "sensitive": False, "targets": ["production"]},
        {"key": "SENTRY_AUTH_TOKEN", "value": "x", "sensitive": True, "targets": ["production"]},
    ),
    (
        "vercel-sensitive-env",
        "vercel:index/projectEnvironmentVariables:ProjectEnvironmentVariables",
        {"variables": [{"key": "API_SECRET", "value": "x", "sensitive": False}]},
        {
            "variables": [
                {
                    "key": "NEXT_PUBLIC_SENTRY_DSN",
                    "value": "https://k@o1.ingest.sentry.io/1",
                    "sensitive": False,
                }
            ]
        },
    ),
    (
        "render-secret-env",
        "render:services:WebService",
        {"envVars": [{"key": "DATABASE_URL", "value": "postgresql://u:p@h/db"}]},
        {
            "envVars": [
                {"key": "DATABASE_URL", "value": Secret("postgresql://u:p@h/db")},
                {"key": "TZ", "value": "UTC"},
            ]
        },
    ),
]

DATA_STORES = [
    ("aws:rds/cluster:Cluster", {"storageEncrypted": True}),
    ("aws:rds/instance:Instance", {"storageEncrypted": True}),
    ("mongodbatlas:index/advancedCluster:AdvancedCluster", _atlas_cluster("M10")),
    ("pulumi-python:dynamic/supabase:Project", {"name": "platform", "region": "ap-northeast-1"}),
]


@pytest.mark.parametrize(("rule_name", "resource_type", "bad", "good"), EXAMPLES)
@pytest.mark.parametrize("kind", rules.STACK_KINDS)
def test_rule_fails_on_bad_and_passes_on_good(rule_name, resource_type, bad, good, kind):
    rule = rules.RULES_BY_NAME[rule_name]
    assert resource_type in rule.resource_types
    assert rule.evaluate(resource_type, bad, kind), f"{rule_name} accepted a bad {resource_type}"
    assert rule.evaluate(resource_type, good, kind) == []


@pytest.mark.parametrize(("resource_type", "props"), DATA_STORES)
def test_data_stores_must_be_protected(resource_type, props):
    rule = rules.RULES_BY_NAME["data-store-protected"]
    assert rule.evaluate(resource_type, props, "production", protected=False)
    assert rule.evaluate(resource_type, props, "production", protected=True) == []


def test_render_variables_passed_as_one_secret_list_are_all_secret():
    rule = rules.RULES_BY_NAME["render-secret-env"]
    variables = Secret([{"key": "DATABASE_URL", "value": "postgresql://u:p@h/db"}])
    assert rule.evaluate("render:services:WebService", {"envVars": variables}, "production") == []


def _bucket_resources(*, block: bool, tls_only: bool) -> list[rules.StackResource]:
    bucket = rules.StackResource("urn:b", "aws:s3/bucket:Bucket", {"bucket": "b"}, frozenset())
    flags = dict.fromkeys(S3_PUBLIC_ACCESS_FLAGS, True) | {"blockPublicPolicy": block}
    return [
        bucket,
        rules.StackResource(
            "urn:pab", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", flags, frozenset({"urn:b"})
        ),
        rules.StackResource(
            "urn:pol",
            "aws:s3/bucketPolicy:BucketPolicy",
            {"policy": TLS_ONLY if tls_only else SCOPED},
            frozenset({"urn:b"}),
        ),
    ]


def test_every_bucket_needs_a_public_access_block_and_a_tls_only_policy():
    check = rules.RULES_BY_NAME["s3-bucket-guarded"].stack_check
    assert check(_bucket_resources(block=True, tls_only=True), "production") == []
    assert [urn for urn, _ in check(_bucket_resources(block=False, tls_only=True), "production")] == ["urn:b"]
    assert [urn for urn, _ in check(_bucket_resources(block=True, tls_only=False), "production")] == ["urn:b"]
    lonely = [rules.StackResource("urn:b", "aws:s3/bucket:Bucket", {}, frozenset())]
    assert len(check(lonely, "production")) == 2


def _database_resources(source: dict[str, Any]) -> list[rules.StackResource]:
    group = rules.StackResource(
        "urn:sg", "aws:ec2/securityGroup:SecurityGroup", {"vpcId": "vpc-1"}, frozenset()
    )
    rule = rules.StackResource(
        "urn:in",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"fromPort": 0, "toPort": 65535, "ipProtocol": "tcp", **source},
        frozenset({"urn:sg"}),
    )
    database = rules.StackResource("urn:db", "aws:rds/cluster:Cluster", {}, frozenset({"urn:sg"}))
    return [group, rule, database]


def test_database_security_groups_admit_no_cidr():
    check = rules.RULES_BY_NAME["database-sg-no-cidr"].stack_check
    assert [urn for urn, _ in check(_database_resources({"cidrIpv4": "10.0.0.0/16"}), "production")] == [
        "urn:in"
    ]
    assert check(_database_resources({"referencedSecurityGroupId": "sg-tasks"}), "production") == []
    # The same CIDR rule on a group no database uses (e.g. a NAT instance's) is not database access.
    unrelated = _database_resources({"cidrIpv4": "10.0.0.0/16"})[:2]
    assert check(unrelated, "production") == []


def test_every_rule_has_a_failing_example():
    exercised = {name for name, *_ in EXAMPLES} | {
        "data-store-protected",
        "s3-bucket-guarded",
        "database-sg-no-cidr",
    }
    assert exercised == set(rules.RULES_BY_NAME)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DATABASE_URL", True),
        ("/platform/prod-commercial/MONGODB_URI", True),
        ("DD_API_KEY", True),
        ("SENTRY_DSN", True),
        ("JWT_SECRET", True),
        ("REFRESH_TOKEN_TTL", True),  # erring on the safe side: a name with TOKEN goes to SSM
        ("NEXT_PUBLIC_API_URL", False),
        ("NODE_ENV", False),
        ("MONKEY_BUSINESS", False),
        ("KEYBOARD_LAYOUT", False),
    ],
)
def test_secret_looking_names(name, secret):
    assert rules.looks_secret(name) is secret


def test_staging_relaxations_are_documented_and_production_is_never_relaxed():
    for rule in rules.RULES:
        assert rule.enforcement("production") == "mandatory", rule.name
        if rule.enforcement("staging") == "advisory":
            assert len(rule.staging_exception) > 40, f"{rule.name}: say why staging may skip it"
    # Strictness follows the declared topology (platform:topology), not the stack's name.
    assert rules.stack_kind("commercial") == "production"
    assert rules.stack_kind("pre-commercial") == "production"
    assert rules.stack_kind(None) == "production"  # a stack that declares nothing gets the strict rules
    assert rules.stack_kind("staging") == "staging"


# ---------------------------------------------------------------------------------------------
# Every committed stack


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    return {stack: run_stack(stack) for stack in stack_names()}


def _kind(run: Run) -> rules.StackKind:
    return rules.stack_kind(run.config.get("platform:topology"))


def _violations(run: Run) -> list[tuple[rules.Rule, str, str]]:
    """(rule, resource, message) for every violation in a captured stack."""
    return [(f.rule, f.resource, f.message) for f in rules.findings(_kind(run), run.resources)]


def test_evaluate_splits_findings_by_enforcement(runs):
    mandatory, advisory = rules.evaluate(runs["staging"])
    assert mandatory == []
    assert any(line.startswith("rds-deletion-safety on ") for line in advisory)


def test_stacks_are_committed():
    assert {"staging", "prod-commercial"} <= set(stack_names())


@pytest.mark.parametrize("stack", stack_names())
def test_no_mandatory_violations_in_committed_stacks(runs, stack):
    kind = _kind(runs[stack])
    mandatory = [
        f"{rule.name} on {name}: {message}"
        for rule, name, message in _violations(runs[stack])
        if rule.enforcement(kind) == "mandatory"
    ]
    assert mandatory == []


def test_atlas_over_vpc_peering_raises_no_finding(runs):
    commercial = runs["prod-commercial"]
    assert commercial.of_type("mongodbatlas:index/networkPeering:NetworkPeering")
    # The peering, its routes, the access list entry by security group and the tasks' egress to
    # Atlas' block: nothing there may trip a rule, advisory ones included.
    assert [v for v in _violations(commercial) if "atlas" in v[1]] == []


def _advised(run: Run) -> set[str]:
    kind = _kind(run)
    return {rule.name for rule, _, _ in _violations(run) if rule.enforcement(kind) == "advisory"}


def test_staging_advisories_are_documented_exceptions(runs):
    if "staging" not in runs:
        pytest.skip("no staging stack committed")
    documented = {rule.name for rule in rules.RULES if rule.enforcement("staging") == "advisory"}
    advised = _advised(runs["staging"])
    assert advised <= documented
    # The committed staging keeps its disposable, single-AZ database: those trade-offs are real.
    assert {"rds-deletion-safety", "rds-multi-az", "data-store-protected"} <= advised


def test_staging_may_trade_private_tasks_for_cost_with_advice_only():
    """``network.nat: none`` (public subnets, no NAT) is a supported staging option: advised, not blocked."""
    # Atlas then needs a fixed source range (a VPN, say), as the tasks' addresses change.
    run = run_stack(
        "staging",
        {"platform:network": {"nat": "none"}, "platform:atlas": {"accessCidrs": ["203.0.113.0/24"]}},
    )
    assert "ecs-private-tasks" in _advised(run)
    # The same resources on a production stack violate the rule as mandatory.
    production = Run("prod-commercial", {}, run.resources, {})
    strict = [rule for rule, _, _ in _violations(production) if rule.name == "ecs-private-tasks"]
    assert strict and strict[0].enforcement("production") == "mandatory"


def test_the_rules_see_the_resources_they_guard(runs):
    """Guard against rules silently passing because a type name drifted from what the program uses."""
    seen = {r.type for run in runs.values() for r in run.resources}
    for rule_name in (
        "rds-encrypted",
        "kms-key-rotation",
        "log-group-retention",
        "ecs-read-only-root",
        "ssm-secure-string",
        "waf-managed-rules",
        "cloudfront-tls",
        "listener-tls",
        "vercel-sensitive-env",
        "render-secret-env",
        "atlas-backup",
        "data-store-protected",
        "s3-bucket-guarded",
        "database-sg-no-cidr",
    ):
        assert rules.RULES_BY_NAME[rule_name].resource_types & seen, rule_name


# ---------------------------------------------------------------------------------------------
# The CrossGuard adapter


def _policies(kind: rules.StackKind = "production") -> dict[str, Any]:
    return {p.name: p for p in PACK["build_policies"](kind)}


def _validate(policy, resource_type: str, props: Mapping[str, Any], protect: bool = False) -> list[str]:
    reported: list[str] = []
    options = PolicyResourceOptions(protect, [], None, [], None, [])
    urn = f"urn:pulumi:any-name::platform::{resource_type}::r"
    args = ResourceValidationArgs(resource_type, props, urn, "r", options, None)
    policy.validate(args, lambda message, urn=None: reported.append(message))
    return reported


@pytest.mark.parametrize("kind", rules.STACK_KINDS)
def test_pack_has_one_policy_per_rule_at_its_level(kind):
    policies = _policies(kind)
    for rule in rules.RULES:
        if rule.needs == "secrets":
            assert rule.name not in policies  # the SDK unwraps secrets: enforced by the tests above
            continue
        expected = (
            EnforcementLevel.MANDATORY if rule.enforcement(kind) == "mandatory" else EnforcementLevel.ADVISORY
        )
        assert policies[rule.name].enforcement_level == expected
    assert all(len(name) <= 100 and name.replace("-", "").isalnum() for name in policies)


def test_the_pack_takes_the_level_from_the_declared_topology():
    """The engine starts the pack with the stack's config in PULUMI_CONFIG (pulumi/pulumi
    pkg/resource/plugin/analyzer_plugin.go, constructEnv): the topology decides, not the name."""
    declared = PACK["declared_kind"]
    assert declared({"platform:topology": "staging"}) == "staging"
    assert declared({"platform:topology": "commercial"}) == "production"
    assert declared({"platform:topology": "pre-commercial"}) == "production"
    assert declared({}) == "production"
    single_az = {"multiAz": False}
    strict, relaxed = _policies("production")["rds-multi-az"], _policies("staging")["rds-multi-az"]
    assert strict.enforcement_level == EnforcementLevel.MANDATORY
    assert relaxed.enforcement_level == EnforcementLevel.ADVISORY
    assert _validate(strict, "aws:rds/instance:Instance", single_az)
    assert _validate(relaxed, "aws:rds/instance:Instance", single_az)  # still reported, as advice


def test_pack_passes_protect_and_applies_strict_rules_everywhere():
    protect = _policies()["data-store-protected"]
    assert _validate(protect, "aws:rds/cluster:Cluster", {}, protect=False)
    assert _validate(protect, "aws:rds/cluster:Cluster", {}, protect=True) == []
    kms = _policies("staging")["kms-key-rotation"]
    assert kms.enforcement_level == EnforcementLevel.MANDATORY
    assert _validate(kms, "aws:kms/key:Key", {"enableKeyRotation": False})


def test_a_new_stack_copied_from_staging_previews_cleanly_policy_included(tmp_path):
    """Committing Pulumi.dev.yaml, a copy of staging's, needs no code change: settings, program,
    rules and the CrossGuard pack all take what they need from its declared topology."""
    (tmp_path / "Pulumi.dev.yaml").write_text((ROOT_DIR / "Pulumi.staging.yaml").read_text())
    (tmp_path / "Pulumi.yaml").write_text((ROOT_DIR / "Pulumi.yaml").read_text())  # the engine applies it
    run = run_stack("dev", root=tmp_path)
    assert run.resources and run.output("topology") == "staging"
    mandatory, advisory = rules.evaluate(run)
    assert mandatory == [] and advisory  # staging's documented trade-offs, as advice
    pack = _policies(PACK["declared_kind"](run.config))
    blocking = [
        f"{policy.name} on {resource.name}: {message}"
        for resource in run.resources
        for policy in pack.values()
        if isinstance(policy, ResourceValidationPolicy)
        and policy.enforcement_level == EnforcementLevel.MANDATORY
        for message in _validate(policy, resource.type, resource.plain_inputs, resource.protect)
    ]
    assert blocking == []


def test_pack_stack_policy_reports_the_unguarded_bucket():
    policy = _policies()["s3-bucket-guarded"]

    class Resource:
        def __init__(self, urn, resource_type, props, dependencies=()):
            self.urn, self.resource_type, self.props, self.dependencies = (
                urn,
                resource_type,
                props,
                list(dependencies),
            )

    bucket = Resource(
        "urn:pulumi:prod-commercial::platform::aws:s3/bucket:Bucket::logs", "aws:s3/bucket:Bucket", {}
    )
    reported: list[tuple[str, str | None]] = []
    policy.validate(StackValidationArgs([bucket]), lambda message, urn=None: reported.append((message, urn)))
    assert {urn for _, urn in reported} == {bucket.urn}
