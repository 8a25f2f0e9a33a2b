"""The Application Load Balancer the services share: its security group, listeners and TLS.

The listeners answer 404 to every request no service claims; each served service adds its own
target group and a rule for its host name (components/service.py), as SST's and
terraform-aws-ecs's services attach to a shared load balancer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.admission import ANYWHERE_IPV4, tcp_rule
from components.outputs import publish

# AWS's recommended ALB policy (the console default since the 2025-09 policies): TLS 1.3 and
# TLS 1.2 with forward-secret AEAD ciphers only ("Res"), plus hybrid post-quantum key exchange
# (ML-KEM) for clients that offer it, classical ECDHE for those that do not. TLS 1.0/1.1 and CBC
# ciphers are refused; every browser and SDK of the last decade negotiates TLS 1.2+ with GCM.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
# The ALB's default; an app's keep-alive timeout must be longer (Node's 5 s default causes 502s).
ALB_IDLE_TIMEOUT_SECONDS = 60
HTTP_PORT, HTTPS_PORT = 80, 443
# What a request for a name no service is served at gets: no service's content, no redirect.
NOT_FOUND = {"content_type": "text/plain", "message_body": "Not Found", "status_code": "404"}

_ELB_NAME_LIMIT = 32


def elb_name(prefix: str, suffix: str) -> str:
    """A load balancer or target group name: at most 32 alphanumerics and hyphens.

    Names too long for the limit are cut and end in a hash of the full name, so two stacks whose
    names share a long prefix still get distinct load balancers.
    """
    full = re.sub(r"[^A-Za-z0-9-]", "-", f"{prefix}-{suffix}").strip("-")
    if len(full) <= _ELB_NAME_LIMIT:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:6]
    return f"{full[: _ELB_NAME_LIMIT - len(digest) - 1].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class LoadBalancerArgs:
    """Inputs of :class:`LoadBalancer`."""

    name_prefix: str
    """Physical-name prefix, e.g. ``platform-staging``."""
    region: str
    """Region of the security group and its rules."""
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """The public subnets of an internet-facing ALB, the private ones of an internal one."""
    internal: bool
    """True when CloudFront reaches the ALB through a VPC origin: no public address, and no
    ingress from the internet (components/edge.py adds the origin's one rule)."""
    access_log_bucket: pulumi.Input[str]
    """Bucket of the access logs (prefix ``alb``); pass it from the bucket policy's output so the
    ALB is created after ELB log delivery is allowed."""
    certificate_arn: pulumi.Input[str] | None
    """ACM certificate covering every served host; None serves HTTP only (and warns)."""
    deletion_protection: bool = False
    """Refuse to delete the load balancer until this is turned off."""


class LoadBalancer(pulumi.ComponentResource):
    """An ALB with HTTPS (and a redirect from HTTP) when it has a certificate, plain HTTP without;
    both answer 404 unless a service's rule matches."""

    arn: pulumi.Output[str]
    """The load balancer's ARN."""
    arn_suffix: pulumi.Output[str]
    """Its ARN suffix (the ``LoadBalancer`` dimension of its metrics)."""
    dns_name: pulumi.Output[str]
    """Its DNS name."""
    zone_id: pulumi.Output[str]
    """Its hosted zone id, for alias records."""
    security_group_id: pulumi.Output[str]
    """Its security group; each service adds the egress to its own tasks."""
    listener_arn: pulumi.Output[str]
    """The listener the services' rules attach to (HTTPS:443 with a certificate, else HTTP:80)."""
    listener_port: int
    """443 with a certificate, else 80."""

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:load_balancer:LoadBalancer", name, None, opts)
        self._name, self._args = name, args
        security_group = self._security_group()
        alb = self._load_balancer(security_group)
        listener, listener_port = self._listeners(alb)
        publish(
            self,
            arn=alb.arn,
            arn_suffix=alb.arn_suffix,
            dns_name=alb.dns_name,
            zone_id=alb.zone_id,
            security_group_id=security_group.id,
            listener_arn=listener.arn,
            listener_port=listener_port,
        )

    def _security_group(self) -> aws.ec2.SecurityGroup:
        """The ALB's group: HTTP and HTTPS from the internet unless internal; no inline rules."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name_prefix=f"{args.name_prefix}-alb-",
            description="Application Load Balancer",
            vpc_id=args.vpc_id,
            region=args.region,
            tags={"Name": f"{args.name_prefix}-alb"},
            opts=child,
        )
        if not args.internal:
            for port, protocol in ((HTTP_PORT, "HTTP"), (HTTPS_PORT, "HTTPS")):
                tcp_rule(
                    f"{name}-in-{protocol.lower()}",
                    direction="in",
                    group_id=group.id,
                    ports=(port, port),
                    cidr=ANYWHERE_IPV4,
                    description=f"{protocol} from the internet",
                    region=args.region,
                    parent=self,
                )
        return group

    def _load_balancer(self, security_group: aws.ec2.SecurityGroup) -> aws.lb.LoadBalancer:
        name, args = self._name, self._args
        return aws.lb.LoadBalancer(
            name,
            name=elb_name(args.name_prefix, "alb"),
            load_balancer_type="application",
            internal=args.internal,
            subnets=list(args.subnet_ids),
            security_groups=[security_group.id],
            drop_invalid_header_fields=True,
            idle_timeout=ALB_IDLE_TIMEOUT_SECONDS,
            enable_deletion_protection=args.deletion_protection,
            # ELB writes to <bucket>/alb/AWSLogs/<account>/..., the path the bucket policy allows.
            access_logs={"bucket": args.access_log_bucket, "prefix": "alb", "enabled": True},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _listeners(self, alb: aws.lb.LoadBalancer) -> tuple[aws.lb.Listener, int]:
        """HTTPS answering 404 and HTTP redirecting to it, or (without a certificate) HTTP
        answering 404; returns the listener the services' rules attach to, and its port."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        not_found = [{"type": "fixed-response", "fixed_response": NOT_FOUND}]
        if args.certificate_arn is None:
            pulumi.log.warn(_http_only_warning(args.internal), resource=self)
            http = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                default_actions=not_found,
                opts=child,
            )
            return http, HTTP_PORT
        https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=HTTPS_PORT,
            protocol="HTTPS",
            ssl_policy=SSL_POLICY,
            certificate_arn=args.certificate_arn,
            default_actions=not_found,
            routing_http_response_strict_transport_security_header_value="max-age=31536000; includeSubDomains",
            routing_http_response_x_content_type_options_header_value="nosniff",
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=HTTP_PORT,
            protocol="HTTP",
            default_actions=[
                {
                    "type": "redirect",
                    "redirect": {"protocol": "HTTPS", "port": str(HTTPS_PORT), "status_code": "HTTP_301"},
                }
            ],
            opts=child,
        )
        return https, HTTPS_PORT


def _http_only_warning(internal: bool) -> str:
    if internal:
        hop = "CloudFront reaches the internal ALB over plain HTTP (port 80)"
    else:
        hop = "the services are served over plain, unencrypted HTTP on the ALB's own DNS name (port 80)"
    return (
        f"{hop} because no domain is configured, so there is no certificate for HTTPS. "
        "Set platform:dns.domain to get an ACM certificate and an HTTPS listener."
    )
