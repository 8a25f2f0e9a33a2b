"""The shared load balancer under the recording mocks: its group, listeners and default answer."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from components.load_balancer import LoadBalancer, LoadBalancerArgs, elb_name
from tools.harness import Run, run_stack
from tools.mocks import ACCOUNT_ID

REGION = "ap-northeast-1"
CONFIG = {"aws:region": REGION, "platform:topology": "staging"}
CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT_ID}:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
PUBLIC = ["subnet-public-a", "subnet-public-c"]
PRIVATE = ["subnet-private-a", "subnet-private-c"]

ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
# What every request no service's rule claims gets: a plain 404, no service's content.
NOT_FOUND = [
    {
        "type": "fixed-response",
        "fixedResponse": {"contentType": "text/plain", "messageBody": "Not Found", "statusCode": "404"},
    }
]


def program(
    *, internal: bool, certificate_arn: str | None, deletion_protection: bool = False
) -> Callable[[], None]:
    def run() -> None:
        LoadBalancer(
            "load-balancer",
            LoadBalancerArgs(
                name_prefix="platform-test",
                region=REGION,
                vpc_id="vpc-0123456789abcdef0",
                subnet_ids=PRIVATE if internal else PUBLIC,
                internal=internal,
                access_log_bucket="platform-test-access-logs",
                certificate_arn=certificate_arn,
                deletion_protection=deletion_protection,
            ),
        )

    return run


@pytest.fixture(scope="module")
def http_only() -> Run:
    """Staging-like without a domain: internet-facing, HTTP only."""
    return run_stack("alb-http", config=CONFIG, program=program(internal=False, certificate_arn=None))


@pytest.fixture(scope="module")
def public_https() -> Run:
    return run_stack(
        "alb-public", config=CONFIG, program=program(internal=False, certificate_arn=CERTIFICATE)
    )


@pytest.fixture(scope="module")
def internal() -> Run:
    """Commercial-like: behind CloudFront's VPC origin, with a certificate."""
    return run_stack(
        "alb-internal",
        config=CONFIG,
        program=program(internal=True, certificate_arn=CERTIFICATE, deletion_protection=True),
    )


def listener_on(run: Run, port: int):
    [listener] = [r for r in run.of_type(LISTENER) if r["port"] == port]
    return listener


def test_every_resource_is_a_child_of_the_component(http_only: Run, internal: Run):
    for run in (http_only, internal):
        component = run.one("platform:load_balancer:LoadBalancer")
        others = [r for r in run.resources if r is not component and r.type != "pulumi:pulumi:Stack"]
        assert others and all(r.parent == component.urn for r in others)


def test_outputs_point_at_the_resources(public_https: Run, http_only: Run):
    outputs = public_https.one("platform:load_balancer:LoadBalancer").outputs
    alb = public_https.one(ALB)
    assert outputs["arn"] == alb.outputs["arn"]
    assert outputs["arn_suffix"] == alb.outputs["arnSuffix"]
    assert outputs["security_group_id"] == public_https.one(SG).id
    assert outputs["listener_arn"] == listener_on(public_https, 443).outputs["arn"]
    assert outputs["listener_port"] == 443
    http = http_only.one("platform:load_balancer:LoadBalancer").outputs
    assert http["listener_arn"] == listener_on(http_only, 80).outputs["arn"]
    assert http["listener_port"] == 80


def test_alb_drops_invalid_headers_and_logs_to_the_bucket(http_only: Run, internal: Run):
    for run in (http_only, internal):
        alb = run.one(ALB)
        assert alb["loadBalancerType"] == "application"
        assert alb["dropInvalidHeaderFields"] is True
        # The storage bucket policy allows alb/AWSLogs/<account>/*.
        assert alb["accessLogs"] == {"bucket": "platform-test-access-logs", "prefix": "alb", "enabled": True}
        assert alb["securityGroups"] == [run.one(SG).id]
        assert alb["name"] == "platform-test-alb"
    assert http_only.one(ALB)["enableDeletionProtection"] is False
    assert internal.one(ALB)["enableDeletionProtection"] is True


def test_alb_is_public_in_public_subnets_or_internal_in_private_ones(http_only: Run, internal: Run):
    assert http_only.one(ALB)["internal"] is False
    assert http_only.one(ALB)["subnets"] == PUBLIC
    assert internal.one(ALB)["internal"] is True
    assert internal.one(ALB)["subnets"] == PRIVATE


def test_https_with_the_recommended_tls_policy_and_http_redirects(public_https: Run, internal: Run):
    for run in (public_https, internal):
        assert len(run.of_type(LISTENER)) == 2
        https = listener_on(run, 443)
        assert https["protocol"] == "HTTPS"
        # AWS's recommended policy: TLS 1.3 and 1.2, hybrid post-quantum key exchange, no CBC
        # (docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html).
        assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
        assert https["certificateArn"] == CERTIFICATE
        assert https["routingHttpResponseStrictTransportSecurityHeaderValue"].startswith("max-age=31536000")
        [redirect] = listener_on(run, 80)["defaultActions"]
        assert redirect["type"] == "redirect"
        assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
        assert run.warnings == []


def test_the_serving_listener_answers_404_to_what_no_service_claims(public_https: Run, http_only: Run):
    assert listener_on(public_https, 443)["defaultActions"] == NOT_FOUND
    assert listener_on(http_only, 80)["defaultActions"] == NOT_FOUND


def test_http_only_with_a_warning_without_a_certificate(http_only: Run):
    [listener] = http_only.of_type(LISTENER)
    assert listener["port"] == 80 and listener["protocol"] == "HTTP"
    assert "sslPolicy" not in listener.inputs and "certificateArn" not in listener.inputs
    [warning] = http_only.warnings
    assert "HTTP" in warning and "platform:dns.domain" in warning


def test_http_only_behind_cloudfront_warns_about_that_hop():
    run = run_stack("alb-internal-http", config=CONFIG, program=program(internal=True, certificate_arn=None))
    [warning] = run.warnings
    assert "CloudFront" in warning and "platform:dns.domain" in warning


def _rules(run: Run, type_: str) -> set[tuple]:
    return {
        (r["ipProtocol"], r["fromPort"], r["toPort"], r.get("cidrIpv4") or r.get("referencedSecurityGroupId"))
        for r in run.of_type(type_)
    }


def test_a_public_alb_admits_http_and_https_from_the_internet(public_https: Run, http_only: Run):
    for run in (public_https, http_only):
        group = run.one(SG)
        assert not group.get("ingress") and not group.get("egress")
        assert {r["securityGroupId"] for r in run.of_type(INGRESS)} == {group.id}
        assert _rules(run, INGRESS) == {("tcp", 80, 80, "0.0.0.0/0"), ("tcp", 443, 443, "0.0.0.0/0")}
        # Its ways out are each service's, added by the services.
        assert run.of_type(EGRESS) == []


def test_an_internal_alb_gets_no_internet_ingress(internal: Run):
    group = internal.one(SG)
    assert not group.get("ingress") and not group.get("egress")
    # CloudFront's VPC origin adds the one way in (components/edge.py).
    assert internal.of_type(INGRESS) == [] and internal.of_type(EGRESS) == []


# CreateLoadBalancer / CreateTargetGroup ``Name``: at most 32 characters, alphanumerics and
# hyphens, not beginning or ending with a hyphen (ELB API reference).
ELB_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")


def test_elb_names_fit_and_stay_distinct_for_long_stacks():
    first = elb_name("platform-customer-acceptance-eu-1", "api-3000")
    second = elb_name("platform-customer-acceptance-eu-2", "api-3000")
    assert ELB_NAME.fullmatch(first) and ELB_NAME.fullmatch(second)
    assert first != second
    assert elb_name("platform-test", "api") == "platform-test-api"
    # Exactly 32 characters stays as written.
    assert elb_name("platform-twelve-chars", "web-3000xy") == "platform-twelve-chars-web-3000xy"
    # One more is cut, and ends in a hash of the whole name.
    longer = elb_name("platform-twelve-chars", "web-3000xyz")
    assert len(longer) == 32 and not "platform-twelve-chars-web-3000xyz".startswith(longer)


@pytest.mark.parametrize(
    ("prefix", "suffix"),
    [
        ("platform_test", "api"),
        ("platform-test", "api_v2-8080"),
        ("-platform-", "api-"),
        ("p" * 40, "-web-3000"),
    ],
)
def test_elb_names_are_made_of_allowed_characters(prefix: str, suffix: str):
    assert ELB_NAME.fullmatch(elb_name(prefix, suffix)), elb_name(prefix, suffix)
