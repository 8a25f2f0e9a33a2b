"""The containers of a service's Fargate task: the application, and the Datadog Agent beside it.

Every container runs with a read-only root filesystem; the paths it writes are task storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from components.settings import app_volume

if TYPE_CHECKING:
    from components.service import ServiceArgs

# Time a new task has to pass the ALB health check before failures count (Nest boot + DB connect,
# Next.js's first render).
HEALTH_CHECK_GRACE_SECONDS = 60
# SIGTERM -> SIGKILL; Fargate allows up to 120. Enough for Nest's shutdown hooks to close pools
# and for Next.js to finish in-flight renders.
STOP_TIMEOUT_SECONDS = 30
AGENT_CONTAINER_NAME = "datadog-agent"
# The APM intake of the agent; containers of an awsvpc task share one network namespace.
AGENT_TRACE_PORT = 8126
# The agent runs with a read-only root filesystem like every container of the task, following
# docs.datadoghq.com/containers/guide/readonly-root-filesystem: task storage (volume name -> path)
# for the paths it writes (configuration with the generated auth token, run state, sockets,
# logs, scratch), and a one-shot init container that fills the configuration volume with the
# image's defaults before the agent starts.
AGENT_INIT_CONTAINER_NAME = "datadog-init"
AGENT_CONFIG_VOLUME = "datadog-config"
AGENT_WRITABLE_PATHS = {
    AGENT_CONFIG_VOLUME: "/etc/datadog-agent",
    "datadog-run": "/opt/datadog-agent/run",
    "datadog-sockets": "/var/run/datadog",
    "datadog-logs": "/var/log/datadog",
    "datadog-tmp": "/tmp",
}
# Where the init container sees the configuration volume while it copies into it.
AGENT_INIT_CONFIG_PATH = "/opt/datadog-agent-config"
# Hard memory limit of the init container: a shell and `cp` of a few hundred kB of YAML.
AGENT_INIT_MEMORY_MIB = 64


def health_check_command(port: int, path: str) -> list[str]:
    """The container health check: a GET on the service's health endpoint with Node itself.

    The images are Node apps (NestJS, the Next.js standalone server), so ``node`` is the one
    program they are sure to have: slim Node images
    ship neither curl nor wget, and distroless ones have no shell, hence the exec form (``CMD``)
    rather than ``CMD-SHELL``. Any 2xx/3xx is healthy, matching the target group's matcher; no
    answer within 4 s (inside the 5 s check timeout) is unhealthy.
    """
    script = (
        f"require('http').get('http://127.0.0.1:{port}{path}',"
        "r=>process.exit(r.statusCode>=200&&r.statusCode<400?0:1))"
        ".on('error',()=>process.exit(1)).setTimeout(4000,()=>process.exit(1))"
    )
    return ["CMD", "node", "-e", script]


@dataclass(frozen=True)
class DatadogSidecar:
    """The Datadog Agent as a sidecar of a service's task (APM traces and Fargate metrics)."""

    site: str
    """Datadog site, e.g. ``ap1.datadoghq.com``."""
    agent_image: str
    """Agent image, e.g. ``public.ecr.aws/datadog/agent:7``."""
    api_key_parameter_arn: pulumi.Input[str]
    """ARN of the SSM SecureString holding the API key; injected through ``secrets``."""
    env: str | None = None
    """``DD_ENV`` of the service's traces (unified service tagging), e.g. the stack name; the
    service's name is its ``DD_SERVICE``."""


def _log_configuration(args: ServiceArgs, log_group: pulumi.Input[str], stream_prefix: str) -> dict:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": log_group,
            "awslogs-region": args.region,
            "awslogs-stream-prefix": stream_prefix,
            # A CloudWatch hiccup must not block the app's stdout writes (and so its requests).
            "mode": "non-blocking",
            "max-buffer-size": "25m",
        },
    }


def container_definitions(args: ServiceArgs, log_group: pulumi.Input[str]) -> list[dict]:
    settings = args.settings
    port = settings.port
    environment = {"NODE_ENV": "production", **settings.environment, "PORT": str(port)}
    secrets = dict(args.secrets)
    if args.datadog is not None:
        environment |= {
            "DD_AGENT_HOST": "127.0.0.1",
            "DD_TRACE_AGENT_URL": f"http://127.0.0.1:{AGENT_TRACE_PORT}",
            "DD_SERVICE": args.service,
        }
        if args.datadog.env is not None:
            environment["DD_ENV"] = args.datadog.env
    app = {
        "name": args.service,
        "image": args.image,
        "essential": True,
        "portMappings": [{"containerPort": port, "protocol": "tcp"}],
        "readonlyRootFilesystem": True,
        "mountPoints": [_writable_mount(app_volume(path), path) for path in settings.writable_paths],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        # ECS resolves these from SSM when the task starts; the values never enter the definition.
        "secrets": [{"name": k, "valueFrom": arn} for k, arn in sorted(secrets.items())],
        "healthCheck": {
            "command": health_check_command(port, settings.health_check_path),
            "interval": 30,
            "timeout": 5,
            "retries": 3,
            "startPeriod": HEALTH_CHECK_GRACE_SECONDS,
        },
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        # An init process forwards SIGTERM to node and reaps zombies of child processes.
        "linuxParameters": {"initProcessEnabled": True},
        "logConfiguration": _log_configuration(args, log_group, args.service),
    }
    if args.image_tag_moves:
        # ECS resolves a tag to a digest once per deployment and starts every later task of it
        # (scale-out, the morning 0 -> 1, a replaced task) from that digest. Once the tag moves
        # the old digest is untagged and may expire, and those starts fail with
        # CannotPullContainerError; "disabled" pulls the tag itself at each start instead
        # (API_ContainerDefinition.html#ECS-Type-ContainerDefinition-versionConsistency,
        # aws/containers-roadmap#2393). The provider passes it through and compares it as given
        # (internal/service/ecs/container_definitions.go), so the next plan sees no change.
        app["versionConsistency"] = "disabled"
    if args.datadog is None:
        return [app]
    init = {
        "name": AGENT_INIT_CONTAINER_NAME,
        "image": args.datadog.agent_image,
        # It exits once the copy is done; its exit must not stop the task.
        "essential": False,
        "readonlyRootFilesystem": True,
        # Replaces the image's CMD (its entrypoint script), so nothing else runs and no API key is needed.
        "command": ["sh", "-c", f"cp -R /etc/datadog-agent/. {AGENT_INIT_CONFIG_PATH}/"],
        "mountPoints": [_writable_mount(AGENT_CONFIG_VOLUME, AGENT_INIT_CONFIG_PATH)],
        "memory": AGENT_INIT_MEMORY_MIB,
        "logConfiguration": _log_configuration(args, log_group, AGENT_INIT_CONTAINER_NAME),
    }
    agent = {
        "name": AGENT_CONTAINER_NAME,
        "image": args.datadog.agent_image,
        # Losing telemetry must not take the service down with it.
        "essential": False,
        "readonlyRootFilesystem": True,
        "mountPoints": [_writable_mount(volume, path) for volume, path in AGENT_WRITABLE_PATHS.items()],
        # Start only on a complete configuration: a failed copy leaves the agent stopped, the app running.
        "dependsOn": [{"containerName": AGENT_INIT_CONTAINER_NAME, "condition": "SUCCESS"}],
        "portMappings": [{"containerPort": AGENT_TRACE_PORT, "protocol": "tcp"}],
        "environment": [
            {"name": k, "value": v}
            for k, v in sorted(
                {
                    "DD_SITE": args.datadog.site,
                    "ECS_FARGATE": "true",
                    "DD_APM_ENABLED": "true",
                    "DD_APM_NON_LOCAL_TRAFFIC": "true",
                }.items()
            )
        ],
        "secrets": [{"name": "DD_API_KEY", "valueFrom": args.datadog.api_key_parameter_arn}],
        "healthCheck": {
            "command": ["CMD-SHELL", "agent health"],
            "interval": 30,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 15,
        },
        "logConfiguration": _log_configuration(args, log_group, AGENT_CONTAINER_NAME),
    }
    return [app, init, agent]


def volume_names(args: ServiceArgs) -> list[str]:
    app = [app_volume(path) for path in args.settings.writable_paths]
    return [*app, *(AGENT_WRITABLE_PATHS if args.datadog is not None else ())]


def _writable_mount(volume: str, path: str) -> dict:
    return {"sourceVolume": volume, "containerPath": path, "readOnly": False}
