"""Edge: CloudFront in front of the internal ALB through a VPC origin, with WAF and access logs.

One distribution serves every public host (``api.<domain>``, ``www.<domain>``, ...): all of them
behind the one web ACL, all through the one VPC origin, with the viewer's Host header passed on so
the ALB's host rules pick the service. The ALB sits in private subnets and accepts connections only from the security group AWS
gives CloudFront's VPC-origin network interfaces, so every request passes the distribution
(and its web ACL) first. CloudFront-scoped resources live in us-east-1 whatever the stack's
region: the viewer certificate, the web ACL, and the log delivery of both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import edge_policies, edge_waf
from components.dns import ValidatedCertificate, ValidatedCertificateArgs
from components.outputs import publish
from components.settings import LOG_RETENTION_DAYS, EdgeSettings

EDGE_REGION = "us-east-1"
"""CloudFront takes viewer certificates, CLOUDFRONT-scope web ACLs and log delivery sources from here,
and publishes its metrics (and a CLOUDFRONT-scope web ACL its WAF metrics) only here. The one
definition: monitoring, the dashboard, Datadog and the topologies import it."""

VPC_ORIGIN_SERVICE_SECURITY_GROUP = "CloudFront-VPCOrigins-Service-SG"
"""Security group AWS creates in a VPC with its first CloudFront VPC origin; the origin-facing
network interfaces carry it, so an ingress rule naming it admits CloudFront and nothing else."""

# AllViewer, an AWS managed origin request policy referenced by id (CloudFront developer guide,
# "Use managed origin request policies"): every viewer header, Host included, every cookie and
# query string. Host must reach the ALB, whose listener rules route by it.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
ALL_VIEWER_POLICY_ID = "216adef6-5c7f-47e4-b989-5492eafa07d3"

ORIGIN_ID = "api-alb"
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
CACHED_METHODS = ["GET", "HEAD"]

# Credentials never reach the WAF logs.
REDACTED_HEADERS = ("authorization", "cookie")


@dataclass(frozen=True)
class EdgeArgs:
    settings: EdgeSettings
    """Validated ``platform:edge`` settings (``cloudfront`` on)."""
    name_prefix: str
    """Physical-name prefix, e.g. ``platform-prod-commercial``."""
    region: str
    """The stack's region: where the VPC, the ALB and its security group are."""
    alb_arn: pulumi.Input[str]
    """The internal ALB the VPC origin points at."""
    alb_security_group_id: pulumi.Input[str]
    """The ALB's security group; this component adds the only ingress rule it needs."""
    vpc_id: pulumi.Input[str]
    """The ALB's VPC (where AWS creates the VPC-origin security group)."""
    alb_listener_port: int
    """443 when the ALB has an HTTPS listener (CloudFront then connects over TLS), else 80."""
    alb_dns_name: pulumi.Input[str]
    """The ALB's DNS name: the origin host when CloudFront talks plain HTTP to it."""
    log_kms_key_arn: pulumi.Input[str]
    """The stack's us-east-1 key (components/kms.py): encrypts the access and WAF log groups, which
    live in us-east-1 with CloudFront and the CLOUDFRONT-scope web ACL."""
    hosts: Mapping[str, str] = field(default_factory=dict)
    """Public name of each exposed service, e.g. ``{"api": "api.example.com", "web":
    "www.example.com"}``: the distribution's aliases and the names on its certificate. The viewer's
    Host reaches the ALB, which routes by it; with HTTPS to the origin CloudFront checks the ALB's
    certificate against that Host, so the ALB's certificate must cover every one of them. Empty:
    the distribution is only reachable at its ``*.cloudfront.net`` name."""
    zone_id: pulumi.Input[str] | None = None
    """Route 53 hosted zone of the hosts, for the certificate's validation. The names' own records
    belong to the cut-over (components/cutover.py), which owns them in every phase."""
    access_log_retention_days: int = 90
    """Days CloudFront access logs are kept in CloudWatch Logs."""
    viewer_validation_records_exist: bool = False
    """True when the stack's regional certificate already writes the ACM validation records of
    every one of ``hosts``, which the us-east-1 certificate then shares instead of owning a copy."""

    @property
    def names(self) -> list[str]:
        """The hosts in service-name order: the certificate's names (the first is its subject)."""
        return [self.hosts[service] for service in sorted(self.hosts)]


class Edge(pulumi.ComponentResource):
    """CloudFront distribution for the public hosts, its VPC origin, WAF and logs."""

    distribution_id: pulumi.Output[str]
    """The distribution's id."""
    distribution_arn: pulumi.Output[str]
    """Its ARN."""
    distribution_domain_name: pulumi.Output[str]
    """Its ``d….cloudfront.net`` name."""
    distribution_hosted_zone_id: pulumi.Output[str]
    """CloudFront's hosted zone id, for alias records."""
    urls: dict[str, str]
    """``https://<host>`` of each service in ``hosts``; empty without hosts."""
    certificate_arn: pulumi.Output[str] | None
    """The us-east-1 viewer certificate, ``None`` without a domain."""
    vpc_origin_id: pulumi.Output[str]
    """The VPC origin CloudFront reaches the ALB through."""
    access_log_group_name: pulumi.Output[str]
    """CloudWatch log group (us-east-1) of the access logs."""
    web_acl_arn: pulumi.Output[str] | None
    """The web ACL; this and the other WAF outputs are ``None`` when ``waf`` is off."""
    web_acl_name: str | None
    """The web ACL's name."""
    web_acl_metric_name: str | None
    """The ``WebACL`` dimension of the ``AWS/WAFV2`` metrics in us-east-1."""
    rate_limit_metric_name: str | None
    """The rate-limit rule's ``Rule`` dimension."""
    waf_log_group_name: pulumi.Output[str] | None
    """CloudWatch log group (us-east-1) of the WAF logs."""

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        _check(args)
        super().__init__("platform:edge:Edge", name, None, opts)
        self._name, self._args = name, args
        vpc_origin, alb_ingress = self._origin()
        certificate_arn = self._viewer_certificate()
        web_acl, acl_name = (
            edge_waf.web_acl(self, name, args, EDGE_REGION) if args.settings.waf else (None, None)
        )

        distribution = self._distribution(vpc_origin, alb_ingress, web_acl, certificate_arn)
        access_log_group, waf_log_group = self._logs(distribution, web_acl)

        publish(
            self,
            distribution_id=distribution.id,
            distribution_arn=distribution.arn,
            distribution_domain_name=distribution.domain_name,
            distribution_hosted_zone_id=distribution.hosted_zone_id,
            urls={service: f"https://{host}" for service, host in args.hosts.items()},
            certificate_arn=certificate_arn,
            vpc_origin_id=vpc_origin.id,
            access_log_group_name=access_log_group.name,
            web_acl_arn=web_acl.arn if web_acl else None,
            web_acl_name=acl_name,
            web_acl_metric_name=acl_name,
            rate_limit_metric_name=f"{acl_name}-{edge_waf.RATE_LIMIT_RULE}" if acl_name else None,
            waf_log_group_name=waf_log_group.name if waf_log_group else None,
        )

    def _origin(self) -> tuple[aws.cloudfront.VpcOrigin, aws.vpc.SecurityGroupIngressRule]:
        """The VPC origin on the internal ALB, and the ALB's one ingress rule: from the group AWS
        gives the origin's network interfaces."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        https_to_origin = args.alb_listener_port == 443
        vpc_origin = aws.cloudfront.VpcOrigin(
            f"{name}-vpc-origin",
            vpc_origin_endpoint_config={
                "name": f"{args.name_prefix}-alb",
                "arn": args.alb_arn,
                "http_port": 80 if https_to_origin else args.alb_listener_port,
                "https_port": 443,
                "origin_protocol_policy": "https-only" if https_to_origin else "http-only",
                "origin_ssl_protocols": {"items": ["TLSv1.2"], "quantity": 1},
            },
            tags={"Name": f"{args.name_prefix}-alb"},
            opts=child,
        )
        if not https_to_origin:
            pulumi.log.warn(
                "CloudFront reaches the ALB over plain HTTP inside the VPC (no certificate on the ALB). "
                "Set platform:dns.domain so the ALB gets an HTTPS listener and CloudFront uses TLS "
                "end to end.",
                resource=self,
            )

        # The group only exists once the VPC origin does, hence the explicit dependency.
        origin_security_group = aws.ec2.get_security_group_output(
            filters=[
                {"name": "vpc-id", "values": [args.vpc_id]},
                {"name": "group-name", "values": [VPC_ORIGIN_SERVICE_SECURITY_GROUP]},
            ],
            region=args.region,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[vpc_origin]),
        )
        alb_ingress = aws.vpc.SecurityGroupIngressRule(
            f"{name}-alb-from-cloudfront",
            security_group_id=args.alb_security_group_id,
            referenced_security_group_id=origin_security_group.id,
            ip_protocol="tcp",
            from_port=args.alb_listener_port,
            to_port=args.alb_listener_port,
            description="CloudFront VPC origin to the ALB listener",
            # Removed before the VPC origin, whose managed security group it references.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[vpc_origin]),
        )
        return vpc_origin, alb_ingress

    def _viewer_certificate(self) -> pulumi.Output[str] | None:
        """The us-east-1 certificate of every host (one name, the others as subject alternative
        names): the one configured, or one requested and validated through Route 53; None without
        hosts (CloudFront's default, with a warning)."""
        name, args, settings = self._name, self._args, self._args.settings
        child = pulumi.ResourceOptions(parent=self)
        if args.hosts and settings.certificate_arn:
            return pulumi.Output.from_input(settings.certificate_arn)
        if args.hosts:
            return ValidatedCertificate(
                f"{name}-viewer",
                ValidatedCertificateArgs.covering(
                    args.names,
                    zone_id=args.zone_id,
                    region=EDGE_REGION,
                    create_validation_records=not args.viewer_validation_records_exist,
                ),
                opts=child,
            ).certificate_arn
        pulumi.log.warn(
            "No domain: the distribution serves the default *.cloudfront.net certificate, so "
            "viewers' TLS ends at a cloudfront.net name and the TLSv1.2_2021 minimum cannot be "
            "enforced. Set platform:dns.domain for the services' own names and certificate.",
            resource=self,
        )
        return None

    def _distribution(
        self,
        vpc_origin: aws.cloudfront.VpcOrigin,
        alb_ingress: aws.vpc.SecurityGroupIngressRule,
        web_acl: aws.wafv2.WebAcl | None,
        certificate_arn: pulumi.Output[str] | None,
    ) -> aws.cloudfront.Distribution:
        """The distribution: HTTPS to viewers, the VPC origin behind, the immutable paths cached
        per host, nothing else cached unless asked."""
        name, args, settings = self._name, self._args, self._args.settings
        https_to_origin = args.alb_listener_port == 443
        security_headers = edge_policies.security_headers_policy(self, name, args)
        immutable_policy_id = (
            edge_policies.immutable_cache_policy(self, name, args).id if settings.immutable_paths else None
        )
        distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            enabled=True,
            comment=f"{args.name_prefix} public hosts",
            aliases=args.names or None,
            origins=[
                {
                    "origin_id": ORIGIN_ID,
                    # The viewer's Host is forwarded (AllViewer), and CloudFront then checks the
                    # ALB's certificate against that Host, not only against this name ("One of the
                    # domain names in the certificate must match ... the value that you specified
                    # for Origin Domain Name ... [or] the value of the Host header if you configured
                    # CloudFront to forward the Host header to your origin":
                    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/http-502-bad-gateway.html).
                    # The VPC-origin guide states no rule of its own here; its endpoint takes the
                    # custom origin's protocol policy and TLS versions (API_VpcOriginEndpointConfig),
                    # so the custom-origin rule above is the one relied on. Hence the ALB's
                    # certificate covers every host, and this name is one of them (the first)
                    # rather than the ALB's internal name, which no ACM certificate can cover.
                    "domain_name": args.names[0] if https_to_origin else args.alb_dns_name,
                    "vpc_origin_config": {"vpc_origin_id": vpc_origin.id},
                }
            ],
            # Evaluated in list order, first match wins, before the default behaviour; the list is
            # in place-updatable (no replacement of the distribution), see ordered_cache_behavior in
            # hashicorp/terraform-provider-aws internal/service/cloudfront/distribution.go.
            ordered_cache_behaviors=[
                {
                    "path_pattern": path,
                    "target_origin_id": ORIGIN_ID,
                    "viewer_protocol_policy": "redirect-to-https",
                    "allowed_methods": CACHED_METHODS,
                    "cached_methods": CACHED_METHODS,
                    "compress": True,
                    "cache_policy_id": immutable_policy_id,
                    # No origin request policy: what is in the cache key (Host, the normalised
                    # Accept-Encoding) is also what CloudFront sends to the origin, and an asset
                    # needs nothing else.
                    # https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_ParametersInCacheKeyAndForwardedToOrigin.html
                    "response_headers_policy_id": security_headers.id,
                }
                for path in settings.immutable_paths
            ]
            or None,
            default_cache_behavior={
                "target_origin_id": ORIGIN_ID,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ALL_METHODS,
                "cached_methods": CACHED_METHODS,
                "compress": True,
                "cache_policy_id": edge_policies.cache_policy_id(self, name, args),
                "origin_request_policy_id": ALL_VIEWER_POLICY_ID,
                "response_headers_policy_id": security_headers.id,
            },
            viewer_certificate=(
                {
                    "acm_certificate_arn": certificate_arn,
                    "ssl_support_method": "sni-only",
                    "minimum_protocol_version": "TLSv1.2_2021",
                }
                if certificate_arn is not None
                else {"cloudfront_default_certificate": True}
            ),
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=settings.price_class,
            web_acl_id=web_acl.arn if web_acl else None,
            tags={"Name": f"{args.name_prefix}-api"},
            # Serve only once the ALB admits CloudFront.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[alb_ingress]),
        )
        return distribution

    def _logs(
        self, distribution: aws.cloudfront.Distribution, web_acl: aws.wafv2.WebAcl | None
    ) -> tuple[aws.cloudwatch.LogGroup, aws.cloudwatch.LogGroup | None]:
        """Access logs, and the web ACL's logs, to CloudWatch Logs in us-east-1; returns both groups."""
        name, args, settings = self._name, self._args, self._args.settings
        child = pulumi.ResourceOptions(parent=self)
        access_log_group = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            # The prefix AWS recommends for vended logs such as CloudFront's.
            name=f"/aws/vendedlogs/cloudfront/{args.name_prefix}",
            retention_in_days=args.access_log_retention_days,
            kms_key_id=args.log_kms_key_arn,
            region=EDGE_REGION,
            opts=child,
        )
        waf_log_group = (
            aws.cloudwatch.LogGroup(
                f"{name}-waf-logs",
                # AWS WAF only delivers to log groups whose name starts with aws-waf-logs-.
                name=f"aws-waf-logs-{args.name_prefix}",
                retention_in_days=settings.waf_log_retention_days,
                kms_key_id=args.log_kms_key_arn,
                region=EDGE_REGION,
                opts=child,
            )
            if web_acl
            else None
        )
        delivery_policy = self._log_delivery_policy(
            name, args, [group for group in (access_log_group, waf_log_group) if group]
        )
        self._access_logs(name, args, distribution, access_log_group, delivery_policy)
        if web_acl and waf_log_group:
            aws.wafv2.WebAclLoggingConfiguration(
                f"{name}-waf-logging",
                resource_arn=web_acl.arn,
                log_destination_configs=[waf_log_group.arn],
                redacted_fields=[{"single_header": {"name": header}} for header in REDACTED_HEADERS],
                region=EDGE_REGION,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery_policy]),
            )
        return access_log_group, waf_log_group

    # -- logs -------------------------------------------------------------------------------

    def _access_logs(
        self,
        name: str,
        args: EdgeArgs,
        distribution: aws.cloudfront.Distribution,
        log_group: aws.cloudwatch.LogGroup,
        delivery_policy: aws.cloudwatch.LogResourcePolicy,
    ) -> None:
        """Standard logging (v2) to CloudWatch Logs in us-east-1.

        Not legacy logging to the S3 log bucket: it needs bucket ACLs, which the bucket's
        BucketOwnerEnforced ownership disables. Not v2 to that bucket either: delivery would
        rewrite the bucket policy that the storage component manages.
        """
        source = aws.cloudwatch.LogDeliverySource(
            f"{name}-access-log-source",
            name=f"{args.name_prefix}-cloudfront",
            log_type="ACCESS_LOGS",
            resource_arn=distribution.arn,
            region=EDGE_REGION,
            opts=pulumi.ResourceOptions(parent=self),
        )
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-access-log-destination",
            name=f"{args.name_prefix}-cloudfront-logs",
            output_format="json",
            delivery_destination_configuration={"destination_resource_arn": log_group.arn},
            region=EDGE_REGION,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.cloudwatch.LogDelivery(
            f"{name}-access-log-delivery",
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            region=EDGE_REGION,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery_policy]),
        )

    def _log_delivery_policy(
        self, name: str, args: EdgeArgs, log_groups: list[aws.cloudwatch.LogGroup]
    ) -> aws.cloudwatch.LogResourcePolicy:
        """Lets AWS log delivery write to exactly these groups, for this account's sources only.

        Managed here so CloudFront and WAF do not grow their shared, size-limited account policies.
        """
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        document = pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AwsLogDelivery",
                        "Effect": "Allow",
                        "Principal": {"Service": "delivery.logs.amazonaws.com"},
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": [pulumi.Output.concat(group.arn, ":*") for group in log_groups],
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": account_id},
                            "ArnLike": {
                                "aws:SourceArn": pulumi.Output.concat(
                                    f"arn:aws:logs:{EDGE_REGION}:", account_id, ":*"
                                )
                            },
                        },
                    }
                ],
            }
        )
        return aws.cloudwatch.LogResourcePolicy(
            f"{name}-log-delivery",
            policy_name=f"{args.name_prefix}-edge-log-delivery",
            policy_document=document,
            region=EDGE_REGION,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _check(args: EdgeArgs) -> None:
    if args.alb_listener_port not in (80, 443):
        raise ValueError(f"alb_listener_port must be 443 (HTTPS) or 80 (HTTP), not {args.alb_listener_port}")
    if args.alb_listener_port == 443 and not args.hosts:
        raise ValueError(
            "an HTTPS ALB listener needs hosts: CloudFront verifies the ALB's certificate against them"
        )
    if bool(args.hosts) != (args.zone_id is not None):
        raise ValueError("hosts and zone_id go together (certificate validation)")
    names = list(args.hosts.values())
    if len(set(names)) != len(names):
        # The ALB routes by Host: one name cannot lead to two services.
        raise ValueError(f"hosts gives one name to two services: {dict(args.hosts)}")
    if args.access_log_retention_days not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"access_log_retention_days {args.access_log_retention_days} is not a CloudWatch "
            f"retention period {list(LOG_RETENTION_DAYS)}"
        )
