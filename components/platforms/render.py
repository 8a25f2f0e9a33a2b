"""The NestJS API as a Render web service (pre-commercial)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_render as render

from components.outputs import publish
from components.platforms.render_scaling import RenderScaling
from components.settings import RenderSettings

DOCKERFILE = "./Dockerfile"


@dataclass(frozen=True)
class RenderApiArgs:
    settings: RenderSettings
    """Workspace, repository, branch, region, instance type, build/start commands, health check,
    autoscaling bounds and targets, plain environment."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variable name -> value, sent as Pulumi secrets (``DATABASE_URL``,
    ``MONGODB_URI``, ``SENTRY_DSN``)."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain variables the topology derives (e.g. ``WEB_ORIGIN``), merged over settings.environment."""
    custom_domain: str | None = None
    """A host name the service also answers, e.g. ``api.example.com``; None: only
    ``<name>.onrender.com``. Render verifies it and issues its certificate once DNS points the name
    at ``<name>.onrender.com`` (during the cut-over: the weighted record of the commercial stack)."""


class RenderApi(pulumi.ComponentResource):
    """A Render web service built from the API repository and deployed on every push.

    Render has no Tokyo region; ``singapore`` (the default) is the nearest to users in Japan.
    With ``maxInstances`` above ``minInstances`` the service autoscales on CPU and memory
    targets (Render autoscaling needs a Professional workspace or higher); with both equal it runs
    that many instances.

    What a change does (cloudy-sky-software/pulumi-render ``provider/pkg/provider/provider.go``
    OnDiff and ``request.go`` determineDiffsAndReplacements: a top-level input that Render's PATCH
    schema ``webServicePatch`` lacks replaces the service, a new ``srv-`` id and onrender.com host):

    * environment variables: updated in place by :class:`EnvVarsForService` (PUT
      ``/services/{id}/env-vars``, then the provider triggers a deploy). The service's own
      ``envVars`` (not in the PATCH schema, cloudy-sky-software/pulumi-render#55) only seed its
      first deploy and are ignored afterwards;
    * ``ownerId`` (the workspace) replaces the service;
    * name, repository, branch, plan, runtime, build/start commands, health check and previews
      are PATCHed in place;
    * instance count and autoscaling (bounds and targets): updated in place by
      :class:`RenderScaling`, a dynamic provider calling PUT/DELETE ``/services/{id}/autoscaling``
      and POST ``/services/{id}/scale`` (components/platforms/render_scaling.py says why the
      provider's own ``AutoscaleService`` and ``ScaleService`` cannot be used). The service's
      create body carries neither, so they have one owner; Render starts the service at its default
      of one instance (``webServiceDetailsPOST.numInstances``: "Defaults to 1") and the scaling
      resource, created next, sets the rest;
    * region is set when the service is created: Render's PATCH of ``serviceDetails`` has none.
    """

    service_id: pulumi.Output[str]
    """The service id (``srv-...``)."""
    url: pulumi.Output[str]
    """The service's public ``https://<name>.onrender.com`` URL."""
    public_url: pulumi.Output[str]
    """``https://<custom_domain>`` when one is set, else ``url``: where clients call it."""
    dashboard_url: pulumi.Output[str]
    """The service's page in the Render dashboard."""

    def __init__(self, name: str, args: RenderApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:render:RenderApi", name, None, opts)
        settings = args.settings
        clash = sorted(set(args.secrets) & (set(settings.environment) | set(args.environment)))
        if clash:
            raise ValueError(f"environment must not set {clash}: they are injected as secrets")
        if settings.region == "singapore":
            pulumi.log.info("Render has no Tokyo region: the API runs in singapore, the nearest to Japan")

        env_vars = _env_vars({**settings.environment, **args.environment}, args.secrets)
        service = self._service(name, settings, env_vars)
        self._env(name, service, env_vars)
        self._scaling(name, service, settings)
        url = service.service_details.apply(lambda details: details.url)
        public_url = url
        if args.custom_domain:
            domain = render.services.CustomDomain(
                f"{name}-domain",
                name=args.custom_domain,
                service_id=service.id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # From the resource, so whatever calls this URL is configured after Render knows the name.
            public_url = domain.name.apply(lambda host: f"https://{host}")
        publish(
            self,
            service_id=service.id,
            url=url,
            public_url=public_url,
            dashboard_url=service.id.apply(
                lambda service_id: f"https://dashboard.render.com/web/{service_id}"
            ),
        )

    def _service(
        self, name: str, settings: RenderSettings, env_vars: pulumi.Input[list[dict[str, Any]]]
    ) -> render.services.WebService:
        if settings.runtime == "docker":
            build = render.services.EnvSpecificDetailsCreateArgs(
                dockerfile_path=DOCKERFILE, docker_context=".", docker_command=settings.start_command
            )
        else:
            build = render.services.EnvSpecificDetailsCreateArgs(
                build_command=settings.build_command, start_command=settings.start_command
            )
        return render.services.WebService(
            f"{name}-service",
            name=settings.service_name,
            owner_id=settings.owner_id,
            repo=f"https://github.com/{settings.repository}",
            branch=settings.branch,
            auto_deploy=render.services.ServiceCreateAutoDeploy.YES,
            # Creating the service starts its first deploy at once, before any other resource can
            # set variables (and the env-var resource's create triggers no deploy), so the create
            # body carries them; EnvVarsForService owns them from then on.
            env_vars=env_vars,
            service_details=render.services.WebServiceDetailsCreateArgs(
                runtime=settings.runtime,
                region=settings.region,
                plan=settings.plan,
                env_specific_details=build,
                health_check_path=settings.health_check_path,
                # Pull-request previews would run against the production databases.
                previews=render.services.PreviewsArgs(generation=render.services.PreviewsGeneration.OFF),
            ),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=SERVICE_IGNORED),
        )

    def _env(
        self, name: str, service: render.services.WebService, env_vars: pulumi.Input[list[dict[str, Any]]]
    ) -> render.services.EnvVarsForService:
        # PUT /services/{id}/env-vars replaces the whole set; its PUT schema has only envVars, so a
        # change updates in place and a new serviceId (the service replaced) replaces this resource.
        # It has no DELETE in the provider's metadata: removing it leaves the variables on Render.
        return render.services.EnvVarsForService(
            f"{name}-env",
            service_id=service.id,
            env_vars=env_vars,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _scaling(
        self, name: str, service: render.services.WebService, settings: RenderSettings
    ) -> RenderScaling:
        # Its id is the service's: a new service replaces it, any other change updates in place.
        # Removing it sends nothing to Render (render_scaling.py: the service keeps its scaling).
        return RenderScaling(
            f"{name}-scaling",
            {
                "service_id": service.id,
                "min_instances": settings.min_instances,
                "max_instances": settings.max_instances,
                "cpu_target_percent": settings.cpu_target_percent,
                "memory_target_percent": settings.memory_target_percent,
            },
            pulumi.ResourceOptions(parent=self),
        )


# Inputs of the service that a second `up` must not diff on. The framework's Read
# (cloudy-sky-software/pulumi-provider-framework rest/provider.go) copies Render's whole
# `serviceDetails` object from GET /services/{id} into the inputs on every refresh (the deploy
# workflow refreshes), only dropping what the POST schema lacks or marks read-only, so fields Render
# fills in or returns (openapi_generated.yml `webServiceDetails`: `env` is required) would diff
# against the program forever and PATCH the service on each `up`. `envVars` (seed only) is
# explained in the class docstring; `autoscaling` and `numInstances`, which GET returns once
# RenderScaling has set them, belong to that resource.
SERVICE_IGNORED = [
    "envVars",
    "serviceDetails.autoscaling",
    "serviceDetails.numInstances",
    "serviceDetails.env",
    "serviceDetails.cache",
    "serviceDetails.disk",
    "serviceDetails.maintenanceMode",
    "serviceDetails.maxShutdownDelaySeconds",
    "serviceDetails.parentServer",
    "serviceDetails.pullRequestPreviewsEnabled",
    "serviceDetails.renderSubdomainPolicy",
    "serviceDetails.envSpecificDetails.preDeployCommand",
    "serviceDetails.envSpecificDetails.registryCredential",
]


def _env_vars(
    plain: Mapping[str, pulumi.Input[str]], secrets: Mapping[str, pulumi.Input[str]]
) -> pulumi.Input[list[dict[str, Any]]]:
    """The service's variables as Render's ``envVarInput`` list, sorted by key.

    With any secret among them the whole list is one Pulumi secret: the engine marks an output
    secret only when the input of the same top-level name is (pulumi/pulumi
    pkg/resource/deploy/step_executor.go), and Render's PUT and GET answer every value in clear
    (openapi_generated.yml ``envVarWithCursor``), so a list with secrets only inside it would store
    them in clear in the state's outputs.
    """
    variables: list[dict[str, Any]] = [{"key": k, "value": v} for k, v in sorted(plain.items())] + [
        {"key": k, "value": v} for k, v in sorted(secrets.items())
    ]
    return pulumi.Output.secret(variables) if secrets else variables
