"""DNS: certificates validated through Route 53 in the right region, zone lookup, alias records."""

from __future__ import annotations

import pulumi
import pytest

from components.dns import ValidatedCertificate, ValidatedCertificateArgs, alias_records, hosted_zone_id
from tools.harness import Run, run_stack

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "commercial"}
ZONE_ID = "Z0123456789ABCDEFGHIJ"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"


def _program() -> None:
    ValidatedCertificate(
        "viewer",
        ValidatedCertificateArgs(
            domain_name="api.example.com",
            zone_id=ZONE_ID,
            # The wildcard shares the apex's validation record; www.example.com has its own.
            subject_alternative_names=("*.api.example.com", "www.example.com"),
            region="us-east-1",
        ),
    )
    ValidatedCertificate(
        "regional", ValidatedCertificateArgs(domain_name="origin.example.com", zone_id=ZONE_ID)
    )
    pulumi.export("zone_id", hosted_zone_id("example.com"))
    anchor = pulumi.ComponentResource("test:index:Anchor", "anchor")
    alias_records(
        "alias",
        zone_id=ZONE_ID,
        record_name="api.example.com",
        target_dns_name="d111111abcdef8.cloudfront.net",
        target_zone_id="Z2FDTNDATAQYW2",
        opts=pulumi.ResourceOptions(parent=anchor),
    )


@pytest.fixture(scope="module")
def run() -> Run:
    return run_stack("commercial", config=CONFIG, program=_program)


def test_certificate_is_requested_with_dns_validation_in_the_given_region(run: Run) -> None:
    certificate = run.one(CERTIFICATE, "viewer")
    assert certificate["domainName"] == "api.example.com"
    assert certificate["subjectAlternativeNames"] == ["*.api.example.com", "www.example.com"]
    assert certificate["validationMethod"] == "DNS"
    assert certificate["region"] == "us-east-1"
    assert run.one(VALIDATION, "viewer")["region"] == "us-east-1"


def test_certificate_without_region_stays_in_the_stack_region(run: Run) -> None:
    assert "region" not in run.one(CERTIFICATE, "regional").inputs
    assert "region" not in run.one(VALIDATION, "regional").inputs


def test_one_validation_record_per_distinct_acm_record(run: Run) -> None:
    certificate = run.one(CERTIFICATE, "viewer")
    expected = {
        option["resourceRecordName"]: option
        for option in certificate.outputs["domainValidationOptions"]
        if not option["domainName"].startswith("*.")
    }
    records = [r for r in run.of_type(RECORD) if r.name.startswith("viewer-validation-")]
    assert sorted(r["name"] for r in records) == sorted(expected)
    for record in records:
        option = expected[record["name"]]
        assert record["type"] == option["resourceRecordType"]
        assert record["records"] == [option["resourceRecordValue"]]
        assert record["zoneId"] == ZONE_ID
        assert record["allowOverwrite"] is True


def test_validation_waits_for_every_record(run: Run) -> None:
    validation = run.one(VALIDATION, "viewer")
    certificate = run.one(CERTIFICATE, "viewer")
    records = [r for r in run.of_type(RECORD) if r.name.startswith("viewer-validation-")]
    assert validation["certificateArn"] == certificate.outputs["arn"]
    assert {r.urn for r in records} <= set(validation.dependencies)


def test_certificate_arn_output_comes_from_the_validation(run: Run) -> None:
    component = run.one("platform:dns:ValidatedCertificate", "viewer")
    certificate = run.one(CERTIFICATE, "viewer")
    assert component.outputs["certificate_arn"] == certificate.outputs["arn"]
    assert ":us-east-1:" in component.outputs["certificate_arn"]


def test_hosted_zone_is_looked_up_as_a_public_zone(run: Run) -> None:
    lookups = [inputs for token, inputs in run.invokes if token == "aws:route53/getZone:getZone"]
    assert lookups == [{"name": "example.com", "privateZone": False}]
    assert run.output("zone_id").startswith("Z")


def test_alias_records_cover_ipv4_and_ipv6(run: Run) -> None:
    records = [r for r in run.of_type(RECORD) if r.name.startswith("alias-")]
    assert sorted(r["type"] for r in records) == ["A", "AAAA"]
    for record in records:
        assert record["name"] == "api.example.com"
        [alias] = record["aliases"]
        assert alias["name"] == "d111111abcdef8.cloudfront.net"
        assert alias["zoneId"] == "Z2FDTNDATAQYW2"
        assert "ttl" not in record.inputs and "records" not in record.inputs


def test_a_name_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        run_stack(
            "commercial",
            config=CONFIG,
            program=lambda: ValidatedCertificate(
                "twice",
                ValidatedCertificateArgs(
                    domain_name="api.example.com",
                    zone_id=ZONE_ID,
                    subject_alternative_names=("api.example.com",),
                ),
            ),
        )


def test_a_second_certificate_for_the_same_name_shares_the_records() -> None:
    def program() -> None:
        for region, owns_records in ((None, True), ("us-east-1", False)):
            ValidatedCertificate(
                f"cert-{region or 'stack'}",
                ValidatedCertificateArgs(
                    domain_name="api.example.com",
                    zone_id=ZONE_ID,
                    region=region,
                    create_validation_records=owns_records,
                ),
            )

    run = run_stack("commercial", config=CONFIG, program=program)
    [record] = run.of_type(RECORD)
    assert record.name.startswith("cert-stack-")
    validations = {v.name: v for v in run.of_type(VALIDATION)}
    assert validations["cert-stack-validation"]["validationRecordFqdns"]
    assert not validations["cert-us-east-1-validation"].get("validationRecordFqdns")
