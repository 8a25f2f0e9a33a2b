"""What the AWS topologies look up before registering any resource: a bad answer is a settings
error, so `pulumi up` fails before anything is half-applied."""

from __future__ import annotations

import pulumi_aws as aws

from components.cutover import deployed_phase
from components.settings import NAMESPACE, Settings, SettingsError, cutover_transition_problems


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
    return names[: settings.network.az_count]


def public_zone_id(domain: str) -> str:
    """The Route 53 public zone of ``domain``, looked up before any resource is registered."""
    try:
        return aws.route53.get_zone(name=domain, private_zone=False).zone_id
    except Exception as error:  # the provider's lookup error, reported as a config problem
        raise SettingsError(
            [
                f"{NAMESPACE}:dns.domain: no public Route 53 hosted zone named {domain!r} in this account ({error})"
            ]
        ) from error


def check_cutover_transition(settings: Settings, zone_id: str, hosts: dict[str, str]) -> None:
    """Refuse a skipped phase or an unacknowledged step back, before any resource is registered:
    the phase the zone records for the hosts is the persisted one (components/cutover.py)."""
    problems = cutover_transition_problems(settings.cutover, deployed_phase(zone_id, list(hosts.values())))
    if problems:
        raise SettingsError(problems)
