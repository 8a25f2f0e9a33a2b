"""The AWS topologies wired whole: what flows between components, and what one setting changes."""

from __future__ import annotations

import json

import pytest

from tests.conftest import committed_run
from tools.harness import Run, run_stack
from tools.mocks import Secret

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
PARAMETER = "aws:ssm/parameter:Parameter"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ALB = "aws:lb/loadBalancer:LoadBalancer"


def containers(run: Run, service: str = "api") -> dict[str, dict]:
    definitions = json.loads(run.one(TASK_DEFINITION, f"{service}-task")["containerDefinitions"])
    return {c["name"]: c for c in definitions}


@pytest.fixture(scope="module")
def staging() -> Run:
    return committed_run("staging")


@pytest.fixture(scope="module")
def commercial() -> Run:
    return committed_run("prod-commercial")


def test_a_moving_image_tag_is_pulled_at_every_task_start(staging: Run, commercial: Run) -> None:
    # ECS resolves a tag to a digest once per deployment and starts every later task from it;
    # versionConsistency "disabled" makes it pull the tag instead (ECS API ContainerDefinition,
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html;
    # aws/containers-roadmap#2393). Staging pushes `latest` again and again to a mutable repository.
    api = containers(staging)["api"]
    assert api["image"].endswith(":latest")
    assert staging.one("aws:ecr/repository:Repository", "api")["imageTagMutability"] == "MUTABLE"
    assert api["versionConsistency"] == "disabled"
    # Commercial's tags are immutable: a resolved digest stays the tag's, so the default holds.
    assert commercial.one("aws:ecr/repository:Repository", "api")["imageTagMutability"] == "IMMUTABLE"
    assert "versionConsistency" not in containers(commercial)["api"]


def test_another_registrys_tag_is_pulled_at_every_start_unless_pinned_by_digest() -> None:
    tagged = run_stack(
        "staging", {"platform:services": {"api": {"image": "public.ecr.aws/example/api:1.4.0"}}}
    )
    assert containers(tagged)["api"]["versionConsistency"] == "disabled"
    digest = "public.ecr.aws/example/api@sha256:" + "a" * 64
    pinned = run_stack("staging", {"platform:services": {"api": {"image": digest}}})
    assert containers(pinned)["api"]["image"] == digest
    assert "versionConsistency" not in containers(pinned)["api"]


@pytest.mark.parametrize("stack", ["staging", "prod-commercial"])
def test_secrets_reach_the_api_only_as_secure_parameters_of_this_stack(stack: str) -> None:
    run = committed_run(stack)
    parameters = {p["name"]: p for p in run.of_type(PARAMETER)}
    api = containers(run)["api"]
    injected = {s["name"]: s["valueFrom"] for s in api["secrets"]}
    assert {"DATABASE_URL", "MONGODB_URI", "SENTRY_DSN"} <= injected.keys()
    arns = {p.outputs["arn"]: p for p in parameters.values()}
    key_arn = run.named("key-key").outputs["arn"]
    for name, arn in injected.items():
        parameter = arns[arn]
        # Each service's Sentry DSN is its own project's, stored under the service's name.
        stored = "API_SENTRY_DSN" if name == "SENTRY_DSN" else name
        assert parameter["name"] == f"/platform/{stack}/{stored}"
        assert parameter["type"] == "SecureString" and parameter["keyId"] == key_arn
        assert isinstance(parameter.inputs["value"], Secret)
    plain = {e["name"]: e["value"] for e in api.get("environment", [])}
    for value in plain.values():
        assert "postgresql://" not in value and "mongodb+srv://" not in value


def test_database_url_parameter_holds_the_database_endpoint(staging: Run) -> None:
    url = staging.one(PARAMETER, "database-url")["value"]
    endpoint = staging.one("aws:rds/instance:Instance").outputs["address"]
    # The API's parameter holds the app role's URL; the master's is for the admin task only.
    assert url.startswith("postgresql://app_api:")
    assert url.endswith(f"@{endpoint}:5432/app?sslmode=verify-full&sslrootcert=certs/rds-global-bundle.pem")
    master = staging.one(PARAMETER, "database-master-url")["value"]
    assert master.startswith("postgresql://app_admin:") and f"@{endpoint}:5432/app?" in master


@pytest.mark.parametrize("stack", ["staging", "prod-commercial"])
def test_only_the_admin_task_gets_the_master_url(stack: str) -> None:
    run = committed_run(stack)
    arn_of = {p["name"].rsplit("/", 1)[1]: p.outputs["arn"] for p in run.of_type(PARAMETER)}
    api = {s["valueFrom"] for s in containers(run)["api"]["secrets"]}
    assert arn_of["DATABASE_MASTER_URL"] not in api
    assert arn_of["DATABASE_APP_PASSWORD_VERIFIER"] not in api
    (admin,) = json.loads(run.one(TASK_DEFINITION, "database-admin")["containerDefinitions"])
    injected = {s["name"]: s["valueFrom"] for s in admin["secrets"]}
    assert injected == {
        "DATABASE_URL": arn_of["DATABASE_MASTER_URL"],
        "APP_DB_PASSWORD_VERIFIER": arn_of["DATABASE_APP_PASSWORD_VERIFIER"],
    }
    plain = {e["name"]: e["value"] for e in admin["environment"]}
    assert "PASSWORD" not in plain["DATABASE_BOOTSTRAP_SQL"].upper().replace("NOBYPASSRLS", "")


def test_security_group_chain_spans_the_components(staging: Run) -> None:
    service = staging.one("aws:ecs/service:Service", "api-service")
    [task_sg] = service["networkConfiguration"]["securityGroups"]
    [alb_sg] = staging.one(ALB)["securityGroups"]
    [db_sg] = staging.one("aws:rds/instance:Instance")["vpcSecurityGroupIds"]
    into_db = [r for r in staging.of_type(INGRESS) if r["securityGroupId"] == db_sg]
    into_tasks = [r for r in staging.of_type(INGRESS) if r["securityGroupId"] == task_sg]
    assert [r["referencedSecurityGroupId"] for r in into_db] == [task_sg]
    assert [r["referencedSecurityGroupId"] for r in into_tasks] == [alb_sg]


def test_tasks_and_data_live_in_private_subnets(staging: Run, commercial: Run) -> None:
    for run in (staging, commercial):
        private = {s.id for s in run.of_type("aws:ec2/subnet:Subnet") if s["tags"]["tier"] == "private"}
        network = run.one("aws:ecs/service:Service", "api-service")["networkConfiguration"]
        assert set(network["subnets"]) <= private and not network.get("assignPublicIp")
        group = run.one("aws:rds/subnetGroup:SubnetGroup")
        assert set(group["subnetIds"]) <= private


def test_atlas_admits_exactly_the_stacks_nat_addresses(staging: Run) -> None:
    allowed = {
        e["cidrBlock"] for e in staging.of_type("mongodbatlas:index/projectIpAccessList:ProjectIpAccessList")
    }
    assert allowed == {f"{ip}/32" for ip in staging.output("egressIps")}
    assert len(allowed) == 2


def _task_sg(run: Run) -> str:
    [task_sg] = run.one("aws:ecs/service:Service", "api-service")["networkConfiguration"]["securityGroups"]
    return task_sg


def test_commercial_peers_the_vpc_with_atlas_and_admits_only_the_tasks(commercial: Run) -> None:
    vpc = commercial.one("aws:ec2/vpc:Vpc")
    peering = commercial.one("mongodbatlas:index/networkPeering:NetworkPeering")
    assert peering["vpcId"] == vpc.id == commercial.output("vpcId")
    assert peering["routeTableCidrBlock"] == vpc["cidrBlock"]
    assert peering["accepterRegionName"] == "ap-northeast-1"
    [entry] = commercial.of_type("mongodbatlas:index/projectIpAccessList:ProjectIpAccessList")
    assert entry["awsSecurityGroup"] == _task_sg(commercial) and "cidrBlock" not in entry.inputs
    assert not commercial.of_type("mongodbatlas:index/privateLinkEndpoint:PrivateLinkEndpoint")


def test_commercial_routes_atlas_block_from_every_private_subnet(commercial: Run) -> None:
    atlas_block = commercial.one("mongodbatlas:index/networkContainer:NetworkContainer")["atlasCidrBlock"]
    connection = commercial.one("mongodbatlas:index/networkPeering:NetworkPeering").outputs["connectionId"]
    private_tables = {
        t.id for t in commercial.of_type("aws:ec2/routeTable:RouteTable") if "-private-" in t["tags"]["Name"]
    }
    to_atlas = [r for r in commercial.of_type("aws:ec2/route:Route") if r.get("vpcPeeringConnectionId")]
    assert len(private_tables) == 2  # one per AZ of the preset's two
    assert sorted(r["routeTableId"] for r in to_atlas) == sorted(private_tables)
    assert {(r["destinationCidrBlock"], r["vpcPeeringConnectionId"]) for r in to_atlas} == {
        (atlas_block, connection)
    }


def test_commercial_with_private_link_still_builds_the_interface_endpoint() -> None:
    run = run_stack("prod-commercial", {"platform:atlas": {"connectivity": "private-link"}})
    assert run.of_type("mongodbatlas:index/privateLinkEndpointService:PrivateLinkEndpointService")
    assert run.of_type("mongodbatlas:index/projectIpAccessList:ProjectIpAccessList") == []
    assert not run.of_type("mongodbatlas:index/networkPeering:NetworkPeering")
    mongodb_out = {
        (r["fromPort"], r.get("cidrIpv4") or r.get("referencedSecurityGroupId"))
        for r in run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r["securityGroupId"] == _task_sg(run) and r["fromPort"] != 443
    }
    endpoint_sg = run.one("aws:ec2/securityGroup:SecurityGroup", "vpce-sg").id
    assert (1024, endpoint_sg) in mongodb_out
    assert not any(port == 27017 for port, _ in mongodb_out)


def test_commercial_alb_is_internal_and_only_cloudfront_gets_in(commercial: Run) -> None:
    alb = commercial.one(ALB)
    assert alb["internal"] is True and alb["enableDeletionProtection"] is True
    [alb_sg] = alb["securityGroups"]
    rules = [r for r in commercial.of_type(INGRESS) if r["securityGroupId"] == alb_sg]
    assert rules and all("cidrIpv4" not in r.inputs and r.get("referencedSecurityGroupId") for r in rules)
    distribution = commercial.one("aws:cloudfront/distribution:Distribution")
    assert distribution["aliases"] == ["api.example.com", "www.example.com"]
    assert distribution["webAclId"] == commercial.one("aws:wafv2/webAcl:WebAcl").outputs["arn"]


def test_commercial_is_highly_available_in_every_tier(commercial: Run) -> None:
    zones = set(commercial.output("availabilityZones"))
    assert len(zones) == 2
    assert {s["availabilityZone"] for s in commercial.of_type("aws:ec2/subnet:Subnet")} == zones
    instances = commercial.of_type("aws:rds/clusterInstance:ClusterInstance")
    assert len({i["availabilityZone"] for i in instances}) == len(instances) >= 2
    assert len(commercial.of_type("aws:ec2/instance:Instance")) == 2  # a NAT instance per AZ
    # Both services keep at least two tasks, each spread over both AZs' private subnets.
    targets = commercial.of_type("aws:appautoscaling/target:Target")
    assert len(targets) == 2 and all(t["minCapacity"] >= 2 for t in targets)
    for service in commercial.of_type("aws:ecs/service:Service"):
        subnets = set(service["networkConfiguration"]["subnets"])
        assert {
            s["availabilityZone"] for s in commercial.of_type("aws:ec2/subnet:Subnet") if s.id in subnets
        } == zones
        # The HA floor runs on regular Fargate; only tasks above it may go to Spot.
        [regular] = [c for c in service["capacityProviderStrategies"] if c["capacityProvider"] == "FARGATE"]
        assert regular["base"] >= 1


def test_commercial_data_stores_are_protected_twice(commercial: Run) -> None:
    cluster = commercial.one("aws:rds/cluster:Cluster")
    assert cluster.protect and cluster["deletionProtection"] is True and cluster["skipFinalSnapshot"] is False
    assert cluster["backupRetentionPeriod"] >= 7
    atlas = commercial.one("mongodbatlas:index/advancedCluster:AdvancedCluster")
    assert atlas.protect and atlas["terminationProtectionEnabled"] is True and atlas["pitEnabled"] is True
    assert all(key.protect for key in commercial.of_type("aws:kms/key:Key"))


def test_staging_stops_at_night_and_commercial_scales_down(staging: Run, commercial: Run) -> None:
    staging_actions = staging.of_type("aws:appautoscaling/scheduledAction:ScheduledAction")
    night = [a for a in staging_actions if a["scalableTargetAction"]["maxCapacity"] == 0]
    # Both services stop at night, each with its own action.
    assert sorted(a.name for a in night) == ["api-stop", "web-stop"]
    assert {a["timezone"] for a in night} == {"Asia/Tokyo"}
    # A start and a stop schedule of the database per month of the horizon (12 or 13 with the
    # current one, which is left out once its last day has passed).
    schedules = {s["name"]: s for s in staging.of_type("aws:scheduler/schedule:Schedule")}
    assert len(schedules) in (22, 24, 26)
    commercial_actions = commercial.of_type("aws:appautoscaling/scheduledAction:ScheduledAction")
    # The web's floor is two day and night, so only the API has a schedule.
    assert {a.name.split("-")[0] for a in commercial_actions} == {"api"}
    assert all(a["scalableTargetAction"]["minCapacity"] >= 2 for a in commercial_actions)
    floors = {a["scalableTargetAction"]["minCapacity"] for a in commercial_actions}
    assert floors == {2, 3}  # the night floor differs from the daytime one
    assert commercial.of_type("aws:scheduler/schedule:Schedule") == []


# -- one setting changes the preview -------------------------------------------------------------


def test_atlas_tier_setting_changes_the_cluster() -> None:
    run = run_stack("staging", {"platform:atlas": {"tier": "M10", "cloudBackup": True}})
    cluster = run.one("mongodbatlas:index/advancedCluster:AdvancedCluster")
    [spec] = cluster["replicationSpecs"][0]["regionConfigs"]
    assert spec["electableSpecs"]["instanceSize"] == "M10" and cluster["backupEnabled"] is True


def test_datadog_setting_adds_the_agent_and_its_key() -> None:
    run = run_stack("staging", {"platform:datadog": {"enabled": True}})
    agent = containers(run)["datadog-agent"]
    assert [s["name"] for s in agent["secrets"]] == ["DD_API_KEY"]
    assert isinstance(run.one(PARAMETER, "dd-api-key").inputs["value"], Secret)
    assert "DD_API_KEY" not in {s["name"] for s in containers(run)["api"]["secrets"]}


def test_datadog_needs_no_network_change_and_only_its_key_in_iam() -> None:
    # The agent reads the task metadata endpoint (no IAM) and ships to Datadog on 443 (the tasks'
    # egress already allows it): the security groups stay as they are. Its key is an SSM
    # parameter, which each service's execution role may then read, and nothing else changes.
    security = (
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    )

    def rules(run: Run) -> dict[str, object]:
        return {r.name: r.plain_inputs for t in security for r in run.of_type(t)}

    def readable(run: Run, service: str) -> set[str]:
        policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", f"{service}-execution-role")["policy"])
        [statement] = [s for s in policy["Statement"] if s["Sid"] == "ReadTheTasksSecrets"]
        return set(statement["Resource"])

    without = committed_run("staging")
    with_agent = run_stack("staging", {"platform:datadog": {"enabled": True}})
    assert rules(with_agent) == rules(without)
    key = with_agent.one(PARAMETER, "dd-api-key").outputs["arn"]
    for service in ("api", "web"):
        assert readable(with_agent, service) == readable(without, service) | {key}


def test_datadog_needs_its_api_key_before_anything_is_registered() -> None:
    from components.settings import SettingsError
    from tools.harness import last_run

    with pytest.raises(SettingsError, match="datadog:apiKey"):
        run_stack("staging", {"platform:datadog": {"enabled": True}, "datadog:apiKey": None})
    assert last_run().resources == []


def test_schedule_off_removes_every_scheduled_action() -> None:
    run = run_stack("staging", {"platform:schedule": {"enabled": False}})
    assert run.of_type("aws:appautoscaling/scheduledAction:ScheduledAction") == []
    assert run.of_type("aws:scheduler/schedule:Schedule") == []


def test_a_domain_turns_on_https_with_a_validated_certificate(staging: Run) -> None:
    listeners = {listener["port"]: listener for listener in staging.of_type("aws:lb/listener:Listener")}
    assert listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert listeners[80]["defaultActions"][0]["type"] == "redirect"
    # Staging has its own names under the shared domain; api.<domain> and www.<domain> are
    # commercial's. One certificate covers both.
    assert staging.output("apiUrl") == "https://api-staging.example.com"
    assert staging.output("webUrl") == "https://staging.example.com"
    certificate = staging.one("aws:acm/certificate:Certificate")
    assert (certificate["domainName"], certificate["subjectAlternativeNames"]) == (
        "api-staging.example.com",
        ["staging.example.com"],
    )
    assert staging.of_type("aws:acm/certificateValidation:CertificateValidation")
    # Without a domain, one service is served over plain HTTP on the ALB's name, with a warning.
    bare = run_stack(
        "staging", {"platform:dns": {"domain": None}, "platform:services": {"web": {"enabled": False}}}
    )
    assert bare.output("apiUrl").startswith("http://") and "webUrl" not in bare.outputs
    assert any("plain, unencrypted HTTP" in w for w in bare.warnings)


def test_commercial_serves_the_api_name_through_the_cutovers_records(commercial: Run) -> None:
    records = [
        r for r in commercial.of_type("aws:route53/record:Record") if r.get("name") == "api.example.com"
    ]
    assert [(r["type"], r["setIdentifier"], r["weightedRoutingPolicies"][0]["weight"]) for r in records] == [
        ("CNAME", "aws", 100)
    ]
    assert records[0]["records"] == [
        commercial.one("aws:cloudfront/distribution:Distribution").outputs["domainName"]
    ]
    assert commercial.output("cutover")["phase"] == "off"


def test_the_canary_hands_a_share_of_the_api_name_to_the_legacy_host() -> None:
    run = run_stack("prod-commercial", legacy_cutover())
    records = [r for r in run.of_type("aws:route53/record:Record") if r.get("name") == "api.example.com"]
    assert sorted((r["setIdentifier"], r["weightedRoutingPolicies"][0]["weight"]) for r in records) == [
        ("aws", 5),
        ("legacy", 95),
    ]
    assert run.output("cutover")["hosts"]["api"] == {
        "record": "api.example.com",
        "awsWeight": 5,
        "legacyWeight": 95,
    }


# -- the cut-over on the pre-commercial data ------------------------------------------------------

PASSWORD = "s3cr3t-Pa55word"
LEGACY_DATABASE_URL = f"postgresql://postgres.abcdefghijklmnopqrst:{PASSWORD}@aws-0-ap-southeast-1.pooler.supabase.com:5432/postgres?sslmode=require"
LEGACY_MONGODB_URI = f"mongodb+srv://platform-app:{PASSWORD}@platform.abcde.mongodb.net/app"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def legacy_cutover(**extra: object) -> dict:
    # The harness hands config over in plain text; Pulumi would decrypt `--secret` values the same way.
    return {
        "platform:cutover": {
            "phase": "canary",
            "hosts": {
                "api": {"legacyHost": "platform-api.onrender.com", "awsWeight": 5},
                # Every cut-over host takes part in the canary; the web's stays all on Vercel here.
                "web": {"legacyHost": "cname.vercel-dns-0.com", "healthCheckHost": "platform-web.vercel.app"},
            },
            "legacyDatabaseUrl": LEGACY_DATABASE_URL,
            "legacyMongodbUri": LEGACY_MONGODB_URI,
            **extra,
        }
    }


@pytest.fixture(scope="module")
def on_legacy_data() -> Run:
    return run_stack("prod-commercial", legacy_cutover())


def parameter_by_arn(run: Run) -> dict[str, object]:
    return {p.outputs["arn"]: p for p in run.of_type(PARAMETER)}


def test_on_legacy_data_the_api_reads_the_legacy_parameters_under_its_usual_names(
    on_legacy_data: Run,
) -> None:
    injected = {s["name"]: s["valueFrom"] for s in containers(on_legacy_data)["api"]["secrets"]}
    by_arn = parameter_by_arn(on_legacy_data)
    assert by_arn[injected["DATABASE_URL"]]["name"] == "/platform/prod-commercial/LEGACY_DATABASE_URL"
    assert by_arn[injected["MONGODB_URI"]]["name"] == "/platform/prod-commercial/LEGACY_MONGODB_URI"
    assert by_arn[injected["SENTRY_DSN"]]["name"] == "/platform/prod-commercial/API_SENTRY_DSN"
    assert not {"LEGACY_DATABASE_URL", "LEGACY_MONGODB_URI"} & injected.keys()
    key_arn = on_legacy_data.named("key-key").outputs["arn"]
    # The dashboard's sslmode=require would fail under node-postgres (brianc/node-postgres#3473):
    # the stack stores it verified against Supabase's root, as pre-commercial's own URL.
    verified = LEGACY_DATABASE_URL.replace(
        "sslmode=require", "sslmode=verify-full&sslrootcert=certs/supabase-prod-ca-2021.crt"
    )
    for name, url in (("DATABASE_URL", verified), ("MONGODB_URI", LEGACY_MONGODB_URI)):
        parameter = by_arn[injected[name]]
        assert isinstance(parameter.inputs["value"], Secret) and parameter["value"] == url
        assert parameter["type"] == "SecureString" and parameter["keyId"] == key_arn


def test_on_legacy_data_this_stacks_own_urls_stay_stored_for_the_copy(on_legacy_data: Run) -> None:
    aurora = on_legacy_data.one("aws:rds/cluster:Cluster").outputs["endpoint"]
    database_url = on_legacy_data.one(PARAMETER, "secrets-database-url")
    assert database_url["name"] == "/platform/prod-commercial/DATABASE_URL"
    assert f"@{aurora}:5432/" in database_url["value"]
    mongodb_uri = on_legacy_data.one(PARAMETER, "secrets-mongodb-uri")
    assert mongodb_uri["name"] == "/platform/prod-commercial/MONGODB_URI"
    assert mongodb_uri["value"] != LEGACY_MONGODB_URI and isinstance(mongodb_uri.inputs["value"], Secret)
    assert on_legacy_data.output("cutover")["phase"] == "canary"


def _plain_strings(value: object) -> list[str]:
    """Every string of a resource's inputs or outputs that is not inside a secret marker."""
    if isinstance(value, Secret):
        return []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _plain_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _plain_strings(v)]
    return [value] if isinstance(value, str) else []


def test_on_legacy_data_the_connection_strings_appear_only_as_secrets(on_legacy_data: Run) -> None:
    for resource in on_legacy_data.resources:
        assert not any(PASSWORD in s for s in _plain_strings(resource.inputs)), resource.name
    assert PASSWORD not in json.dumps(on_legacy_data.outputs, default=repr)


def test_only_legacy_data_opens_the_tasks_to_its_postgres_port(on_legacy_data: Run, commercial: Run) -> None:
    [task_sg] = on_legacy_data.one("aws:ecs/service:Service", "api-service")["networkConfiguration"][
        "securityGroups"
    ]
    internet = {
        r["fromPort"]
        for r in on_legacy_data.of_type(EGRESS)
        if r["securityGroupId"] == task_sg and r.get("cidrIpv4") == "0.0.0.0/0"
    }
    assert internet == {443, 27017, 5432}
    assert not [r for r in commercial.of_type(EGRESS) if r.name.endswith("api-out-5432")]
    on_aws_data = run_stack("prod-commercial", {"platform:cutover": {"phase": "data-switched"}})
    assert not [r for r in on_aws_data.of_type(EGRESS) if r.name.endswith("api-out-5432")]
    assert not [p for p in on_aws_data.of_type(PARAMETER) if "LEGACY" in p["name"]]
    injected = {s["name"]: s["valueFrom"] for s in containers(on_aws_data)["api"]["secrets"]}
    assert parameter_by_arn(on_aws_data)[injected["DATABASE_URL"]]["name"].endswith("/DATABASE_URL")


def test_the_transaction_pooler_port_moves_the_egress_rule() -> None:
    url = LEGACY_DATABASE_URL.replace(":5432/", ":6543/")
    run = run_stack("prod-commercial", legacy_cutover(legacyDatabaseUrl=url, legacyDatabasePort=6543))
    rule = run.one(EGRESS, "api-out-6543")
    assert (rule["fromPort"], rule["toPort"], rule["cidrIpv4"]) == (6543, 6543, "0.0.0.0/0")
    assert not [r for r in run.of_type(EGRESS) if r.name.startswith("web-out-") and r["fromPort"] == 6543]


def test_encrypted_connection_strings_in_the_stack_file_preview_offline_as_secrets() -> None:
    # The offline run cannot decrypt `secure:` values; it stands in well-formed URLs, and like the
    # engine treats the whole platform:cutover section as secret.
    run = run_stack(
        "prod-commercial",
        legacy_cutover(
            legacyDatabaseUrl={"secure": "v1:AAAA"},
            legacyMongodbUri={"secure": "v1:BBBB"},
            legacyDatabasePort=6543,
        ),
    )
    database_url = run.one(PARAMETER, "legacy-database-url")
    assert isinstance(database_url.inputs["value"], Secret)
    assert database_url["value"].startswith("postgresql://preview:preview@pooler.invalid:6543/")
    assert run.one(EGRESS, "api-out-6543")["fromPort"] == 6543
    assert "v1:AAAA" not in json.dumps([r.plain_inputs for r in run.resources], default=repr)


def test_a_malformed_legacy_url_is_refused_without_quoting_it() -> None:
    from components.settings import SettingsError

    with pytest.raises(SettingsError) as error:
        run_stack(
            "prod-commercial", legacy_cutover(legacyDatabaseUrl="mysql://app:hunter2@db.example.com/app")
        )
    [problem] = error.value.problems
    assert problem.startswith("platform:cutover.legacyDatabaseUrl: must be a libpq URL")
    assert "hunter2" not in problem


def test_one_owner_for_each_names_acm_validation_record(commercial: Run) -> None:
    # The ALB's certificate (Tokyo) and CloudFront's (us-east-1) are for the same names, so ACM
    # asks for the same records: exactly one resource may own each, one per name.
    validation_records = [
        r for r in commercial.of_type("aws:route53/record:Record") if "validation" in r.name
    ]
    assert len(validation_records) == 2
    assert len({r["name"] for r in validation_records}) == 2
    assert len(commercial.of_type("aws:acm/certificate:Certificate")) == 2


def test_commercial_tasks_reach_mongodb_only_through_the_peering(commercial: Run) -> None:
    atlas_block = commercial.one("mongodbatlas:index/networkContainer:NetworkContainer")["atlasCidrBlock"]
    task_egress = [
        r
        for r in commercial.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r["securityGroupId"] == _task_sg(commercial)
    ]
    assert {r["fromPort"] for r in task_egress if r.get("cidrIpv4") == "0.0.0.0/0"} == {443}
    assert {r.get("cidrIpv4") for r in task_egress if r["fromPort"] == 27017} == {atlas_block}


@pytest.mark.parametrize("stack", ["staging", "prod-commercial"])
def test_the_admin_task_runs_where_the_api_runs(stack: str) -> None:
    # The database admits only the API tasks' security group, from the API's subnets.
    run = committed_run(stack)
    network = run.one("aws:ecs/service:Service", "api-service")["networkConfiguration"]
    command = run.output("databaseAdminTask")
    assert command.startswith(f"aws ecs run-task --region ap-northeast-1 --cluster platform-{stack} ")
    assert f"--task-definition platform-{stack}-db-admin --launch-type FARGATE" in command
    assert f"subnets=[{','.join(network['subnets'])}]" in command
    assert f"securityGroups=[{network['securityGroups'][0]}]" in command
    public = "ENABLED" if network.get("assignPublicIp") else "DISABLED"
    assert f"assignPublicIp={public}" in command
    (admin,) = json.loads(run.one(TASK_DEFINITION, "database-admin")["containerDefinitions"])
    assert admin["image"] == containers(run)["api"]["image"]
    assert admin["entryPoint"] == ["node"] and admin["readonlyRootFilesystem"] is True


@pytest.mark.parametrize(
    ("stack", "hosts"),
    [
        ("staging", {"api": "api-staging.example.com", "web": "staging.example.com"}),
        ("prod-commercial", {"api": "api.example.com", "web": "www.example.com"}),
    ],
)
def test_the_web_and_the_api_share_one_load_balancer_by_host_name(stack: str, hosts: dict[str, str]) -> None:
    run = committed_run(stack)
    [alb] = run.of_type(ALB)
    [https] = [listener for listener in run.of_type("aws:lb/listener:Listener") if listener["port"] == 443]
    assert https["loadBalancerArn"] == alb.outputs["arn"]
    # A name no service claims gets a 404 from the load balancer, not some service's pages.
    [default] = https["defaultActions"]
    assert (default["type"], default["fixedResponse"]["statusCode"]) == ("fixed-response", "404")
    groups = {group.outputs["arn"]: group for group in run.of_type("aws:lb/targetGroup:TargetGroup")}
    services = {s["name"]: s for s in run.of_type("aws:ecs/service:Service")}
    for name, host in hosts.items():
        [rule] = [r for r in run.of_type("aws:lb/listenerRule:ListenerRule") if r.name == f"{name}-rule"]
        assert rule["listenerArn"] == https.outputs["arn"]
        assert rule["conditions"] == [{"hostHeader": {"values": [host]}}]
        [action] = rule["actions"]
        group = groups[action["targetGroupArn"]]
        # The Next.js standalone server and the API both listen on 3000; each probes its own path.
        assert group["port"] == 3000
        assert group["healthCheck"]["path"] == {"api": "/health", "web": "/api/health"}[name]
        [attachment] = services[f"platform-{stack}-{name}"]["loadBalancers"]
        assert (attachment["targetGroupArn"], attachment["containerName"]) == (action["targetGroupArn"], name)


def test_commercial_serves_both_names_through_cloudfront_and_caches_only_immutable_assets(
    commercial: Run,
) -> None:
    distribution = commercial.one("aws:cloudfront/distribution:Distribution")
    assert distribution["aliases"] == ["api.example.com", "www.example.com"]
    [assets] = distribution["orderedCacheBehaviors"]
    assert assets["pathPattern"] == "/_next/static/*"
    policy = next(
        p
        for p in commercial.of_type("aws:cloudfront/cachePolicy:CachePolicy")
        if p.id == assets["cachePolicyId"]
    )
    # Next.js serves /_next/static with "public, max-age=31536000, immutable" (a year).
    assert policy["maxTtl"] >= 31536000
    # Pages and the API: AWS's managed CachingDisabled policy (id from "Use managed cache policies").
    assert distribution["defaultCacheBehavior"]["cachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def test_a_served_service_the_cut_over_does_not_move_gets_alias_records_to_cloudfront() -> None:
    # Found by review: an added service was among the distribution's aliases but had no record.
    admin = {"platform:services": {"admin": {"subdomain": "admin", "imageTag": "1.0.0", "minCount": 2}}}
    run = run_stack("prod-commercial", admin)
    distribution = run.one("aws:cloudfront/distribution:Distribution")
    assert "admin.example.com" in distribution["aliases"]
    records = [r for r in run.of_type("aws:route53/record:Record") if r["name"] == "admin.example.com"]
    assert sorted(r["type"] for r in records) == ["A", "AAAA"]
    for record in records:
        [alias] = record["aliases"]
        assert alias["name"] == distribution.outputs["domainName"]
        # CloudFront's fixed hosted zone for alias targets (Route 53 API reference, AliasTarget).
        assert alias["zoneId"] == "Z2FDTNDATAQYW2"
