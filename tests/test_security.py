"""Each service reaches only what it must: the security groups of whole stacks, service by service.

The ALB reaches each served service on its port; each service reaches HTTPS on the internet and
the data stores whose secrets it receives, and nothing else; the data stores admit exactly those
services. Read from the committed stacks and config overrides, never from the code's tables.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import committed_run
from tools.harness import Run, run_stack

SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ACCESS_LIST = "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList"
ANYWHERE = "0.0.0.0/0"
POSTGRES, MONGODB, HTTPS = 5432, 27017, 443
# Not the preset's block, so a value copied from the settings cannot pass.
PEERED_BLOCK = "192.168.240.0/21"
# The Supabase pooler's transaction-mode port (supabase.com/docs/guides/database/connecting-to-postgres).
LEGACY_PORT = 6543
CANARY = {
    "platform:cutover": {
        "phase": "canary",
        "hosts": {
            "api": {"legacyHost": "platform-api.onrender.com", "awsWeight": 5},
            # Every served cut-over host takes part; the web's stays all on Vercel here.
            "web": {"legacyHost": "cname.vercel-dns-0.com", "healthCheckHost": "platform-web.vercel.app"},
        },
        "legacyDatabaseUrl": (
            "postgresql://postgres.abcdefghijklmnopqrst:pw@aws-0-ap-southeast-1.pooler.supabase.com"
            f":{LEGACY_PORT}/postgres?sslmode=require"
        ),
        "legacyDatabasePort": LEGACY_PORT,
        "legacyMongodbUri": "mongodb+srv://app:pw@platform.abcde.mongodb.net/app",
    }
}
WORKER = {"platform:services": {"worker": {"cpu": 256, "memory": 512}}}

STACKS = ["staging", "prod-commercial"]


@pytest.fixture(params=STACKS)
def any_aws_run(request: pytest.FixtureRequest) -> Run:
    return committed_run(request.param)


@pytest.fixture(scope="module")
def canary() -> Run:
    return run_stack("prod-commercial", CANARY)


@pytest.fixture(scope="module")
def private_link() -> Run:
    return run_stack("prod-commercial", {"platform:atlas": {"connectivity": "private-link"}})


@pytest.fixture(scope="module")
def peered() -> Run:
    return run_stack(
        "prod-commercial", {"platform:atlas": {"connectivity": "peering", "peeringCidr": PEERED_BLOCK}}
    )


@pytest.fixture(scope="module")
def with_worker() -> Run:
    return run_stack("staging", WORKER)


def group(run: Run, owner: str) -> str:
    """The security group of a component: a service's name, ``database`` or ``load-balancer``."""
    return run.named(f"{owner}-sg").id


def ways(run: Run, type_: str, group_id: str) -> set[tuple]:
    """(protocol, from, to, peer) of every rule of ``type_`` on ``group_id``."""
    return {
        (
            r["ipProtocol"],
            r.get("fromPort"),
            r.get("toPort"),
            r.get("cidrIpv4") or r.get("referencedSecurityGroupId") or r.get("prefixListId"),
        )
        for r in run.of_type(type_)
        if r["securityGroupId"] == group_id
    }


def test_every_service_has_its_own_group(any_aws_run: Run) -> None:
    ids = [group(any_aws_run, s) for s in ("api", "web")]
    assert len(set(ids)) == 2 and not set(ids) & {
        group(any_aws_run, "database"),
        group(any_aws_run, "load-balancer"),
    }


# -- the web reaches no data store --------------------------------------------------------------


def test_the_web_reaches_only_https_on_the_internet(any_aws_run: Run) -> None:
    run = any_aws_run
    web = group(run, "web")
    assert ways(run, EGRESS, web) == {("tcp", HTTPS, HTTPS, ANYWHERE)}
    assert group(run, "database") not in {peer for *_, peer in ways(run, EGRESS, web)}
    assert not [
        r for r in run.of_type(EGRESS) if r["securityGroupId"] == web and r.get("fromPort") == MONGODB
    ]
    # Nothing but the ALB reaches the web's tasks.
    assert ways(run, INGRESS, web) == {("tcp", 3000, 3000, group(run, "load-balancer"))}


def test_the_database_admits_only_the_api(any_aws_run: Run) -> None:
    run = any_aws_run
    database = group(run, "database")
    assert ways(run, INGRESS, database) == {("tcp", POSTGRES, POSTGRES, group(run, "api"))}
    # Security groups are stateful: answers need no egress rule.
    assert ways(run, EGRESS, database) == set()


def test_both_services_reach_https_anywhere(any_aws_run: Run) -> None:
    for service in ("api", "web"):
        assert ("tcp", HTTPS, HTTPS, ANYWHERE) in ways(any_aws_run, EGRESS, group(any_aws_run, service))


# -- the api reaches the database and Atlas the way the stack connects --------------------------


def test_over_the_internet_the_api_reaches_atlas_on_27017_anywhere() -> None:
    run = committed_run("staging")
    assert ways(run, EGRESS, group(run, "api")) == {
        ("tcp", HTTPS, HTTPS, ANYWHERE),
        ("tcp", POSTGRES, POSTGRES, group(run, "database")),
        ("tcp", MONGODB, MONGODB, ANYWHERE),
    }
    # Atlas' access list holds the NAT addresses (/32 each), no security group.
    entries = [a.plain_inputs for a in run.of_type(ACCESS_LIST)]
    assert entries and all(
        e.get("cidrBlock", "").endswith("/32") and "awsSecurityGroup" not in e for e in entries
    )


def test_over_a_peering_the_api_reaches_only_the_peered_block_and_atlas_names_its_group(peered: Run) -> None:
    api = group(peered, "api")
    assert ways(peered, EGRESS, api) == {
        ("tcp", HTTPS, HTTPS, ANYWHERE),
        ("tcp", POSTGRES, POSTGRES, group(peered, "database")),
        ("tcp", MONGODB, MONGODB, PEERED_BLOCK),
    }
    # Atlas admits a security group of a same-region peered VPC
    # (mongodb.com/docs/atlas/security/ip-access-list/, "Add security groups"): only the api's.
    [entry] = [a.plain_inputs for a in peered.of_type(ACCESS_LIST)]
    assert entry["awsSecurityGroup"] == api and "cidrBlock" not in entry
    # Nothing from the peered block reaches into the VPC's groups.
    assert all(r.get("cidrIpv4") != PEERED_BLOCK for r in peered.of_type(INGRESS))


def test_over_private_link_the_api_reaches_only_the_endpoint(private_link: Run) -> None:
    api = group(private_link, "api")
    atlas = private_link.named("atlas")
    [endpoint] = [g for g in private_link.of_type(SG) if private_link.component_of(g) is atlas]
    egress = ways(private_link, EGRESS, api)
    # Atlas maps each node to its own port of the endpoint, 1024-65535
    # (mongodb.com/docs/atlas/security-private-endpoint/, "Configure your security groups").
    assert egress == {
        ("tcp", HTTPS, HTTPS, ANYWHERE),
        ("tcp", POSTGRES, POSTGRES, group(private_link, "database")),
        ("tcp", 1024, 65535, endpoint.id),
    }
    assert ways(private_link, INGRESS, endpoint.id) == {("tcp", 1024, 65535, api)}
    assert not [r for r in private_link.of_type(EGRESS) if r.get("fromPort") == MONGODB]


# -- the load balancer reaches the services, and only them ---------------------------------------


def test_the_alb_reaches_only_each_services_port_on_its_group(any_aws_run: Run) -> None:
    run = any_aws_run
    assert ways(run, EGRESS, group(run, "load-balancer")) == {
        ("tcp", 3000, 3000, group(run, "api")),
        ("tcp", 3000, 3000, group(run, "web")),
    }


def test_a_service_on_another_port_is_reached_on_that_port_alone() -> None:
    run = run_stack("staging", {"platform:services": {"web": {"port": 8080}}})
    alb, web = group(run, "load-balancer"), group(run, "web")
    assert ways(run, EGRESS, alb) == {("tcp", 3000, 3000, group(run, "api")), ("tcp", 8080, 8080, web)}
    assert ways(run, INGRESS, web) == {("tcp", 8080, 8080, alb)}


def test_only_a_public_alb_admits_the_internet() -> None:
    staging, commercial = committed_run("staging"), committed_run("prod-commercial")
    assert ways(staging, INGRESS, group(staging, "load-balancer")) == {
        ("tcp", 80, 80, ANYWHERE),
        ("tcp", 443, 443, ANYWHERE),
    }
    # Behind CloudFront the ALB is internal: only the VPC origin's group reaches its listener.
    [(protocol, low, high, peer)] = ways(commercial, INGRESS, group(commercial, "load-balancer"))
    assert (protocol, low, high) == ("tcp", 443, 443) and peer.startswith("sg-")
    assert ANYWHERE not in {r.get("cidrIpv4") for r in commercial.of_type(INGRESS)}


# -- the cut-over's canary ------------------------------------------------------------------------


def test_during_the_canary_only_the_api_reaches_the_legacy_postgres_port(canary: Run) -> None:
    api, web = group(canary, "api"), group(canary, "web")
    assert ("tcp", LEGACY_PORT, LEGACY_PORT, ANYWHERE) in ways(canary, EGRESS, api)
    assert ways(canary, EGRESS, web) == {("tcp", HTTPS, HTTPS, ANYWHERE)}
    [rule] = [r for r in canary.of_type(EGRESS) if r.get("fromPort") == LEGACY_PORT]
    assert "Cut-over" in rule["description"] and "Supabase" in rule["description"]
    # Nothing new may reach the tasks or the database.
    assert {(r["securityGroupId"], r.get("fromPort")) for r in canary.of_type(INGRESS)} == {
        (r["securityGroupId"], r.get("fromPort")) for r in committed_run("prod-commercial").of_type(INGRESS)
    }


def test_during_the_canary_a_web_given_the_database_reaches_it_too() -> None:
    overrides = {**CANARY, "platform:services": {"web": {"secrets": ["DATABASE_URL"]}}}
    run = run_stack("prod-commercial", overrides)
    web = group(run, "web")
    assert ways(run, EGRESS, web) == {
        ("tcp", HTTPS, HTTPS, ANYWHERE),
        ("tcp", POSTGRES, POSTGRES, group(run, "database")),
        ("tcp", LEGACY_PORT, LEGACY_PORT, ANYWHERE),
    }
    assert ways(run, INGRESS, group(run, "database")) == {
        ("tcp", POSTGRES, POSTGRES, group(run, "api")),
        ("tcp", POSTGRES, POSTGRES, web),
    }


# -- a service added by config alone ------------------------------------------------------------


def test_a_worker_gets_its_own_group_with_only_https_out(with_worker: Run) -> None:
    worker = group(with_worker, "worker")
    assert worker not in {group(with_worker, s) for s in ("api", "web", "database", "load-balancer")}
    assert ways(with_worker, EGRESS, worker) == {("tcp", HTTPS, HTTPS, ANYWHERE)}
    assert ways(with_worker, INGRESS, worker) == set()
    assert worker not in {r.get("referencedSecurityGroupId") for r in with_worker.of_type(INGRESS)}
    assert worker not in {r.get("referencedSecurityGroupId") for r in with_worker.of_type(EGRESS)}


def test_a_worker_gets_its_own_roles_and_no_route(with_worker: Run) -> None:
    roles = {r["name"] for r in with_worker.of_type("aws:iam/role:Role")}
    assert {"platform-staging-worker-execution", "platform-staging-worker-task"} <= roles
    worker = with_worker.named("worker")
    owned = [r for r in with_worker.resources if with_worker.component_of(r) is worker]
    types = {r.type for r in owned}
    assert "aws:lb/targetGroup:TargetGroup" not in types and "aws:lb/listenerRule:ListenerRule" not in types
    assert len(with_worker.of_type("aws:lb/listenerRule:ListenerRule")) == 2
    [policy] = [r for r in owned if r.type == "aws:iam/rolePolicy:RolePolicy"]
    statements = json.loads(policy["policy"])["Statement"]
    # It receives no secret, so it reads none; it pulls only from its own repository.
    assert not [s for s in statements if s["Action"] == "ssm:GetParameters"]
    [pull] = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert pull["Resource"].endswith(":repository/platform-staging-worker")


# -- every group --------------------------------------------------------------------------------


def test_security_groups_have_no_inline_rules(any_aws_run: Run) -> None:
    """Inline rules and rule resources on one group fight each other (the provider's
    aws_security_group docs); every rule is its own resource."""
    groups = any_aws_run.of_type(SG)
    assert len(groups) >= 5
    for sg in groups:
        assert not sg.get("ingress") and not sg.get("egress"), sg.name
    # The VPC's default group is emptied (Security Hub EC2.2).
    for default in any_aws_run.of_type(DEFAULT_SG):
        assert not default.get("ingress") and not default.get("egress")


# EC2 accepts only these characters in security group and rule descriptions: "a-z, A-Z, 0-9,
# spaces, and ._-:/()#,@[]+=&;{}!$*", up to 255 (EC2 API reference, CreateSecurityGroup
# GroupDescription and IpRange Description). A ' or a non-ASCII dash is refused at `pulumi up`,
# never under the mocks.
EC2_DESCRIPTION = re.compile(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}")


@pytest.mark.parametrize("case", ["staging", "prod-commercial", "canary", "private-link", "worker"])
def test_descriptions_use_only_characters_ec2_accepts(case: str, request: pytest.FixtureRequest) -> None:
    run = {
        "staging": lambda: committed_run("staging"),
        "prod-commercial": lambda: committed_run("prod-commercial"),
        "canary": lambda: request.getfixturevalue("canary"),
        "private-link": lambda: request.getfixturevalue("private_link"),
        "worker": lambda: request.getfixturevalue("with_worker"),
    }[case]()
    described = run.of_type(SG) + run.of_type(INGRESS) + run.of_type(EGRESS)
    assert len(described) >= 10
    for resource in described:
        assert EC2_DESCRIPTION.fullmatch(resource["description"]), (resource.name, resource["description"])


def test_an_image_from_a_private_ecr_repository_may_be_pulled_and_a_public_one_needs_no_ecr() -> None:
    # ECS pulls a private ECR image with the execution role (ecr:BatchGetImage and the layer
    # reads on that repository, ECS developer guide "Amazon ECS task execution IAM role"); a public
    # registry's image needs no AWS permission.
    private = "210987654321.dkr.ecr.ap-northeast-1.amazonaws.com/shared/api:2.0.0"
    run = run_stack(
        "staging",
        {"platform:services": {"api": {"image": private}, "web": {"image": "public.ecr.aws/x/web:1"}}},
    )

    def pulls(service: str) -> list:
        policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", f"{service}-execution-role")["policy"])
        return [s["Resource"] for s in policy["Statement"] if s["Sid"] == "PullTheImage"]

    assert pulls("api") == ["arn:aws:ecr:ap-northeast-1:210987654321:repository/shared/api"]
    assert pulls("web") == []
