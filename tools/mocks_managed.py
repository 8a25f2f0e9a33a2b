"""The recording mocks' answers for every provider but AWS: resource outputs and invokes.

The managed services (MongoDB Atlas, Render, Vercel, Supabase, Sentry, Datadog) and the random
provider; the comments cite where each behaviour is documented.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from pulumi.runtime import rpc

from tools.mocks_naming import fake_id

if TYPE_CHECKING:
    from tools.mocks import RecordingMocks


def managed_outputs(
    mocks: RecordingMocks, typ: str, logical: str, name: str, inputs: dict[str, Any], region: str, h: str
) -> dict[str, Any]:
    """The outputs a non-AWS provider adds to (or, under ``__drop``, removes from) a resource's
    inputs; ``__id`` is its id when it is not the default."""
    if typ == "mongodbatlas:index/advancedCluster:AdvancedCluster":
        # Provider v2: one connectionStrings object, strings Atlas leaves out read as ""
        # (internal/service/advancedcluster/model_ClusterDescription20240805.go,
        # newConnectionStringsObjType: conversion.SafeValue). The cluster is created before any
        # private path exists, so its own state never holds privateSrv or private endpoints.
        cname = inputs.get("name", name)
        return {
            "clusterId": fake_id(logical, length=24),
            "connectionStrings": _atlas_connection_strings(str(inputs.get("projectId")), cname),
            "stateName": "IDLE",
            "mongoDbVersion": "8.0.4",
        }
    # Atlas resources' ids are the provider's encoded key maps (conversion.EncodeStateID in
    # internal/common/conversion/encode_state.go), not Atlas ids: read the named outputs instead.
    project = str(inputs.get("projectId"))
    if typ == "mongodbatlas:index/databaseUser:DatabaseUser":
        # internal/service/databaseuser/model_database_user.go, NewTfDatabaseUserModel.
        user = {"username": inputs.get("username"), "auth_database_name": inputs.get("authDatabaseName")}
        return {"__id": _atlas_state_id(project_id=project, **user)}
    if typ == "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList":
        # model_project_ip_access_list.go: the entry is the cidr, the IP or the group.
        entry = inputs.get("cidrBlock") or inputs.get("ipAddress") or inputs.get("awsSecurityGroup")
        return {"__id": _atlas_state_id(entry=entry, project_id=project)}
    if typ == "mongodbatlas:index/privateLinkEndpointService:PrivateLinkEndpointService":
        # Create waits for AVAILABLE, then for the project's clusters to be IDLE
        # (internal/service/privatelinkendpointservice/resource.go, resourceCreate).
        vpce = str(inputs.get("endpointServiceId"))
        mocks.atlas_private_endpoints[project] = vpce
        return {"awsConnectionStatus": "AVAILABLE", "interfaceEndpointId": vpce, "deleteRequested": False}
    if typ == "mongodbatlas:index/networkContainer:NetworkContainer":
        # Not provisioned until a dedicated cluster runs in it (networkcontainer/resource_network_container.go).
        container = fake_id(logical, length=24)
        return {
            "__id": _atlas_state_id(container_id=container, project_id=project),
            "containerId": container,
            "vpcId": f"vpc-{h}",
            "provisioned": False,
            "regionName": inputs.get("regionName"),
        }
    if typ == "mongodbatlas:index/networkPeering:NetworkPeering":
        # Create returns at PENDING_ACCEPTANCE, before AWS accepts (networkpeering/resource.go).
        mocks.atlas_peered_projects.add(project)
        peer = fake_id(logical, length=24)
        return {
            "__id": _atlas_state_id(peer_id=peer, project_id=project, provider_name="AWS"),
            "peerId": peer,
            "connectionId": f"pcx-{h}",
            "statusName": "PENDING_ACCEPTANCE",
        }
    if typ == "mongodbatlas:index/project:Project":
        return {"__id": fake_id(logical, length=24), "orgId": inputs.get("orgId")}
    if typ == "mongodbatlas:index/customDnsConfigurationClusterAws:CustomDnsConfigurationClusterAws":
        if inputs.get("enabled") is True:
            mocks.atlas_custom_dns_projects.add(str(inputs.get("projectId")))
        return {}
    if typ == "mongodbatlas:index/privateLinkEndpoint:PrivateLinkEndpoint":
        return {
            "privateLinkId": fake_id(logical, length=24),
            "endpointServiceName": f"com.amazonaws.vpce.{region}.vpce-svc-{h}",
            "status": "AVAILABLE",
        }
    if typ.startswith("sentry:") and typ.endswith(":SentryKey"):
        return {
            "dsnPublic": f"https://{h[:32]}@o4500000000000000.ingest.sentry.io/45000000000{int(h[:4], 16)}",
            "public": h[:32],
            "secret": h[32:64],
            "dsn": {
                "public": f"https://{h[:32]}@o4500000000000000.ingest.sentry.io/45000000000{int(h[:4], 16)}"
            },
        }
    if typ == "datadog:aws/integrationExternalId:IntegrationExternalId":
        return {"__id": h[:32]}
    if typ == "datadog:index/monitor:Monitor":
        return {"__id": str(int(h[:7], 16))}
    if typ.startswith("random:") and typ.endswith("RandomPassword"):
        length = int(inputs.get("length", 32))
        return {"result": ("P" + h * 4)[:length]}
    if typ == "random:index/randomBytes:RandomBytes":
        # terraform-provider-random internal/provider/resource_bytes.go: Create sets the id to
        # "none" and base64/hex (both Sensitive) from crypto/rand; Read changes nothing.
        raw = bytes.fromhex((h * 4)[: 2 * int(inputs.get("length", 32))])
        return {"__id": "none", "base64": base64.b64encode(raw).decode(), "hex": raw.hex()}
    if typ.startswith("vercel:") and typ.endswith(":Project"):
        return {"__id": f"prj_{h[:28]}"}
    if typ.startswith("render:") and "WebService" in typ:
        # The provider's outputs are Render's service object (provider/pkg/provider/provider.go
        # OnPostCreate; openapi_generated.yml `webServiceOutput`): no `envVars` (Render never
        # returns them with the service) and `serviceDetails` in Render's GET shape, with the
        # required `env`, `buildPlan`, `openPorts` and `url` and the defaults it fills in.
        slug = inputs.get("name", logical)
        asked = rpc.unwrap_rpc_secret(inputs.get("serviceDetails")) or {}
        details = {
            "maxShutdownDelaySeconds": 30,
            "pullRequestPreviewsEnabled": "no",
            "numInstances": 1,
            **asked,
            "env": asked.get("runtime"),
            "buildPlan": "starter",
            "openPorts": [],
            "url": f"https://{slug}.onrender.com",
        }
        return {
            "__id": f"srv-{h[:20]}",
            "__drop": ["envVars"],
            "serviceDetails": details,
            "dashboardUrl": f"https://dashboard.render.com/web/srv-{h[:20]}",
            "slug": slug,
            "suspended": "not_suspended",
        }
    if typ == "render:services:CronJob":
        # As the web service: Render's service object (openapi_generated.yml `cronJobOutput`,
        # `cronJobDetailsOutput`: `env`, `buildPlan`, `plan`, `region` required), no `envVars`;
        # cron job ids start with `crn-`.
        asked = rpc.unwrap_rpc_secret(inputs.get("serviceDetails")) or {}
        details = {**asked, "env": asked.get("runtime"), "buildPlan": "starter"}
        return {
            "__id": f"crn-{h[:20]}",
            "__drop": ["envVars"],
            "serviceDetails": details,
            "dashboardUrl": f"https://dashboard.render.com/cron/crn-{h[:20]}",
            "slug": inputs.get("name", logical),
            "suspended": "not_suspended",
        }
    if typ == "render:services:EnvVarsForService":
        # PUT /services/{id}/env-vars answers a bare array of `envVarWithCursor`, values in
        # clear; the provider wraps it as `envVars` and, the array having no id, makes one
        # from the sha256 of the response (provider/pkg/provider/provider.go OnPostCreate,
        # array.go wrapArrayResponse). Nothing else is kept: no serviceId in the outputs.
        variables = rpc.unwrap_rpc_secret(inputs.get("envVars")) or []
        answer = [
            {
                "envVar": {"key": v["key"], "value": rpc.unwrap_rpc_secret(v.get("value"))},
                "cursor": v["key"],
            }
            for v in variables
        ]
        return {
            "__id": hashlib.sha256(repr(answer).encode()).hexdigest(),
            "__drop": ["serviceId"],
            "envVars": answer,
        }
    if typ == "pulumi-python:dynamic/supabase:Project":
        # As components/platforms/supabase.py's create answers (tests/test_supabase_provider.py
        # runs it against tests/fake_supabase.py): the pool mode's port, and 5432 for session.
        ref = "".join(chr(ord("a") + int(c, 16)) for c in fake_id(typ, logical, length=20))
        password = rpc.unwrap_rpc_secret(inputs.get("db_pass"))
        pooler_host = f"aws-0-{inputs.get('region')}.pooler.supabase.com"
        port = {"session": 5432, "transaction": 6543}[inputs.get("pool_mode", "session")]

        def url(port: int) -> str:
            return f"postgresql://postgres.{ref}:{password}@{pooler_host}:{port}/postgres?sslmode=require"

        return {
            "__id": ref,
            "ref": ref,
            "organization_id": fake_id(str(inputs.get("organization")), length=20),
            "status": "ACTIVE_HEALTHY",
            "db_host": f"db.{ref}.supabase.co",
            "pooler_host": pooler_host,
            "pooler_port": port,
            "pooler_user": f"postgres.{ref}",
            "database": "postgres",
            # As the state of a project created before the URLs verified TLS holds it: the
            # dynamic provider's diff ignores code changes, so the old string stays until an
            # update; the component must normalise it (components/platforms/supabase.py).
            "pooled_connection_string": url(port),
            "session_connection_string": url(5432),
        }
    if typ == "pulumi-python:dynamic/render:Scaling":
        # As components/platforms/render_scaling.py's create answers (tests/
        # test_render_scaling_provider.py runs it against tests/fake_render.py): the service's
        # srv- id as its id, the inputs back (PUT /autoscaling echoes them; /scale has no body).
        return {"__id": inputs.get("service_id")}
    return {}


def managed_invoke(
    mocks: RecordingMocks, token: str, inputs: dict[str, Any], region: str
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The answer of a non-AWS invoke and its failures (property, reason)."""
    if token == "mongodbatlas:index/getAdvancedCluster:getAdvancedCluster":
        cname, project = inputs.get("name", "cluster"), str(inputs.get("projectId"))
        h = fake_id(project, cname)
        strings = _atlas_connection_strings(project, cname)
        # privateSrv/private only for a peered project with custom DNS for AWS clusters on:
        # "For Amazon Web Services (AWS) clusters, this parameter returns only if you enable
        # custom DNS" (internal/service/advancedcluster/schema.go, connection_strings.private_srv;
        # and customDnsConfigurationClusterAws' `enabled`: "If true, the Get All Clusters and Get
        # One Cluster endpoints return the connectionStrings.private and
        # connectionStrings.privateSrv fields for clusters deployed to AWS"). Without it Atlas
        # omits both and the provider reads "" (model_ClusterDescription20240805.go).
        peered = project in mocks.atlas_peered_projects
        if peered and project in mocks.atlas_custom_dns_projects:
            # Host shape from the provider's example (docs/resources/advanced_cluster.md:
            # "mongodb+srv://cluster-atlas-pri.ygo1m.mongodb.net").
            strings["privateSrv"] = f"mongodb+srv://{cname}-pri.{h[:5]}.mongodb.net"
            strings["private"] = f"mongodb://{cname}-shard-00-00-pri.{h[:5]}.mongodb.net:27017"
        accepted = mocks.atlas_private_endpoints.get(project)
        if accepted:
            strings["privateEndpoints"].append(
                {
                    "srvConnectionString": f"mongodb+srv://{cname}-pl-0.{h[:5]}.mongodb.net",
                    "srvShardOptimizedConnectionString": f"mongodb+srv://{cname}-pl-0.{h[:5]}.mongodb.net",
                    "connectionString": f"mongodb://pl-0-{mocks.region}.{h[:5]}.mongodb.net:1024",
                    "type": "MONGOD",
                    "endpoints": [{"endpointId": accepted, "providerName": "AWS", "region": mocks.region}],
                }
            )
        return {"name": cname, "projectId": project, "connectionStrings": strings}, []
    if token == "sentry:index/getSentryTeam:getSentryTeam":
        # jianyuan/terraform-provider-sentry v0.11.2 sentry/data_source_sentry_team.go: the id
        # is the slug; internal_id is Sentry's numeric team id, as a string.
        slug = inputs.get("slug", "team")
        return {
            "id": slug,
            "slug": slug,
            "organization": inputs.get("organization"),
            "internalId": str(int(fake_id(slug)[:6], 16)),
            "name": slug,
        }, []
    return {}, []


def _atlas_state_id(**values: Any) -> str:
    """The provider's resource id: sorted ``b64(key):b64(value)`` pairs joined by ``-``."""

    def b64(text: Any) -> str:
        return base64.b64encode(str(text).encode()).decode()

    return "-".join(f"{b64(key)}:{b64(values[key])}" for key in sorted(values))


def _atlas_connection_strings(project: str, cluster: str) -> dict[str, Any]:
    """A cluster's connection strings as the provider reads them with no private path enabled; the
    host is a function of the project and the cluster's name, as in Atlas, so the resource and the
    getAdvancedCluster invoke agree."""
    h = fake_id(project, cluster)
    return {
        "standard": f"mongodb://{cluster}-shard-00-00.{h[:5]}.mongodb.net:27017",
        "standardSrv": f"mongodb+srv://{cluster}.{h[:5]}.mongodb.net",
        "private": "",
        "privateSrv": "",
        "privateEndpoints": [],
    }
