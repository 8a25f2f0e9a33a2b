"""The ECS cluster the services run on, with Fargate and Fargate Spot as its capacity providers."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import publish


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of :class:`Cluster`."""

    name_prefix: str
    """Physical-name prefix, e.g. ``platform-staging``; the cluster's name."""
    container_insights: bool = False
    """CloudWatch Container Insights for every service of the cluster (billed per metric)."""


class Cluster(pulumi.ComponentResource):
    """An ECS cluster whose services may use Fargate and Fargate Spot (regular Fargate by default)."""

    cluster_name: pulumi.Output[str]
    """The cluster's name."""
    cluster_arn: pulumi.Output[str]
    """The cluster's ARN."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:cluster:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(
            name,
            name=args.name_prefix,
            settings=[
                {"name": "containerInsights", "value": "enabled" if args.container_insights else "disabled"}
            ],
            opts=child,
        )
        capacity_providers = aws.ecs.ClusterCapacityProviders(
            f"{name}-capacity-providers",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[{"capacity_provider": "FARGATE", "weight": 1}],
            opts=child,
        )
        self.capacity_providers = capacity_providers
        """The capacity-provider association; a service's strategy needs it in place (depend on it)."""
        publish(self, cluster_name=cluster.name, cluster_arn=cluster.arn)
