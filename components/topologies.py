"""The three topologies: which components each stack builds, and how they are wired."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.network import Network, NetworkArgs
from components.platforms.topology import build_pre_commercial
from components.settings import NAMESPACE, Settings, SettingsError


def availability_zones(settings: Settings) -> list[str]:
    """The region's AZs (no Local Zones), checked against ``network.azCount`` before any resource."""
    found = aws.get_availability_zones(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
    )
    names = sorted(found.names)
    if len(names) < settings.network.az_count:
        raise SettingsError(
            [
                f"{NAMESPACE}:network.azCount: {settings.network.az_count} is more than the "
                f"{len(names)} zones {settings.region} offers ({', '.join(names)})"
            ]
        )
    return names


def build_aws(settings: Settings) -> None:
    """Staging and commercial: the same components, sized and switched by the topology preset."""
    zones = availability_zones(settings)
    assert settings.region is not None  # settings require aws:region for the AWS topologies
    network = Network(
        settings.name("network"),
        NetworkArgs(
            settings=settings.network,
            name_prefix=settings.name(),
            availability_zones=zones,
            region=settings.region,
            flow_log_group_name=f"{settings.parameter_prefix}/vpc-flow-logs",
        ),
    )
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("availabilityZones", network.availability_zones)
    pulumi.export("egressIps", network.egress_ips)


def build(settings: Settings) -> None:
    """Register the resources of ``settings.topology`` and export what an operator needs."""
    pulumi.export("topology", settings.topology)
    if settings.on_aws:
        build_aws(settings)
    if settings.topology == "pre-commercial":
        build_pre_commercial(settings)
