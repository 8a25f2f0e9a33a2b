"""The edge's cache and response-headers policies (components/edge.py): the immutable paths'
per-host cache, the default behaviour's cache policy, and the security headers of every response."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from components.edge import EdgeArgs

# AWS managed policy, referenced by id (CloudFront developer guide, "Use managed cache policies").
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
HSTS_MAX_AGE_SECONDS = 63_072_000  # two years
ONE_YEAR_SECONDS = 31_536_000
ONE_DAY_SECONDS = 86_400
# CloudFront's default cache key is the distribution's own d….cloudfront.net name and the path, not
# the alias the viewer asked for, so without Host in the key api.<domain>/x and www.<domain>/x
# would share one cache entry.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-the-cache-key.html
HOST_HEADER = "Host"


def immutable_cache_policy(parent: pulumi.Resource, name: str, args: EdgeArgs) -> aws.cloudfront.CachePolicy:
    """The managed CachingOptimized policy's settings plus Host in the cache key.

    Content-hashed assets never change under one name, so the origin's Cache-Control decides
    (Next.js sends ``public, max-age=31536000, immutable``, up to ``max_ttl``); an answer without
    one is kept a day, as CachingOptimized does. Not CachingOptimized itself: it keys on no
    header, so a 404 that api.<domain>/_next/static/x gets from the API (or from the ALB's
    default rule) would be served to www.<domain>/_next/static/x. With Host in the key each
    host has its own entries. CloudFront lets a cache policy key on Host:
    https://repost.aws/knowledge-center/configure-cloudfront-to-forward-headers
    """
    return aws.cloudfront.CachePolicy(
        f"{name}-immutable-cache",
        name=f"{args.name_prefix}-immutable-assets",
        comment="Content-hashed assets: origin Cache-Control up to a year, one entry per host",
        # 0, not CachingOptimized's 1: a "no-store" answer (an error page) is not kept at all.
        min_ttl=0,
        default_ttl=ONE_DAY_SECONDS,
        max_ttl=ONE_YEAR_SECONDS,
        parameters_in_cache_key_and_forwarded_to_origin={
            "headers_config": {"header_behavior": "whitelist", "headers": {"items": [HOST_HEADER]}},
            "cookies_config": {"cookie_behavior": "none"},
            "query_strings_config": {"query_string_behavior": "none"},
            "enable_accept_encoding_gzip": True,
            "enable_accept_encoding_brotli": True,
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def cache_policy_id(parent: pulumi.Resource, name: str, args: EdgeArgs) -> pulumi.Input[str]:
    """The default behaviour's cache policy: every host's pages and API calls outside the
    immutable paths."""
    if not args.settings.cache_api:
        return CACHING_DISABLED_POLICY_ID
    # Not the managed UseOriginCacheControlHeaders policy: a caching policy must put the
    # Authorization header in the cache key for CloudFront to forward it at all, and the
    # managed one leaves it (and query strings) out, which would break authenticated calls.
    # Keying on credentials, cookies and the full query also means a response cached for one
    # caller is never served to another, and keying on Host one host's for another's.
    policy = aws.cloudfront.CachePolicy(
        f"{name}-api-cache",
        name=f"{args.name_prefix}-api-origin-cache-control",
        comment="Caches only what the API marks cacheable (Cache-Control), per caller",
        min_ttl=0,
        default_ttl=0,
        max_ttl=ONE_YEAR_SECONDS,
        parameters_in_cache_key_and_forwarded_to_origin={
            "headers_config": {
                "header_behavior": "whitelist",
                "headers": {"items": ["Authorization", HOST_HEADER, "Origin"]},
            },
            "cookies_config": {"cookie_behavior": "all"},
            "query_strings_config": {"query_string_behavior": "all"},
            "enable_accept_encoding_gzip": True,
            "enable_accept_encoding_brotli": True,
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return policy.id


def security_headers_policy(
    parent: pulumi.Resource, name: str, args: EdgeArgs
) -> aws.cloudfront.ResponseHeadersPolicy:
    # Own policy rather than the managed SecurityHeadersPolicy, which sends
    # X-Frame-Options SAMEORIGIN; neither the API nor the web is framed, so DENY.
    return aws.cloudfront.ResponseHeadersPolicy(
        f"{name}-security-headers",
        name=f"{args.name_prefix}-api-security-headers",
        comment="HSTS, nosniff, no framing, no cross-origin referrer",
        security_headers_config={
            "strict_transport_security": {
                "access_control_max_age_sec": HSTS_MAX_AGE_SECONDS,
                "include_subdomains": True,
                "override": True,
            },
            "content_type_options": {"override": True},
            "frame_options": {"frame_option": "DENY", "override": True},
            "referrer_policy": {
                "referrer_policy": "strict-origin-when-cross-origin",
                "override": True,
            },
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )
