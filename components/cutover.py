"""Cut-over: the Route 53 records of the names CloudFront serves, and their move from pre-commercial.

One component owns each public name (``api.<domain>`` and ``www.<domain>``, one entry of ``hosts``
each) in every phase of ``platform:cutover.phase``; the phase is the same for all, the weights and
the health check are each host's own:

- ``off``: one weighted CNAME (set ``aws``, weight 100) to the distribution.
- ``canary``: the same record with the host's ``awsWeight`` beside a weighted CNAME (set ``legacy``)
  to its pre-commercial host (Render, Vercel) with ``100 - awsWeight``, guarded by a health check.
- ``data-switched``: the ``aws`` record at 100 alone again.
- ``done``: the ``aws`` record becomes an alias A record, beside a new alias AAAA record.

Why this shape: Route 53 refuses a CNAME beside any other record of its name, alias A/AAAA
included ("RRSet of type CNAME ... is not permitted as it conflicts with other records"), and all
records of a weighted set have one type (API reference, ResourceRecordSet ``Type``). The legacy side
can only be a CNAME (an alias must have the type of its target, and Render and Vercel are reached
by name), so
while the canary runs both sides are weighted CNAMEs. Pulumi creates records with new logical names
before it deletes removed ones (pulumi/pulumi pkg/resource/deploy/deployment_executor.go: deletes
run after the program), so each phase only adds records of the type already there, removes some at
the end, or changes the ``aws`` record in place: the AWS provider updates a record whose ``type`` or
``set_identifier`` changes with one atomic DELETE + CREATE change batch, and replaces it only when
``name`` or ``zone_id`` change (hashicorp/terraform-provider-aws internal/service/route53/record.go,
``resourceRecordUpdate``; ``ForceNew`` on those two only). The ``aws`` record keeps its logical name
in every phase, so it is never replaced. ``done`` -> CNAME again would need the AAAA record gone
before the CNAME exists, which one ``pulumi up`` cannot order, so ``done`` is final.

CNAME answers are billed as standard queries ($0.40 per million), alias answers to CloudFront are
free (https://aws.amazon.com/route53/pricing/): ``done`` drops that cost. IPv6 is kept throughout:
a CNAME leads to the distribution's own name, which has AAAA records (the distribution enables IPv6).

Weights split DNS answers, not requests: a resolver caches its answer for the TTL, so a step (and a
step back) takes full effect only one TTL after ``pulumi up``. Both sides must serve the name with a
valid certificate during the overlap (docs/migration.md).

Each host also gets a TXT record ``_cutover.<host>`` holding ``phase=<phase>``: the phase the zone
is in, read before the next ``pulumi up`` registers anything (:func:`deployed_phase`) so that the
settings refuse a skipped phase or a step back (``cutover_transition_problems``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish
from components.settings import CUTOVER_PHASES, CutoverHost, CutoverSettings

WEIGHTED_TYPE = "CNAME"
AWS_SET_IDENTIFIER = "aws"
LEGACY_SET_IDENTIFIER = "legacy"
TOTAL_WEIGHT = 100
HTTPS_PORT = 443
# Route 53's standard interval and threshold: the legacy host leaves the answers about 90 s after
# it starts failing, without the fast-interval surcharge.
HEALTH_CHECK_INTERVAL_SECONDS = 30
HEALTH_CHECK_FAILURE_THRESHOLD = 3
PHASE_RECORD_LABEL = "_cutover"
PHASE_RECORD_TTL = 300


@dataclass(frozen=True)
class HostArgs:
    record_name: str
    """The public name, e.g. ``api.example.com``; no other component may create records for it."""
    legacy: CutoverHost | None = None
    """``canary`` only: the pre-commercial host and the weight."""
    legacy_health_check_path: str | None = "/health"
    """HTTPS path Route 53 probes on the legacy side during the canary; while it fails, lookups are
    answered with the AWS record whatever the weights. The same application runs on both sides,
    so it is the service's own health path (the API's ``/health``, the web's ``/api/health``).
    ``None``: no health check."""


@dataclass(frozen=True)
class CutoverArgs:
    settings: CutoverSettings
    """Validated ``platform:cutover`` settings (the phase, the TTL)."""
    zone_id: pulumi.Input[str]
    """Route 53 public hosted zone of every host."""
    hosts: Mapping[str, HostArgs]
    """Per service (``api``, ``web``), its public name and, in the canary, its legacy side."""
    distribution_domain_name: pulumi.Input[str]
    """The CloudFront distribution's ``d….cloudfront.net`` name; it must list every host among its
    aliases, with a us-east-1 certificate covering it."""
    distribution_zone_id: pulumi.Input[str]
    """The distribution's hosted zone id (CloudFront's fixed ``Z2FDTNDATAQYW2``) for alias records."""


class CutoverRecords(pulumi.ComponentResource):
    """The Route 53 records of each host for the settings' phase, and the phase marker."""

    phase: str
    """The phase the records are for."""
    hosts: dict[str, dict[str, object]]
    """Per service, ``record`` (the public name), ``awsWeight`` and ``legacyWeight`` (ints summing
    to 100; ``None`` in ``done``, which has no weights)."""
    health_check_ids: dict[str, pulumi.Output[str]]
    """Per service in the canary, its legacy host's health check."""

    def __init__(self, name: str, args: CutoverArgs, opts: pulumi.ResourceOptions | None = None):
        _check(args)
        super().__init__("platform:cutover:CutoverRecords", name, None, opts)
        hosts: dict[str, dict[str, object]] = {}
        health_check_ids: dict[str, pulumi.Output[str]] = {}
        for service, host in args.hosts.items():
            weights, records, health_check_id = self._host_records(f"{name}-{service}", args, host)
            hosts[service] = {"record": host.record_name, **weights}
            if health_check_id is not None:
                health_check_ids[service] = health_check_id
            self._phase_record(f"{name}-{service}", args, host, records)
        publish(self, phase=args.settings.phase, hosts=hosts, health_check_ids=health_check_ids)

    def _host_records(
        self, name: str, args: CutoverArgs, host: HostArgs
    ) -> tuple[dict[str, int | None], list[aws.route53.Record], pulumi.Output[str] | None]:
        """The host's weights, its records and, in the canary, its legacy health check."""
        if args.settings.phase == "done":
            return {"awsWeight": None, "legacyWeight": None}, self._alias_records(name, args, host), None
        aws_weight = host.legacy.aws_weight if host.legacy else TOTAL_WEIGHT
        weights = {"awsWeight": aws_weight, "legacyWeight": TOTAL_WEIGHT - aws_weight}
        # No health check on the AWS side: an unhealthy-looking AWS record would hand its share to
        # the legacy host, which the migration is retiring; CloudWatch alarms watch AWS instead.
        aws_record = self._weighted(
            f"{name}-aws", args, host, AWS_SET_IDENTIFIER, args.distribution_domain_name, aws_weight
        )
        if host.legacy is None:
            return weights, [aws_record], None
        health_check_id = self._legacy_health_check(name, host)
        legacy_record = self._weighted(
            f"{name}-legacy",
            args,
            host,
            LEGACY_SET_IDENTIFIER,
            host.legacy.legacy_host,
            TOTAL_WEIGHT - aws_weight,
            health_check_id,
            # After the AWS record has its canary weight, so that `off` -> `canary` never answers
            # with both records at full weight.
            depends_on=[aws_record],
            # UPSERT: a name that already serves users (www.<domain> on Vercel) is first turned by
            # hand into this very set, weighted `legacy` at 100, in one atomic change batch
            # (docs/migration.md); the canary then takes it over without a moment unanswered. Only
            # a set of this name, type and identifier is overwritten; the `aws` one stays CREATE.
            allow_overwrite=True,
        )
        return weights, [aws_record, legacy_record], health_check_id

    def _weighted(
        self,
        name: str,
        args: CutoverArgs,
        host: HostArgs,
        set_identifier: str,
        target: pulumi.Input[str],
        weight: int,
        health_check_id: pulumi.Input[str] | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
        allow_overwrite: bool = False,
    ) -> aws.route53.Record:
        return aws.route53.Record(
            name,
            zone_id=args.zone_id,
            name=host.record_name,
            type=WEIGHTED_TYPE,
            records=[target],
            ttl=args.settings.ttl_seconds,
            set_identifier=set_identifier,
            weighted_routing_policies=[{"weight": weight}],
            health_check_id=health_check_id,
            # False: CREATE, not UPSERT, so a record someone else manages is never taken over
            # (hashicorp/terraform-provider-aws internal/service/route53/record.go,
            # resourceRecordCreate: UPSERT only with allow_overwrite or on an update).
            allow_overwrite=allow_overwrite,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )

    def _alias_records(self, name: str, args: CutoverArgs, host: HostArgs) -> list[aws.route53.Record]:
        """``done``: alias A (the ``aws`` record changed in place) and AAAA records to CloudFront."""
        alias = {
            "name": args.distribution_domain_name,
            "zone_id": args.distribution_zone_id,
            # Route 53 rejects target health evaluation for CloudFront targets.
            "evaluate_target_health": False,
        }
        ipv4 = aws.route53.Record(
            f"{name}-aws",
            zone_id=args.zone_id,
            name=host.record_name,
            type="A",
            aliases=[alias],
            allow_overwrite=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Only once the CNAME has become the A record: an AAAA beside the CNAME is refused.
        ipv6 = aws.route53.Record(
            f"{name}-aws-ipv6",
            zone_id=args.zone_id,
            name=host.record_name,
            type="AAAA",
            aliases=[alias],
            allow_overwrite=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ipv4]),
        )
        return [ipv4, ipv6]

    def _legacy_health_check(self, name: str, host: HostArgs) -> pulumi.Output[str] | None:
        if not host.legacy_health_check_path or host.legacy is None:
            return None
        # Costs ~$2.75/month (non-AWS endpoint, HTTPS). Without it, an outage of the legacy host
        # keeps its share of users failing until someone changes the weights; with it, Route 53
        # answers with the AWS record instead, which serves the same data during the canary.
        # Without an IP address Route 53 resolves `fqdn` and sends it as Host and SNI (API
        # reference, HealthCheckConfig FullyQualifiedDomainName), so it must be a name the legacy
        # platform routes to this service: Render's own host does, Vercel's shared CNAME target
        # does not (the settings require `healthCheckHost` there).
        legacy_host = host.legacy.legacy_host
        probed = host.legacy.health_check_host or legacy_host
        health_check = aws.route53.HealthCheck(
            f"{name}-legacy-health",
            type="HTTPS",
            fqdn=probed,
            port=HTTPS_PORT,
            resource_path=host.legacy_health_check_path,
            enable_sni=True,
            request_interval=HEALTH_CHECK_INTERVAL_SECONDS,
            failure_threshold=HEALTH_CHECK_FAILURE_THRESHOLD,
            tags={"Name": f"{host.record_name} legacy ({probed})"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return health_check.id

    def _phase_record(
        self, name: str, args: CutoverArgs, host: HostArgs, records: Sequence[aws.route53.Record]
    ) -> None:
        # Written after the host's records: if they fail, the zone still records the last phase
        # whose records exist.
        aws.route53.Record(
            f"{name}-phase",
            zone_id=args.zone_id,
            name=phase_record_name(host.record_name),
            type="TXT",
            records=[f"phase={args.settings.phase}"],
            ttl=PHASE_RECORD_TTL,
            allow_overwrite=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(records)),
        )


def phase_record_name(record_name: str) -> str:
    return f"{PHASE_RECORD_LABEL}.{record_name}"


def deployed_phase(zone_id: str, record_names: Sequence[str]) -> str | None:
    """The furthest phase the zone's ``_cutover`` TXT records hold for these names; ``None`` when
    none has one (a stack not deployed yet). A plain lookup, made before any registration.

    ListResourceRecordSets returns names fully qualified with a trailing dot and TXT values in
    their quotes (Route 53 API reference, ListResourceRecordSets and "TXT record type"); the
    provider's ``aws_route53_records`` data source passes both on as listed
    (internal/service/route53/records_data_source.go).
    """
    names = "|".join(re.escape(phase_record_name(n).lower()) for n in record_names)
    found = aws.route53.get_records(zone_id=zone_id, name_regex=rf"^({names})\.$")
    phases = [
        value.strip('"').removeprefix("phase=")
        for record_set in found.resource_record_sets
        if record_set.type == "TXT"
        for value in (r.value for r in record_set.resource_records or [])
    ]
    known = [phase for phase in phases if phase in CUTOVER_PHASES]
    return max(known, key=CUTOVER_PHASES.index) if known else None


def _check(args: CutoverArgs) -> None:
    """Programmer errors only: the settings refuse every such configuration first."""
    canary = args.settings.phase == "canary"
    for service, host in args.hosts.items():
        if (host.legacy is not None) != canary:
            raise ValueError(f"host {service}: a legacy side exists in phase 'canary' and only there")
        path = host.legacy_health_check_path
        if path is not None and not path.startswith("/"):
            raise ValueError(f"host {service}: legacy_health_check_path must start with '/' (got {path!r})")
