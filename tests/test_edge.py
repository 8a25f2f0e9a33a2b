"""Edge: CloudFront + WAF in front of an internal ALB that only CloudFront can reach, for every
public host (the API and the web) at once."""

from __future__ import annotations

import json

import pytest

from components.edge import Edge, EdgeArgs
from components.settings import EdgeSettings, SettingsError, parse_settings
from tools.harness import Run, run_stack
from tools.mocks import ACCOUNT_ID

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "commercial"}
REGION = "ap-northeast-1"
PREFIX = "platform-prod"
ALB_ARN = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:loadbalancer/app/platform-prod-api/50dc6c495c0c9188"
)
ALB_DNS = f"internal-platform-prod-api-1234567890.{REGION}.elb.amazonaws.com"
# The AWS-managed CachingDisabled cache policy (TTLs 0, nothing in the cache key):
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALB_SG = "sg-0a1b2c3d4e5f60718"
VPC_ID = "vpc-0123456789abcdef0"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
API_HOST = "api.example.com"
WEB_HOST = "www.example.com"
HOSTS = {"web": WEB_HOST, "api": API_HOST}
# The AWS-managed AllViewer origin request policy (all viewer headers, Host included):
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
# What Next.js sends with /_next/static/* (content-hashed build output):
# https://nextjs.org/docs/app/guides/self-hosting (Caching and ISR / automatic caching)
NEXT_STATIC_MAX_AGE = 31_536_000
CACHE_POLICY = "aws:cloudfront/cachePolicy:CachePolicy"
EXISTING_CERTIFICATE = f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
# Not the defaults, so a hard-coded value cannot pass.
RATE_LIMIT = 1234
WAF_RETENTION = 180
ACCESS_RETENTION = 60

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
VPC_ORIGIN = "aws:cloudfront/vpcOrigin:VpcOrigin"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CERTIFICATE = "aws:acm/certificate:Certificate"
RECORD = "aws:route53/record:Record"
MANAGED_GROUPS = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


EDGE_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/22222222-3333-4444-8555-666666666666"


def _edge(settings: EdgeSettings, **overrides) -> Edge:
    fields = {
        "settings": settings,
        "name_prefix": PREFIX,
        "region": REGION,
        "alb_arn": ALB_ARN,
        "alb_dns_name": ALB_DNS,
        "alb_security_group_id": ALB_SG,
        "vpc_id": VPC_ID,
        "alb_listener_port": 443,
        "hosts": HOSTS,
        "zone_id": ZONE_ID,
        "access_log_retention_days": ACCESS_RETENTION,
        "log_kms_key_arn": EDGE_KEY_ARN,
    }
    return Edge("edge", EdgeArgs(**{**fields, **overrides}))


def _run(settings: EdgeSettings, **overrides) -> Run:
    return run_stack("commercial", config=CONFIG, program=lambda: _edge(settings, **overrides))


@pytest.fixture(scope="module")
def run() -> Run:
    """The commercial shape: domain, HTTPS origin, WAF, no API caching."""
    settings = EdgeSettings(
        cloudfront=True,
        waf=True,
        waf_rate_limit=RATE_LIMIT,
        waf_log_retention_days=WAF_RETENTION,
        price_class="PriceClass_100",
    )
    return _run(settings)


@pytest.fixture(scope="module")
def bare() -> Run:
    """No domain (so HTTP to the ALB and the default certificate), no WAF, API caching on."""
    settings = EdgeSettings(cloudfront=True, cache_api=True)
    return _run(settings, alb_listener_port=80, hosts={}, zone_id=None)


def _distribution(run: Run) -> dict:
    return run.one(DISTRIBUTION).plain_inputs


def _behavior(run: Run) -> dict:
    return _distribution(run)["defaultCacheBehavior"]


# -- WAF ------------------------------------------------------------------------------------


def test_web_acl_is_cloudfront_scoped_in_us_east_1(run: Run) -> None:
    acl = run.one(WEB_ACL)
    assert acl["scope"] == "CLOUDFRONT"
    assert acl["region"] == "us-east-1"
    assert acl["defaultAction"] == {"allow": {}}


def test_web_acl_runs_the_managed_rule_groups_and_a_rate_limit_with_metrics(run: Run) -> None:
    rules = run.one(WEB_ACL)["rules"]
    managed = {
        r["statement"]["managedRuleGroupStatement"]["name"]: r
        for r in rules
        if "managedRuleGroupStatement" in r["statement"]
    }
    rate_based = [r for r in rules if "rateBasedStatement" in r["statement"]]
    assert set(managed) == MANAGED_GROUPS
    assert len(rate_based) == 1 and len(rules) == 5
    for rule in managed.values():
        assert rule["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
        # "none" keeps the groups' own block actions; "count" would only observe.
        assert rule["overrideAction"] == {"none": {}}
    metric_names = set()
    for rule in rules:
        visibility = rule["visibilityConfig"]
        assert visibility["cloudwatchMetricsEnabled"] is True
        assert visibility["sampledRequestsEnabled"] is True
        metric_names.add(visibility["metricName"])
    assert len(metric_names) == 5, "every rule needs its own metric"
    assert len({r["priority"] for r in rules}) == 5
    assert run.one(WEB_ACL)["visibilityConfig"]["cloudwatchMetricsEnabled"] is True


def test_rate_limit_blocks_per_ip_at_the_configured_rate(run: Run) -> None:
    [rule] = [r for r in run.one(WEB_ACL)["rules"] if "rateBasedStatement" in r["statement"]]
    statement = rule["statement"]["rateBasedStatement"]
    assert statement["limit"] == RATE_LIMIT
    assert statement["aggregateKeyType"] == "IP"
    assert rule["action"] == {"block": {}}


def test_distribution_is_protected_by_the_web_acl_arn(run: Run) -> None:
    acl = run.one(WEB_ACL)
    assert _distribution(run)["webAclId"] == acl.outputs["arn"]
    assert acl.outputs["arn"].startswith("arn:aws:wafv2:us-east-1:")


def test_waf_logs_go_to_an_aws_waf_logs_group_in_us_east_1_without_credentials(run: Run) -> None:
    group = run.one(LOG_GROUP, "waf")
    assert group["name"].startswith("aws-waf-logs-")
    assert group["retentionInDays"] == WAF_RETENTION
    assert group["region"] == "us-east-1"
    logging = run.one(WAF_LOGGING)
    assert logging["logDestinationConfigs"] == [group.outputs["arn"]]
    assert logging["resourceArn"] == run.one(WEB_ACL).outputs["arn"]
    assert logging["region"] == "us-east-1"
    redacted = {field["singleHeader"]["name"] for field in logging["redactedFields"]}
    assert redacted == {"authorization", "cookie"}


def test_component_exposes_the_web_acl_for_alarms(run: Run) -> None:
    outputs = run.one("platform:edge:Edge").outputs
    acl = run.one(WEB_ACL)
    assert outputs["web_acl_arn"] == acl.outputs["arn"]
    assert outputs["web_acl_name"] == acl["name"]
    assert outputs["web_acl_metric_name"] == acl["visibilityConfig"]["metricName"]
    rate_metrics = [
        r["visibilityConfig"]["metricName"] for r in acl["rules"] if "rateBasedStatement" in r["statement"]
    ]
    assert [outputs["rate_limit_metric_name"]] == rate_metrics


def test_no_waf_resources_when_waf_is_off(bare: Run) -> None:
    assert not bare.of_type(WEB_ACL)
    assert not bare.of_type(WAF_LOGGING)
    assert not [g for g in bare.of_type(LOG_GROUP) if g["name"].startswith("aws-waf-logs-")]
    assert "webAclId" not in bare.one(DISTRIBUTION).inputs
    assert bare.one("platform:edge:Edge").outputs.get("web_acl_arn") is None


# -- TLS to viewers -------------------------------------------------------------------------


def test_viewer_certificate_is_requested_in_us_east_1_for_every_host(run: Run) -> None:
    certificate = run.one(CERTIFICATE)
    assert certificate["region"] == "us-east-1"
    names = {certificate["domainName"], *certificate["subjectAlternativeNames"]}
    assert names == {API_HOST, WEB_HOST}
    assert len(certificate["subjectAlternativeNames"]) == 1
    viewer = _distribution(run)["viewerCertificate"]
    assert viewer["acmCertificateArn"] == certificate.outputs["arn"]
    assert viewer["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert viewer["sslSupportMethod"] == "sni-only"
    assert sorted(_distribution(run)["aliases"]) == sorted([API_HOST, WEB_HOST])


def test_each_host_gets_its_own_validation_record_unless_the_regional_certificate_writes_them(
    run: Run,
) -> None:
    # ACM gives each name its own validation CNAME, so a certificate for two names needs two.
    assert len([r for r in run.of_type(RECORD) if "validation" in r.name]) == 2
    shared = _run(EdgeSettings(cloudfront=True), viewer_validation_records_exist=True)
    assert not shared.of_type(RECORD)
    assert shared.one(CERTIFICATE)["domainName"] in (API_HOST, WEB_HOST)


def test_an_existing_certificate_is_used_instead_of_requesting_one() -> None:
    settings = EdgeSettings(cloudfront=True, certificate_arn=EXISTING_CERTIFICATE)
    run = _run(settings)
    assert not run.of_type(CERTIFICATE)
    assert _distribution(run)["viewerCertificate"]["acmCertificateArn"] == EXISTING_CERTIFICATE


def test_without_a_domain_the_default_certificate_is_used_and_flagged(bare: Run) -> None:
    assert _distribution(bare)["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert "aliases" not in bare.one(DISTRIBUTION).inputs
    assert not bare.of_type(CERTIFICATE) and not bare.of_type(RECORD)
    assert any("cloudfront.net" in w for w in bare.warnings)


def test_the_edge_serves_its_name_but_leaves_the_names_records_to_the_cut_over(run: Run) -> None:
    """components/cutover.py owns the name's records in every phase; CloudFront must still answer."""
    assert not [r for r in run.of_type(RECORD) if r["name"] in (API_HOST, WEB_HOST)]
    assert set(run.one(DISTRIBUTION)["aliases"]) == {API_HOST, WEB_HOST}


# -- origin lock-down -----------------------------------------------------------------------


def test_vpc_origin_reaches_the_alb_over_tls(run: Run) -> None:
    config = run.one(VPC_ORIGIN)["vpcOriginEndpointConfig"]
    assert config["arn"] == ALB_ARN
    assert config["originProtocolPolicy"] == "https-only"
    assert config["httpsPort"] == 443
    assert config["originSslProtocols"] == {"items": ["TLSv1.2"], "quantity": 1}


def test_distribution_origin_is_the_vpc_origin_never_a_public_endpoint(run: Run) -> None:
    [origin] = _distribution(run)["origins"]
    assert origin["vpcOriginConfig"]["vpcOriginId"] == run.one(VPC_ORIGIN).id
    assert "customOriginConfig" not in origin
    # One of the names on the ALB's certificate; with Host forwarded, CloudFront checks the
    # certificate against the viewer's Host as well (CloudFront developer guide, "HTTP 502 status
    # code (Bad Gateway)"), so every host is on it.
    assert origin["domainName"] in (API_HOST, WEB_HOST)
    assert _behavior(run)["targetOriginId"] == origin["originId"]


def test_alb_admits_only_cloudfronts_vpc_origin_security_group(run: Run) -> None:
    [rule] = run.of_type(INGRESS)
    assert rule["securityGroupId"] == ALB_SG
    assert rule["referencedSecurityGroupId"].startswith("sg-")
    assert rule["referencedSecurityGroupId"] != ALB_SG
    for open_source in ("cidrIpv4", "cidrIpv6", "prefixListId"):
        assert open_source not in rule.inputs
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (443, 443, "tcp")
    assert run.one(VPC_ORIGIN).urn in rule.dependencies


def test_cloudfront_security_group_is_looked_up_in_the_albs_vpc(run: Run) -> None:
    [lookup] = [
        inputs for token, inputs in run.invokes if token == "aws:ec2/getSecurityGroup:getSecurityGroup"
    ]
    filters = {f["name"]: f["values"] for f in lookup["filters"]}
    assert filters == {"vpc-id": [VPC_ID], "group-name": ["CloudFront-VPCOrigins-Service-SG"]}


def test_without_a_certificate_cloudfront_talks_http_to_the_alb_and_warns(bare: Run) -> None:
    config = bare.one(VPC_ORIGIN)["vpcOriginEndpointConfig"]
    assert config["originProtocolPolicy"] == "http-only"
    assert config["httpPort"] == 80
    [rule] = bare.of_type(INGRESS)
    assert (rule["fromPort"], rule["toPort"]) == (80, 80)
    assert _distribution(bare)["origins"][0]["domainName"] == ALB_DNS
    assert any("plain HTTP" in w for w in bare.warnings)


# -- behaviour ------------------------------------------------------------------------------


def test_api_responses_are_not_cached_by_default(run: Run) -> None:
    behavior = _behavior(run)
    assert behavior["cachePolicyId"] == CACHING_DISABLED
    assert [p["name"] for p in run.of_type(CACHE_POLICY)] == [f"{PREFIX}-immutable-assets"]


def test_cache_api_honours_origin_cache_control_keyed_per_caller(bare: Run) -> None:
    policy = bare.one(CACHE_POLICY, "api-cache")
    assert _behavior(bare)["cachePolicyId"] == policy.id != CACHING_DISABLED
    # Nothing is cached unless the API says so.
    assert policy["defaultTtl"] == 0 and policy["minTtl"] == 0 and policy["maxTtl"] > 0
    key = policy["parametersInCacheKeyAndForwardedToOrigin"]
    assert "Authorization" in key["headersConfig"]["headers"]["items"]
    assert key["queryStringsConfig"]["queryStringBehavior"] == "all"
    assert key["cookiesConfig"]["cookieBehavior"] == "all"


def _ordered(run: Run) -> list[dict]:
    return _distribution(run).get("orderedCacheBehaviors", [])


def test_next_static_assets_have_their_own_behaviour_with_a_long_cache(run: Run) -> None:
    [behavior] = _ordered(run)
    assert behavior["pathPattern"] == "/_next/static/*"
    assert behavior["targetOriginId"] == _behavior(run)["targetOriginId"]
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
    assert set(behavior["allowedMethods"]) == {"GET", "HEAD"}
    policy = run.one(CACHE_POLICY, "immutable")
    assert behavior["cachePolicyId"] == policy.id not in (CACHING_DISABLED, None)
    # The origin's one-year max-age is honoured in full, and a no-store answer is not kept.
    assert policy["maxTtl"] >= NEXT_STATIC_MAX_AGE
    assert policy["minTtl"] == 0
    assert policy["defaultTtl"] > 0
    key = policy["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["enableAcceptEncodingBrotli"] and key["enableAcceptEncodingGzip"]
    # Security headers on assets too.
    assert behavior["responseHeadersPolicyId"] == _behavior(run)["responseHeadersPolicyId"]


def test_the_asset_cache_key_holds_the_host_so_one_hosts_answer_never_reaches_another(run: Run) -> None:
    """CloudFront's default key is the distribution's own name and the path, not the alias asked
    for; without Host in the key a 404 cached for api.<domain>/_next/static/x would be served to
    www.<domain>/_next/static/x (CloudFront developer guide, "Understand the cache key")."""
    key = run.one(CACHE_POLICY, "immutable")["parametersInCacheKeyAndForwardedToOrigin"]
    headers = key["headersConfig"]
    assert headers["headerBehavior"] == "whitelist"
    assert [h.lower() for h in headers["headers"]["items"]] == ["host"]
    assert key["cookiesConfig"]["cookieBehavior"] == "none"
    assert key["queryStringsConfig"]["queryStringBehavior"] == "none"


def test_the_cache_api_key_holds_the_host_as_well(bare: Run) -> None:
    key = bare.one(CACHE_POLICY, "api-cache")["parametersInCacheKeyAndForwardedToOrigin"]
    assert "host" in [h.lower() for h in key["headersConfig"]["headers"]["items"]]


def test_pages_and_api_stay_uncached_behind_the_asset_behaviour(run: Run) -> None:
    assert _behavior(run)["cachePolicyId"] == CACHING_DISABLED
    assert all(b["pathPattern"] != "*" for b in _ordered(run))


def test_the_viewers_host_reaches_the_alb_which_routes_by_it(run: Run) -> None:
    # The default behaviour forwards every viewer header, Host included.
    assert _behavior(run)["originRequestPolicyId"] == ALL_VIEWER
    # The asset behaviour has no origin request policy; what is in its cache key (Host) is
    # forwarded to the origin (CloudFront API reference, ParametersInCacheKeyAndForwardedToOrigin).
    [behavior] = _ordered(run)
    assert "originRequestPolicyId" not in behavior


def test_immutable_paths_are_configurable_and_keep_their_order() -> None:
    paths = ("/_next/static/*", "/fonts/*.woff2", "/icons/?.svg")
    run = _run(EdgeSettings(cloudfront=True, immutable_paths=paths))
    assert [b["pathPattern"] for b in _ordered(run)] == list(paths)
    policy = run.one(CACHE_POLICY, "immutable")
    assert {b["cachePolicyId"] for b in _ordered(run)} == {policy.id}


def test_no_immutable_paths_means_no_asset_behaviour_and_no_policy() -> None:
    run = _run(EdgeSettings(cloudfront=True, immutable_paths=()))
    assert "orderedCacheBehaviors" not in run.one(DISTRIBUTION).inputs
    assert not run.of_type(CACHE_POLICY)


def test_viewers_get_https_http3_and_compression(run: Run) -> None:
    distribution = _distribution(run)
    behavior = _behavior(run)
    assert distribution["httpVersion"] == "http2and3"
    assert distribution["isIpv6Enabled"] is True
    assert distribution["priceClass"] == "PriceClass_100"
    assert behavior["compress"] is True
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
    assert set(behavior["allowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}


def test_security_headers_are_added_to_every_response(run: Run) -> None:
    policy = run.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    assert _behavior(run)["responseHeadersPolicyId"] == policy.id
    headers = policy["securityHeadersConfig"]
    assert headers["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31_536_000
    assert headers["strictTransportSecurity"]["override"] is True
    assert headers["contentTypeOptions"] == {"override": True}
    assert headers["frameOptions"]["frameOption"] == "DENY"
    assert headers["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"


# -- access logs ----------------------------------------------------------------------------


def test_access_logs_use_standard_logging_v2_to_cloudwatch_in_us_east_1(run: Run) -> None:
    source = run.one("aws:cloudwatch/logDeliverySource:LogDeliverySource")
    destination = run.one("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    delivery = run.one("aws:cloudwatch/logDelivery:LogDelivery")
    group = run.one(LOG_GROUP, "access")
    assert source["logType"] == "ACCESS_LOGS"
    assert source["resourceArn"] == run.one(DISTRIBUTION).outputs["arn"]
    assert destination["deliveryDestinationConfiguration"]["destinationResourceArn"] == group.outputs["arn"]
    assert delivery["deliverySourceName"] == source["name"]
    assert delivery["deliveryDestinationArn"] == destination.outputs["arn"]
    for resource in (source, destination, delivery, group):
        assert resource["region"] == "us-east-1"
    assert group["retentionInDays"] == ACCESS_RETENTION
    assert "loggingConfig" not in run.one(DISTRIBUTION).inputs


def test_log_delivery_may_write_only_to_the_edge_log_groups(run: Run) -> None:
    policy = run.one("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    assert policy["region"] == "us-east-1"
    [statement] = json.loads(policy["policyDocument"])["Statement"]
    groups = [run.one(LOG_GROUP, "access"), run.one(LOG_GROUP, "waf")]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert sorted(statement["Resource"]) == sorted(f"{g.outputs['arn']}:*" for g in groups)
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    assert policy.urn in run.one(WAF_LOGGING).dependencies
    assert policy.urn in run.one("aws:cloudwatch/logDelivery:LogDelivery").dependencies


# -- outputs and refusals -------------------------------------------------------------------


def test_outputs_name_the_distribution(run: Run, bare: Run) -> None:
    outputs = run.one("platform:edge:Edge").outputs
    distribution = run.one(DISTRIBUTION)
    assert outputs["distribution_id"] == distribution.id
    assert outputs["distribution_domain_name"] == distribution.outputs["domainName"]
    assert outputs["urls"] == {"api": f"https://{API_HOST}", "web": f"https://{WEB_HOST}"}
    assert bare.one("platform:edge:Edge").outputs["urls"] == {}


@pytest.mark.parametrize(
    ("settings", "overrides", "message"),
    [
        (EdgeSettings(cloudfront=True), {"hosts": {}, "zone_id": None}, "HTTPS ALB listener"),
        (EdgeSettings(cloudfront=True), {"hosts": {"api": API_HOST, "web": API_HOST}}, "two services"),
        (EdgeSettings(cloudfront=True), {"zone_id": None}, "zone_id"),
        (EdgeSettings(cloudfront=True), {"access_log_retention_days": 10}, "retention"),
    ],
)
def test_inconsistent_arguments_are_refused(settings: EdgeSettings, overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _run(settings, **overrides)


def test_edge_log_groups_are_encrypted_with_the_us_east_1_key(run: Run) -> None:
    groups = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 2
    for group in groups:
        assert group["region"] == "us-east-1"
        assert group["kmsKeyId"] == EDGE_KEY_ARN


def _common_rule_statement(run: Run) -> dict:
    [common] = [r for r in run.one(WEB_ACL)["rules"] if r["name"] == "aws-common"]
    return common["statement"]["managedRuleGroupStatement"]


def test_large_bodies_are_blocked_unless_the_setting_counts_them(run: Run) -> None:
    assert not _common_rule_statement(run).get("ruleActionOverrides")
    lenient = _run(EdgeSettings(cloudfront=True, waf=True, waf_allow_large_bodies=True))
    assert _common_rule_statement(lenient)["ruleActionOverrides"] == [
        {"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}
    ]


def test_the_waf_guards_every_host_through_the_one_distribution(run: Run) -> None:
    """The web ACL attaches to the distribution, not to a host, so the API and the web share every
    rule (the 8 KB body limit included)."""
    distribution = _distribution(run)
    assert set(distribution["aliases"]) == {API_HOST, WEB_HOST}
    assert distribution["webAclId"] == run.one(WEB_ACL).outputs["arn"]
    assert len(run.of_type(DISTRIBUTION)) == 1


def test_the_default_settings_cache_the_next_static_assets() -> None:
    assert EdgeSettings().immutable_paths == ("/_next/static/*",)


def _edge_problems(edge: dict) -> list[str]:
    config = {
        "topology": "commercial",
        "services": {"api": {"imageTag": "1.0.0"}, "web": {"imageTag": "1.0.0"}},
        "dns": {"domain": "example.com"},
    }
    with pytest.raises(SettingsError) as error:
        parse_settings({**config, "edge": edge}, stack="test", region=REGION)
    return error.value.problems


@pytest.mark.parametrize(
    ("paths", "why"),
    [
        (["*"], "default behaviour"),
        (["/*"], "default behaviour"),
        (["/_next/static/<x>"], "path pattern"),
        (["/" + "a" * 255], "path pattern"),
        ([""], "path pattern"),
        (["/_next/static/*", "_next/static/*"], "twice"),
    ],
)
def test_immutable_paths_must_be_cloudfront_path_patterns(paths: list[str], why: str) -> None:
    [problem] = _edge_problems({"cloudfront": True, "immutablePaths": paths})
    assert problem.startswith("platform:edge.immutablePaths: ")
    assert why in problem


def test_a_valid_list_of_immutable_paths_is_accepted() -> None:
    config = {
        "topology": "commercial",
        "services": {"api": {"imageTag": "1.0.0"}, "web": {"imageTag": "1.0.0"}},
        "dns": {"domain": "example.com"},
    }
    paths = ["/_next/static/*", "/_next/image*", "fonts/*.woff2"]
    settings = parse_settings({**config, "edge": {"immutablePaths": paths}}, stack="test", region=REGION)
    assert settings.edge.immutable_paths == tuple(paths)
