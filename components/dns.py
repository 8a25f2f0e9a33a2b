"""DNS: ACM certificates validated through Route 53, hosted-zone lookup and alias records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish

# Time to live of the ACM validation CNAMEs: short, so a re-issued certificate validates quickly.
VALIDATION_RECORD_TTL = 60


@dataclass(frozen=True)
class ValidatedCertificateArgs:
    domain_name: str
    """Name the certificate is for, e.g. ``api.example.com``."""
    zone_id: pulumi.Input[str]
    """Route 53 public hosted zone that receives the validation records."""
    subject_alternative_names: Sequence[str] = ()
    """Further names on the same certificate."""
    region: str | None = None
    """Region the certificate is requested in; ``us-east-1`` for CloudFront. ``None``: the stack's."""
    create_validation_records: bool = True
    """False when another certificate of this stack already writes the records for the same names:
    ACM gives every certificate for a name the same record, and two owners would each delete it
    from under the other (and the other's renewals would then fail)."""

    @classmethod
    def covering(
        cls,
        names: Sequence[str],
        *,
        zone_id: pulumi.Input[str],
        region: str | None = None,
        create_validation_records: bool = True,
    ) -> ValidatedCertificateArgs:
        """One certificate for all of ``names``: the first is its subject, the others its subject
        alternative names. Give the same names in the same order wherever a stack requests a
        certificate for them (the CloudFront viewer's and the ALB's), since ACM replaces a
        certificate whose names change."""
        if not names:
            raise ValueError("a certificate needs at least one name")
        return cls(
            domain_name=names[0],
            zone_id=zone_id,
            subject_alternative_names=tuple(names[1:]),
            region=region,
            create_validation_records=create_validation_records,
        )


class ValidatedCertificate(pulumi.ComponentResource):
    """An ACM certificate validated by DNS, usable once its validation records have been seen."""

    certificate_arn: pulumi.Output[str]
    """The certificate's ARN, resolved only after ACM has issued it, so listeners and
    distributions that take it never reference a pending certificate."""

    def __init__(self, name: str, args: ValidatedCertificateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:dns:ValidatedCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names = [args.domain_name, *args.subject_alternative_names]
        if len(set(names)) != len(names):
            raise ValueError(f"certificate names are listed twice: {names}")

        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=args.domain_name,
            subject_alternative_names=list(args.subject_alternative_names) or None,
            validation_method="DNS",
            region=args.region,
            tags={"Name": args.domain_name},
            opts=child,
        )

        records = []
        for domain in (
            _names_with_distinct_validation_records(names) if args.create_validation_records else ()
        ):
            option = certificate.domain_validation_options.apply(
                lambda options, domain=domain: next(o for o in options if o.domain_name == domain)
            )
            records.append(
                aws.route53.Record(
                    f"{name}-validation-{_label(domain)}",
                    zone_id=args.zone_id,
                    name=option.resource_record_name,
                    type=option.resource_record_type,
                    records=[option.resource_record_value],
                    ttl=VALIDATION_RECORD_TTL,
                    # ACM gives every certificate for a name the same record; another stack's
                    # certificate (or a re-issued one) may already have written it.
                    allow_overwrite=True,
                    opts=child,
                )
            )

        validation = aws.acm.CertificateValidation(
            f"{name}-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn for record in records] or None,
            region=args.region,
            opts=child,
        )

        publish(self, certificate_arn=validation.certificate_arn)


def _names_with_distinct_validation_records(names: Sequence[str]) -> list[str]:
    """One name per validation record: ``*.example.com`` shares ``example.com``'s record."""
    seen: set[str] = set()
    distinct = []
    for name in names:
        base = name.removeprefix("*.")
        if base not in seen:
            seen.add(base)
            distinct.append(name)
    return distinct


def _label(domain: str) -> str:
    return domain.replace("*", "wildcard").replace(".", "-")


def hosted_zone_id(domain: str) -> pulumi.Output[str]:
    """The id of the existing Route 53 public hosted zone for ``domain`` (e.g. ``example.com``)."""
    return aws.route53.get_zone_output(name=domain, private_zone=False).zone_id


def alias_records(
    name: str,
    *,
    zone_id: pulumi.Input[str],
    record_name: str,
    target_dns_name: pulumi.Input[str],
    target_zone_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> list[aws.route53.Record]:
    """Route 53 alias ``A`` and ``AAAA`` records pointing ``record_name`` at an AWS endpoint.

    Alias records cost nothing to query and follow the target's addresses as they change.
    """
    return [
        aws.route53.Record(
            f"{name}-{record_type.lower()}",
            zone_id=zone_id,
            name=record_name,
            type=record_type,
            aliases=[
                {
                    "name": target_dns_name,
                    "zone_id": target_zone_id,
                    # Route 53 rejects target health evaluation for CloudFront targets.
                    "evaluate_target_health": False,
                }
            ],
            opts=opts,
        )
        for record_type in ("A", "AAAA")
    ]
