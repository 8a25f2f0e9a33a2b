"""The NestJS API as a Render web service (pre-commercial)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_render as render

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
    targets (Render autoscaling needs a Professional workspace or higher).

    Outputs:
        service_id: the service id (``srv-...``).
        url: the service's public ``https://<name>.onrender.com`` URL.
        public_url: ``https://<custom_domain>`` when one is set, else ``url``: where clients call it.
        dashboard_url: the service's page in the Render dashboard.
    """

    def __init__(self, name: str, args: RenderApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:render:RenderApi", name, None, opts)
        settings = args.settings
        clash = sorted(set(args.secrets) & (set(settings.environment) | set(args.environment)))
        if clash:
            raise ValueError(f"environment must not set {clash}: they are injected as secrets")
        if settings.region == "singapore":
            pulumi.log.info("Render has no Tokyo region: the API runs in singapore, the nearest to Japan")

        plain = {**settings.environment, **args.environment}
        env_vars = [render.services.EnvVarInputArgs(key=k, value=v) for k, v in sorted(plain.items())] + [
            render.services.EnvVarInputArgs(key=k, value=pulumi.Output.secret(v))
            for k, v in sorted(args.secrets.items())
        ]
        if settings.runtime == "docker":
            build = render.services.EnvSpecificDetailsCreateArgs(
                dockerfile_path=DOCKERFILE, docker_context=".", docker_command=settings.start_command
            )
        else:
            build = render.services.EnvSpecificDetailsCreateArgs(
                build_command=settings.build_command, start_command=settings.start_command
            )
        autoscale = settings.max_instances > settings.min_instances
        service = render.services.WebService(
            f"{name}-service",
            name=settings.service_name,
            owner_id=settings.owner_id,
            repo=f"https://github.com/{settings.repository}",
            branch=settings.branch,
            auto_deploy=render.services.ServiceCreateAutoDeploy.YES,
            env_vars=env_vars,
            service_details=render.services.WebServiceDetailsCreateArgs(
                runtime=settings.runtime,
                region=settings.region,
                plan=settings.plan,
                env_specific_details=build,
                health_check_path=settings.health_check_path,
                num_instances=settings.min_instances,
                autoscaling=render.services.WebServiceDetailspropertiesautoscalingArgs(
                    enabled=True,
                    min=settings.min_instances,
                    max=settings.max_instances,
                    criteria=render.services.WebServiceDetailspropertiesautoscalingCriteriaPropertiesArgs(
                        cpu=render.services.WebServiceDetailspropertiesautoscalingCriteriaPropertiesCpuPropertiesArgs(
                            enabled=True, percentage=settings.cpu_target_percent
                        ),
                        memory=render.services.WebServiceDetailspropertiesautoscalingpropertiescriteriapropertiescpuArgs(
                            enabled=True, percentage=settings.memory_target_percent
                        ),
                    ),
                )
                if autoscale
                else None,
                # Pull-request previews would run against the production databases.
                previews=render.services.PreviewsArgs(generation=render.services.PreviewsGeneration.OFF),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.service_id: pulumi.Output[str] = service.id
        self.url: pulumi.Output[str] = service.service_details.apply(lambda details: details.url)
        self.public_url: pulumi.Output[str] = self.url
        if args.custom_domain:
            domain = render.services.CustomDomain(
                f"{name}-domain",
                name=args.custom_domain,
                service_id=service.id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # From the resource, so whatever calls this URL is configured after Render knows the name.
            self.public_url = domain.name.apply(lambda host: f"https://{host}")
        self.dashboard_url: pulumi.Output[str] = service.id.apply(
            lambda service_id: f"https://dashboard.render.com/web/{service_id}"
        )
        self.register_outputs(
            {
                "service_id": self.service_id,
                "url": self.url,
                "public_url": self.public_url,
                "dashboard_url": self.dashboard_url,
            }
        )
