"""The cross-checks of ``platform:services``: each entry's floors and tags, host names that no two
services share, and the secrets that exist; rows of the one table, ``CROSS_CHECKS``
(components/settings/checks.py), in its order."""

from __future__ import annotations

from components.settings.cross_check import CrossCheck
from components.settings.derived import (
    DATABASE_ADMIN_IMAGE_SERVICE,
    served_on_same_host,
    served_services,
)
from components.settings.fields import AWS_TOPOLOGIES

_SUBDOMAIN_FIELDS = {"apiSubdomain": "api_subdomain", "webSubdomain": "web_subdomain"}

SERVICE_CHECKS: tuple[CrossCheck, ...] = (
    # AWS: the services, their names and what they reach.
    CrossCheck(
        "platform:services",
        "at least one service",
        lambda s: not s.services,
        "every entry is disabled; the cluster needs at least one service (the presets' api and web)",
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:services.<name>.subdomain",
        "no two services on one host name",
        lambda s, name: served_on_same_host(s, name) is not None,
        lambda s, name: (
            f"{s.services[name].subdomain!r} is also {served_on_same_host(s, name)}'s: one host name is "
            "served by one service; give each its own subdomain"
        ),
        AWS_TOPOLOGIES,
        each=lambda s: s.services,
    ),
    CrossCheck(
        "platform:services.<name>.subdomain",
        "without platform:dns.domain, one served service at most",
        lambda s, name: not s.dns.domain and name in served_services(s)[1:],
        lambda s, name: (
            f"without platform:dns.domain the load balancer has only its own name, which "
            f"{served_services(s)[0]} already takes; set platform:dns.domain or unset this subdomain"
        ),
        AWS_TOPOLOGIES,
        each=lambda s: s.services,
    ),
    CrossCheck(
        "platform:services.<name>.secrets",
        "MONGODB_URI only while platform:atlas.enabled",
        lambda s, name: "MONGODB_URI" in s.services[name].secrets and not s.atlas.enabled,
        "lists MONGODB_URI, but platform:atlas.enabled is false: there is no Atlas cluster to connect "
        "to; remove it from the list or enable Atlas",
        AWS_TOPOLOGIES,
        each=lambda s: s.services,
    ),
    CrossCheck(
        "platform:services.<name>.secrets",
        "DATABASE_URL for the service the database admin task runs as",
        lambda s, name: (
            name == DATABASE_ADMIN_IMAGE_SERVICE and "DATABASE_URL" not in s.services[name].secrets
        ),
        lambda s, name: (
            f"must list DATABASE_URL: the database admin task runs the {name} image and connects as "
            "it does (components/migrations.py)"
        ),
        AWS_TOPOLOGIES,
        each=lambda s: s.services,
    ),
    CrossCheck(
        "platform:services.api",
        "present: the database admin task runs the API's image",
        lambda s: DATABASE_ADMIN_IMAGE_SERVICE not in s.services,
        f"the {DATABASE_ADMIN_IMAGE_SERVICE} service is disabled or missing, but the database admin task "
        "runs its image (components/migrations.py); keep it",
        AWS_TOPOLOGIES,
    ),
    CrossCheck(
        "platform:dns.<key>",
        "not set on AWS: each service's subdomain names its host",
        lambda s, key: _SUBDOMAIN_FIELDS[key] in s.dns.model_fields_set,
        lambda s, key: (
            "is pre-commercial's (Vercel and Render custom domains); on AWS each service is served at "
            "platform:services.<name>.subdomain"
        ),
        AWS_TOPOLOGIES,
        each=lambda s: _SUBDOMAIN_FIELDS,
    ),
)
