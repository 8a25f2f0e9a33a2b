"""The stack's CloudWatch dashboard: one graph per signal the alarms watch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from components.edge import EDGE_REGION

if TYPE_CHECKING:
    from components.monitoring import MonitoringArgs


def dashboard_widgets(args: MonitoringArgs) -> list[dict[str, Any]]:
    """The dashboard's graphs: each service, the ALB, the database and, behind CloudFront, the edge."""
    lb = ["LoadBalancer", args.alb_arn_suffix]
    graphs: list[tuple[str, str, list[list[Any]], str]] = []
    for service in args.services:
        ecs = ["ClusterName", args.cluster_name, "ServiceName", service.service_name]
        graphs.append(
            (
                f"{service.name}: CPU and memory (%)",
                args.region,
                [["AWS/ECS", "CPUUtilization", *ecs], ["AWS/ECS", "MemoryUtilization", *ecs]],
                "Average",
            )
        )
        if service.target_group_arn_suffix is None:
            continue
        target_group = ["TargetGroup", service.target_group_arn_suffix, *lb]
        graphs += [
            (
                f"{service.name}: requests and 5xx",
                args.region,
                [
                    ["AWS/ApplicationELB", "RequestCount", *target_group],
                    ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *target_group],
                ],
                "Sum",
            ),
            (
                f"{service.name}: p95 response time (s)",
                args.region,
                [["AWS/ApplicationELB", "TargetResponseTime", *target_group]],
                "p95",
            ),
            (
                f"{service.name}: healthy and unhealthy tasks",
                args.region,
                [
                    ["AWS/ApplicationELB", "HealthyHostCount", *target_group],
                    ["AWS/ApplicationELB", "UnHealthyHostCount", *target_group],
                ],
                "Maximum",
            ),
        ]
    graphs.append(
        (
            "ALB: requests and its own 5xx",
            args.region,
            [
                ["AWS/ApplicationELB", "RequestCount", *lb],
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", *lb],
            ],
            "Sum",
        )
    )
    db = args.database
    if db.engine == "aurora-serverless-v2" and db.cluster_identifier is not None:
        cluster = ["DBClusterIdentifier", db.cluster_identifier]
        graphs += [
            (
                "Aurora: CPU (%) and connections",
                args.region,
                [
                    ["AWS/RDS", "CPUUtilization", *cluster, "Role", "WRITER"],
                    ["AWS/RDS", "CPUUtilization", *cluster, "Role", "READER"],
                    ["AWS/RDS", "DatabaseConnections", *cluster],
                ],
                "Average",
            ),
            (
                "Aurora: capacity (ACU)",
                args.region,
                [["AWS/RDS", "ServerlessDatabaseCapacity", *cluster]],
                "Average",
            ),
        ]
    else:
        instances = [["DBInstanceIdentifier", identifier] for identifier in db.instance_identifiers]
        graphs += [
            (
                "Database: CPU (%)",
                args.region,
                [["AWS/RDS", "CPUUtilization", *i] for i in instances],
                "Average",
            ),
            (
                "Database: connections",
                args.region,
                [["AWS/RDS", "DatabaseConnections", *i] for i in instances],
                "Maximum",
            ),
            (
                "Database: free storage (bytes)",
                args.region,
                [["AWS/RDS", "FreeStorageSpace", *i] for i in instances],
                "Minimum",
            ),
        ]
    if args.distribution_id is not None:
        distribution = ["DistributionId", args.distribution_id, "Region", "Global"]
        graphs += [
            ("CloudFront: requests", EDGE_REGION, [["AWS/CloudFront", "Requests", *distribution]], "Sum"),
            (
                "CloudFront: error rates (%)",
                EDGE_REGION,
                [
                    ["AWS/CloudFront", "4xxErrorRate", *distribution],
                    ["AWS/CloudFront", "5xxErrorRate", *distribution],
                ],
                "Average",
            ),
        ]
    if args.web_acl_metric_name is not None:
        acl = ["WebACL", args.web_acl_metric_name, "Rule", "ALL"]
        graphs.append(
            (
                "WAF: allowed and blocked requests",
                EDGE_REGION,
                [["AWS/WAFV2", "AllowedRequests", *acl], ["AWS/WAFV2", "BlockedRequests", *acl]],
                "Sum",
            )
        )
    return [
        {
            "type": "metric",
            "x": (index % 2) * 12,
            "y": (index // 2) * 6,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "metrics": metrics,
                "stat": stat,
                "period": 300,
                "view": "timeSeries",
            },
        }
        for index, (title, region, metrics, stat) in enumerate(graphs)
    ]
