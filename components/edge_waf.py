"""The edge's CLOUDFRONT-scope web ACL (components/edge.py): the IP reputation list, a per-IP
rate limit and AWS's managed rule groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from components.edge import EdgeArgs

# Managed rule groups of the web ACL: (rule name, AWS rule group), in evaluation order after the
# IP reputation list and the rate limit. Together with those ~1,130 WCUs, under the 1,500 included.
MANAGED_RULE_GROUPS = (
    ("aws-known-bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet"),
    ("aws-common", "AWSManagedRulesCommonRuleSet"),
    ("aws-sqli", "AWSManagedRulesSQLiRuleSet"),
)
IP_REPUTATION_RULE = ("aws-ip-reputation", "AWSManagedRulesAmazonIpReputationList")
RATE_LIMIT_RULE = "rate-limit-per-ip"
# The Common rule set's rule that blocks request bodies over 8 KB.
BODY_SIZE_RULE = "SizeRestrictions_BODY"
RATE_LIMIT_WINDOW_SECONDS = 300


def web_acl(parent: pulumi.Resource, name: str, args: EdgeArgs, region: str) -> tuple[aws.wafv2.WebAcl, str]:
    """The CLOUDFRONT-scope web ACL and its name (also its metrics' ``WebACL`` dimension).

    ``region`` is components/edge.py's ``EDGE_REGION``, passed in because that module imports this
    one."""
    settings = args.settings
    acl_name = f"{args.name_prefix}-edge"

    def visibility(metric: str) -> dict:
        return {
            "cloudwatch_metrics_enabled": True,
            "sampled_requests_enabled": True,
            "metric_name": metric,
        }

    def managed(priority: int, rule: str, group: str) -> dict:
        statement: dict = {"vendor_name": "AWS", "name": group}
        if group == "AWSManagedRulesCommonRuleSet" and settings.waf_allow_large_bodies:
            statement["rule_action_overrides"] = [{"name": BODY_SIZE_RULE, "action_to_use": {"count": {}}}]
        return {
            "name": rule,
            "priority": priority,
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": statement},
            "visibility_config": visibility(f"{acl_name}-{rule}"),
        }

    rate_limit = {
        "name": RATE_LIMIT_RULE,
        "priority": 1,
        "action": {"block": {}},
        "statement": {
            "rate_based_statement": {
                "limit": settings.waf_rate_limit,
                "aggregate_key_type": "IP",
                "evaluation_window_sec": RATE_LIMIT_WINDOW_SECONDS,
            }
        },
        "visibility_config": visibility(f"{acl_name}-{RATE_LIMIT_RULE}"),
    }
    rules = [
        managed(0, *IP_REPUTATION_RULE),
        rate_limit,
        *(managed(priority, rule, group) for priority, (rule, group) in enumerate(MANAGED_RULE_GROUPS, 2)),
    ]
    web_acl = aws.wafv2.WebAcl(
        f"{name}-waf",
        name=acl_name,
        description=f"{args.name_prefix} API at CloudFront",
        scope="CLOUDFRONT",
        region=region,
        default_action={"allow": {}},
        rules=rules,
        visibility_config=visibility(acl_name),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return web_acl, acl_name
