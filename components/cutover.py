"""Cut-over: move ``api.<domain>`` from the pre-commercial API to CloudFront with weighted DNS.

Route 53 answers lookups of the API's name from two weighted CNAME records of the same name:
``aws`` (the CloudFront distribution) with ``awsWeight`` and ``legacy`` (the pre-commercial API,
e.g. on Render) with ``100 - awsWeight``. The weights never both reach 0 (Route 53 would then
answer evenly), so 0 sends every lookup to the legacy host and 100 every lookup to AWS. Both
records always exist: stepping back is a weight change, never a record that appears or vanishes.

Weights split DNS answers, not requests: a resolver caches its answer for the TTL, so a step (and a
step back) takes full effect only one TTL after ``pulumi up``, and a busy resolver sends all its
clients to one side. Both sides must serve the name with a valid certificate during the overlap:
CloudFront through its alias and us-east-1 certificate (the Edge component), the legacy host
through a custom domain of its own (docs/migration.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import CutoverSettings

RECORD_TYPE = "CNAME"
AWS_SET_IDENTIFIER = "aws"
LEGACY_SET_IDENTIFIER = "legacy"
TOTAL_WEIGHT = 100
HTTPS_PORT = 443
# Route 53's standard interval and threshold: the legacy host leaves the answers about 90 s after
# it starts failing, without the fast-interval surcharge.
HEALTH_CHECK_INTERVAL_SECONDS = 30
HEALTH_CHECK_FAILURE_THRESHOLD = 3


@dataclass(frozen=True)
class CutoverArgs:
    settings: CutoverSettings
    """Validated ``platform:cutover`` settings: ``enabled`` with a ``legacyApiHost``."""
    zone_id: pulumi.Input[str]
    """Route 53 public hosted zone of ``record_name``."""
    record_name: str
    """The API's public name, ``<apiSubdomain>.<domain>``; no other record of this name may exist
    (the Edge must not create its alias records for it)."""
    aws_target: pulumi.Input[str]
    """The CloudFront distribution's domain name (``d….cloudfront.net``); the distribution must list
    ``record_name`` among its aliases, with a us-east-1 certificate covering it."""
    legacy_health_check_path: str | None = "/health"
    """HTTPS path Route 53 probes on the legacy host; while it fails, lookups are answered with the
    AWS record whatever the weights. ``None``: no health check."""


class WeightedCutover(pulumi.ComponentResource):
    """Two weighted CNAME records splitting ``record_name`` between AWS and the legacy API.

    Outputs:
    - ``record_fqdn``: the name both records answer for
    - ``aws_weight``, ``legacy_weight``: the weights (plain ints, summing to 100)
    - ``health_check_id``: the legacy host's Route 53 health check, ``None`` without one
    """

    def __init__(self, name: str, args: CutoverArgs, opts: pulumi.ResourceOptions | None = None):
        _check(args)
        super().__init__("platform:cutover:WeightedCutover", name, None, opts)
        settings = args.settings
        legacy_host = settings.legacy_api_host
        self.aws_weight: int = settings.aws_weight
        self.legacy_weight: int = TOTAL_WEIGHT - settings.aws_weight

        self.health_check_id: pulumi.Output[str] | None = None
        if args.legacy_health_check_path:
            # Costs ~$2.75/month (non-AWS endpoint, HTTPS). Without it, an outage of the legacy host
            # keeps its share of users failing until someone changes the weights; with it, Route 53
            # answers with the AWS record instead, which serves the same data during the overlap.
            health_check = aws.route53.HealthCheck(
                f"{name}-legacy-health",
                type="HTTPS",
                fqdn=legacy_host,
                port=HTTPS_PORT,
                resource_path=args.legacy_health_check_path,
                enable_sni=True,
                request_interval=HEALTH_CHECK_INTERVAL_SECONDS,
                failure_threshold=HEALTH_CHECK_FAILURE_THRESHOLD,
                tags={"Name": f"{args.record_name} legacy ({legacy_host})"},
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.health_check_id = health_check.id

        aws_record = self._record(name, args, AWS_SET_IDENTIFIER, args.aws_target, self.aws_weight)
        # No health check on the AWS side: an unhealthy-looking AWS record would hand its share to
        # the legacy host, which the migration is retiring; CloudWatch alarms watch AWS instead.
        self._record(name, args, LEGACY_SET_IDENTIFIER, legacy_host, self.legacy_weight, self.health_check_id)

        self.record_fqdn: pulumi.Output[str] = aws_record.fqdn
        self.register_outputs(
            {
                "record_fqdn": self.record_fqdn,
                "aws_weight": self.aws_weight,
                "legacy_weight": self.legacy_weight,
                "health_check_id": self.health_check_id,
            }
        )

    def _record(
        self,
        name: str,
        args: CutoverArgs,
        set_identifier: str,
        target: pulumi.Input[str],
        weight: int,
        health_check_id: pulumi.Input[str] | None = None,
    ) -> aws.route53.Record:
        return aws.route53.Record(
            f"{name}-{set_identifier}",
            zone_id=args.zone_id,
            name=args.record_name,
            type=RECORD_TYPE,
            records=[target],
            ttl=args.settings.ttl_seconds,
            set_identifier=set_identifier,
            weighted_routing_policies=[{"weight": weight}],
            health_check_id=health_check_id,
            # Never take over a record someone else manages (e.g. the Edge's alias records).
            allow_overwrite=False,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _check(args: CutoverArgs) -> None:
    settings = args.settings
    if not settings.enabled:
        raise ValueError("WeightedCutover is built only while platform:cutover.enabled is true")
    if not settings.legacy_api_host:
        raise ValueError("the weighted cut-over needs platform:cutover.legacyApiHost")
    record = args.record_name.rstrip(".").lower()
    if record == settings.legacy_api_host.rstrip(".").lower():
        raise ValueError(f"legacyApiHost {settings.legacy_api_host} cannot be the cut-over's own name")
    if args.legacy_health_check_path is not None and not args.legacy_health_check_path.startswith("/"):
        raise ValueError(
            f"legacy_health_check_path must start with '/' (got {args.legacy_health_check_path!r})"
        )
