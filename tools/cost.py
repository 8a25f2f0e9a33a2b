"""Monthly cost estimate of a stack, from what the program registered and its settings.

Prices are public on-demand list prices in USD for ap-northeast-1 (Tokyo) and the vendors'
published plans, as the team last checked them (see ``PRICES``); traffic is an assumption per
topology (``TRAFFIC``). The estimate is a planning figure to compare choices and catch budget
drift in review, not a bill: confirm with the AWS Pricing Calculator before committing money.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from components.schedule import horizon, local_now, open_days
from components.settings import DATABASE_STOP_DELAY_MINUTES, ScheduleSettings, Settings
from tools.harness import PROJECT, Run
from tools.mocks import Captured

HOURS_PER_MONTH = 730

# USD, ap-northeast-1 on-demand, and vendors' list prices.
PRICES = {
    "nat_gateway_hour": 0.062,
    "nat_gateway_gb": 0.062,
    "public_ipv4_hour": 0.005,
    "alb_hour": 0.0243,
    "alb_lcu_hour": 0.008,
    "fargate_vcpu_hour": {"X86_64": 0.05056, "ARM64": 0.04045},
    "fargate_gb_hour": {"X86_64": 0.00553, "ARM64": 0.00442},
    "fargate_spot_discount": 0.70,
    "rds_instance_hour": {"db.t4g.micro": 0.025, "db.t4g.small": 0.05, "db.t4g.medium": 0.10},
    "rds_gp3_gb_month": 0.138,
    "aurora_acu_hour": 0.15,
    "aurora_storage_gb_month": 0.12,
    "aurora_io_million": 0.24,
    "interface_endpoint_hour": 0.014,
    "interface_endpoint_gb": 0.01,
    "ec2_hour": {"t4g.nano": 0.0054, "t4g.micro": 0.0108, "t4g.small": 0.0216, "t4g.medium": 0.0432},
    "ebs_gp3_gb_month": 0.096,
    "kms_key_month": 1.0,
    "logs_ingest_gb": 0.76,
    "logs_store_gb_month": 0.033,
    "alarm_month": 0.10,
    "free_alarms": 10,
    "dashboard_month": 3.0,
    "free_dashboards": 3,
    "route53_zone_month": 0.50,
    "cloudfront_gb_japan": 0.114,
    "cloudfront_https_10k": 0.012,
    "waf_acl_month": 5.0,
    "waf_rule_month": 1.0,
    "waf_million_requests": 0.60,
    "ecr_gb_month": 0.10,
    "container_insights_month": 7.0,  # custom metrics of one service's tasks, enhanced off
    "atlas_month": {"M0": 0.0, "FLEX": 8.0, "M10": 73.0, "M20": 189.0, "M30": 394.0},
    "sentry_month": {"free": 0.0, "team": 26.0},
    "datadog_task_month": 1.0,  # infrastructure per Fargate task
    "datadog_apm_task_month": 2.0,  # APM per Fargate task
    "firehose_ingest_gb": 0.036,  # Direct PUT, first 500 TB; CloudWatch sends batched records
    "datadog_logs_ingest_gb": 0.10,  # Log Management ingestion
    "datadog_logs_index_million": 1.70,  # indexed events, 15-day retention, annual plan
    "secretsmanager_secret_month": 0.40,
    "vercel_month": {"hobby": 0.0, "pro": 20.0, "enterprise": 0.0},
    "render_month": {"starter": 7.0, "standard": 25.0, "pro": 85.0},
    "render_professional_workspace_month": 19.0,  # per member; Render autoscales only from this plan
    "supabase_month": {"free": 0.0, "pro": 25.0},
    # Render cron jobs: billed per second of run time, $1/month minimum per cron job
    # (https://render.com/pricing, "Cron jobs"); per minute by instance type.
    "render_cron_minute": {"starter": 0.00016, "standard": 0.00077, "pro": 0.0015},
    "render_cron_minimum_month": 1.0,
    "s3_standard_gb_month": 0.025,  # ap-northeast-1, first 50 TB
}
# The backup job's assumed size: both databases' compressed archives per run, and minutes per run.
BACKUP_ARCHIVE_GB = 0.2
BACKUP_RUN_MINUTES = 10

# Assumed monthly traffic per topology: what the cost estimate cannot read from the program.
TRAFFIC = {
    "staging": {"requests_million": 0.5, "egress_gb": 5, "nat_gb": 0, "logs_gb": 2, "lcu": 0.2},
    "commercial": {"requests_million": 5, "egress_gb": 50, "nat_gb": 30, "logs_gb": 8, "lcu": 1.0},
    "pre-commercial": {"requests_million": 1, "egress_gb": 20, "nat_gb": 0, "logs_gb": 0, "lcu": 0},
}


# What the log path to Datadog carries a month, per topology (assumptions, like TRAFFIC): the
# services' container logs (the API's and the web's) and the database's, of the CloudWatch volume
# above; the share of the services' lines the filter pattern (warnings and errors) lets through;
# the average size of an event.
LOG_SHIPPING = {
    "staging": {"services_gb": 2.0, "database_gb": 0.1, "services_share": 0.05, "event_bytes": 400},
    "commercial": {"services_gb": 7.0, "database_gb": 0.2, "services_share": 0.05, "event_bytes": 400},
}


def log_shipping_line(settings: Settings) -> CostLine:
    """Firehose ingestion plus Datadog's ingestion and indexing of what the filters let through,
    and the Secrets Manager secret Firehose reads the key from.
    The S3 backup holds only failed deliveries (cents); subscription filters cost nothing."""
    p, volume = PRICES, LOG_SHIPPING[settings.topology]
    share = 1.0 if settings.datadog.logs_filter_pattern == "" else volume["services_share"]
    gb = volume["services_gb"] * share + volume["database_gb"]
    events_million = gb * 1e9 / volume["event_bytes"] / 1e6
    return CostLine(
        "Datadog logs via Firehose",
        gb * (p["firehose_ingest_gb"] + p["datadog_logs_ingest_gb"])
        + events_million * p["datadog_logs_index_million"]
        + p["secretsmanager_secret_month"],
        f"the API key's secret ${p['secretsmanager_secret_month']} + {gb:.2f} GB ({share:.0%} of {volume['services_gb']} GB services + {volume['database_gb']} GB database): "
        f"Firehose ${p['firehose_ingest_gb']}/GB, Datadog ingest ${p['datadog_logs_ingest_gb']}/GB, "
        f"{events_million:.2f} M events indexed 15 days at ${p['datadog_logs_index_million']}/M",
    )


@dataclass(frozen=True)
class CostLine:
    item: str
    monthly_usd: float
    basis: str


@dataclass(frozen=True)
class Estimate:
    lines: tuple[CostLine, ...]
    budget_usd: float
    comparisons: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return round(sum(line.monthly_usd for line in self.lines), 2)

    @property
    def within_budget(self) -> bool:
        return self.total <= self.budget_usd


def open_days_per_month(schedule: ScheduleSettings, today: date | None = None) -> float:
    """Average open days a month over the schedule's horizon (weekdays less closed days)."""
    first, end = horizon(schedule, today or local_now(schedule).date())
    return round(len(open_days(schedule, first, end)) / schedule.horizon_months, 1)


def service_hours(settings: Settings, today: date | None = None) -> float:
    """Hours a month the service runs in ``stop`` mode (all month otherwise)."""
    schedule = settings.schedule
    if not (schedule.enabled and schedule.mode == "stop"):
        return HOURS_PER_MONTH
    start_h, start_m = (int(x) for x in schedule.start.split(":"))
    stop_h, stop_m = (int(x) for x in schedule.stop.split(":"))
    daily = (stop_h * 60 + stop_m - start_h * 60 - start_m + schedule.warm_up_minutes) / 60
    return round(daily * open_days_per_month(schedule, today), 1)


def database_hours(settings: Settings, today: date | None = None) -> float:
    """Hours a month the database runs: in ``stop`` mode, the service's hours plus its own
    earlier start and later stop on each open day."""
    schedule = settings.schedule
    hours = service_hours(settings, today)
    if hours == HOURS_PER_MONTH:
        return hours
    extra = (schedule.database_warm_up_minutes + DATABASE_STOP_DELAY_MINUTES) / 60
    return round(hours + extra * open_days_per_month(schedule, today), 1)


def _count(run: Run, type_: str) -> int:
    return len(run.of_type(type_))


# ECS services, priced from what the run registered: each service's task definition, capacity
# provider strategy and scheduled floors. A second or third service costs its own line.
SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
SCHEDULED_ACTION = "aws:appautoscaling/scheduledAction:ScheduledAction"


@dataclass(frozen=True)
class ServiceUsage:
    """One ECS service's month: its task size and how many tasks run for how many hours."""

    name: str
    cluster: str
    vcpu: float
    gb: float
    architecture: str
    periods: tuple[tuple[float, int], ...]
    """(hours a month, task floor): by day and by night when scheduled, else the month at one floor."""
    strategy: tuple[tuple[str, int, float], ...]
    """(capacity provider, base, weight) as ECS places the tasks."""
    public_ip: bool

    @property
    def task_hours(self) -> float:
        return sum(hours * tasks for hours, tasks in self.periods)

    @property
    def peak_floor(self) -> int:
        return max((tasks for _, tasks in self.periods), default=0)

    def spot_task_hours(self) -> float:
        return sum(hours * _spot_tasks(tasks, self.strategy) for hours, tasks in self.periods)


def _spot_tasks(tasks: int, strategy: Sequence[tuple[str, int, float]]) -> float:
    """How many of ``tasks`` ECS places on FARGATE_SPOT: each provider's base first, then the rest
    split by weight (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html,
    ``base`` and ``weight``)."""
    placed = dict.fromkeys((provider for provider, _, _ in strategy), 0.0)
    left = float(tasks)
    for provider, base, _ in strategy:
        placed[provider] += min(base, left)
        left -= min(base, left)
    weights = sum(weight for _, _, weight in strategy)
    for provider, _, weight in strategy:
        if weights:
            placed[provider] += left * weight / weights
    return placed.get("FARGATE_SPOT", 0.0)


def _last_segment(arn: str) -> str:
    """``arn:...:cluster/name`` -> ``name``; ``arn:...:task-definition/family:3`` -> ``family``."""
    return arn.rsplit("/", 1)[-1].split(":", 1)[0]


def _cron_clock(cron: str) -> float:
    """The hour of day (``cron(M H ...)``) an Application Auto Scaling action fires at."""
    minute, hour = cron.removeprefix("cron(").split()[:2]
    return int(hour) + int(minute) / 60


def _cron_days(cron: str) -> int:
    """How many days a ``cron(M H d1,d2,... MM ? YYYY)`` start names (components/schedule.py)."""
    return len(cron.removeprefix("cron(").split()[2].split(","))


def _periods(run: Run, resource_id: str, desired: int) -> tuple[tuple[float, int], ...]:
    """Hours and task floor by period, from the service's scheduled actions.

    A ``start-*`` action (one per month, naming its open days) raises the floor to the day's, the
    daily ``stop`` lowers it to the night's until the next start: day hours are the start-to-stop
    window on each open day, the rest of the month is night. Without actions the scalable
    target's floor holds all month; without a target, the service's desired count.
    """
    actions = [a for a in run.of_type(SCHEDULED_ACTION) if a.get("resourceId") == resource_id]
    starts = [a for a in actions if "-start-" in str(a.get("name"))]
    stops = [a for a in actions if str(a.get("name")).endswith("-stop")]
    targets = [t for t in run.of_type(SCALABLE_TARGET) if t.get("resourceId") == resource_id]
    floor = int(targets[0].get("minCapacity")) if targets else desired
    if not (starts and stops):
        return ((HOURS_PER_MONTH, floor),)
    day_floor = int(starts[0]["scalableTargetAction"]["minCapacity"])
    night_floor = int(stops[0]["scalableTargetAction"]["minCapacity"])
    window = (_cron_clock(str(stops[0]["schedule"])) - _cron_clock(str(starts[0]["schedule"]))) % 24
    days = round(sum(_cron_days(str(a["schedule"])) for a in starts) / len(starts), 1)
    day_hours = round(window * days, 1)
    return ((day_hours, day_floor), (HOURS_PER_MONTH - day_hours, night_floor))


def _strategy(run: Run, service: Captured, cluster: str) -> tuple[tuple[str, int, float], ...]:
    """The service's capacity provider strategy, else its cluster's default, else plain Fargate."""
    items = service.get("capacityProviderStrategies") or []
    if not items and not service.get("launchType"):
        defaults = [
            c
            for c in run.of_type("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
            if c.get("clusterName") == cluster
        ]
        items = (defaults[0].get("defaultCapacityProviderStrategies") or []) if defaults else []
    if not items:
        return (("FARGATE", 0, 1.0),)
    return tuple(
        (str(i["capacityProvider"]), int(i.get("base") or 0), float(i.get("weight") or 0)) for i in items
    )


def service_usage(run: Run) -> list[ServiceUsage]:
    """Every ECS service the run registered, with what its task definition and scaling say."""
    families = {str(t.get("family")): t for t in run.of_type(TASK_DEFINITION)}
    prefix = f"{PROJECT}-{run.stack}-"
    usages = []
    for service in run.of_type(SERVICE):
        name = str(service.get("name"))
        cluster = _last_segment(str(service.get("cluster")))
        task = families[_last_segment(str(service.get("taskDefinition")))]
        platform = task.get("runtimePlatform") or {}
        network = service.get("networkConfiguration") or {}
        usages.append(
            ServiceUsage(
                name=name.removeprefix(prefix),
                cluster=cluster,
                vcpu=int(task.get("cpu")) / 1024,
                gb=int(task.get("memory")) / 1024,
                # ECS's default when runtimePlatform is unset
                # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RuntimePlatform.html).
                architecture=str(platform.get("cpuArchitecture") or "X86_64"),
                periods=_periods(run, f"service/{cluster}/{name}", int(service.get("desiredCount") or 0)),
                strategy=_strategy(run, service, cluster),
                public_ip=bool(network.get("assignPublicIp")),
            )
        )
    return usages


def fargate_line(usage: ServiceUsage) -> CostLine:
    """Task-hours at the task size's rate; the share ECS places on Spot above the base at Spot's."""
    p = PRICES
    rate = (
        usage.vcpu * p["fargate_vcpu_hour"][usage.architecture]
        + usage.gb * p["fargate_gb_hour"][usage.architecture]
    )
    spot_hours = usage.spot_task_hours()
    on_demand_hours = usage.task_hours - spot_hours
    periods = " + ".join(f"{tasks} x {hours:g} h" for hours, tasks in usage.periods)
    spot_note = f", {spot_hours:.0f} of them on Spot" if spot_hours else ""
    return CostLine(
        f"Fargate {usage.name}",
        on_demand_hours * rate + spot_hours * rate * (1 - p["fargate_spot_discount"]),
        f"{usage.task_hours:.0f} task-hours x {usage.vcpu:g} vCPU / {usage.gb:g} GB {usage.architecture} "
        f"({periods}){spot_note}",
    )


def _container_insights(run: Run) -> set[str]:
    """Clusters whose containerInsights setting is on (``enabled`` or ``enhanced``)."""
    return {
        str(c.get("name"))
        for c in run.of_type("aws:ecs/cluster:Cluster")
        for s in c.get("settings") or []
        if s.get("name") == "containerInsights" and s.get("value") != "disabled"
    }


def _aws_lines(run: Run, settings: Settings) -> Iterable[CostLine]:
    p = PRICES
    traffic = TRAFFIC[settings.topology]
    db_hours = database_hours(settings)
    services = service_usage(run)

    nat_gateways = _count(run, "aws:ec2/natGateway:NatGateway")
    if nat_gateways:
        yield CostLine(
            "NAT gateways",
            nat_gateways * HOURS_PER_MONTH * p["nat_gateway_hour"] + traffic["nat_gb"] * p["nat_gateway_gb"],
            f"{nat_gateways} x 730 h x ${p['nat_gateway_hour']} + {traffic['nat_gb']} GB processed",
        )
    nat_instances = [r for r in run.of_type("aws:ec2/instance:Instance") if "-nat-" in r.name]
    if nat_instances:
        kind = str(nat_instances[0].get("instanceType"))
        per = HOURS_PER_MONTH * p["ec2_hour"][kind] + 8 * p["ebs_gp3_gb_month"]
        yield CostLine(
            "NAT instances (fck-nat)",
            len(nat_instances) * per,
            f"{len(nat_instances)} x {kind} 730 h + 8 GB gp3",
        )
    eips = _count(run, "aws:ec2/eip:Eip")
    albs = run.of_type("aws:lb/loadBalancer:LoadBalancer")
    public_albs = [a for a in albs if not a.get("internal")]
    alb_ips = len(public_albs) * settings.network.az_count
    # A task given a public IP holds its address for as long as it runs.
    task_ip_hours = sum(s.task_hours for s in services if s.public_ip)
    ipv4_hours = (eips + alb_ips) * HOURS_PER_MONTH + task_ip_hours
    if ipv4_hours:
        yield CostLine(
            "Public IPv4 addresses",
            ipv4_hours * p["public_ipv4_hour"],
            f"{eips} Elastic IPs + {alb_ips} ALB addresses 730 h, {task_ip_hours:.0f} task address-hours",
        )
    interface_endpoints = [
        r for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if r.get("vpcEndpointType") == "Interface"
    ]
    # An endpoint to a partner's service (vpce-svc-...) is Atlas' PrivateLink; the rest are AWS services.
    for label, endpoints in (
        (
            "Interface VPC endpoints",
            [e for e in interface_endpoints if "vpce-svc" not in str(e.get("serviceName"))],
        ),
        (
            "Atlas PrivateLink endpoint",
            [e for e in interface_endpoints if "vpce-svc" in str(e.get("serviceName"))],
        ),
    ):
        if endpoints:
            eni_count = sum(len(r.get("subnetIds") or []) for r in endpoints)
            yield CostLine(
                label,
                eni_count * HOURS_PER_MONTH * p["interface_endpoint_hour"],
                f"{len(endpoints)} endpoints in {eni_count // len(endpoints)} AZs x 730 h",
            )
    if _count(run, "mongodbatlas:index/networkPeering:NetworkPeering"):
        # Shown so the saving against PrivateLink is visible: no hourly fee, and only traffic
        # between AZs is billed ($0.01/GB each way), cents at this stack's MongoDB volume.
        yield CostLine("Atlas VPC peering", 0.0, "no hourly fee; cross-AZ data only")
    if albs:
        yield CostLine(
            "Application Load Balancer",
            len(albs) * HOURS_PER_MONTH * (p["alb_hour"] + traffic["lcu"] * p["alb_lcu_hour"]),
            f"{len(albs)} x 730 h + {traffic['lcu']} LCU",
        )
    for usage in services:
        yield fargate_line(usage)
    insights = [s.name for s in services if s.cluster in _container_insights(run)]
    if insights:
        yield CostLine(
            "Container Insights",
            len(insights) * p["container_insights_month"],
            f"{len(insights)} x ${p['container_insights_month']}: task metrics of {', '.join(insights)}",
        )
    for db in run.of_type("aws:rds/instance:Instance"):
        klass = str(db.get("instanceClass"))
        storage = int(db.get("allocatedStorage") or 20)
        multiplier = 2 if db.get("multiAz") else 1
        yield CostLine(
            f"RDS PostgreSQL {klass}",
            multiplier * db_hours * p["rds_instance_hour"].get(klass, 0.1)
            + storage * p["rds_gp3_gb_month"] * multiplier,
            f"{db_hours} h{' x2 (Multi-AZ)' if multiplier == 2 else ''} + {storage} GB gp3",
        )
    aurora_instances = _count(run, "aws:rds/clusterInstance:ClusterInstance")
    if aurora_instances:
        acu = settings.database.min_capacity
        yield CostLine(
            "Aurora Serverless v2",
            aurora_instances * acu * db_hours * p["aurora_acu_hour"]
            + 10 * p["aurora_storage_gb_month"]
            + 5 * p["aurora_io_million"],
            f"{aurora_instances} instances x {acu} ACU (idle floor) x {db_hours} h + 10 GB + 5 M I/O",
        )
    keys = _count(run, "aws:kms/key:Key")
    if keys:
        yield CostLine("KMS keys", keys * p["kms_key_month"], f"{keys} customer-managed keys")
    yield CostLine(
        "CloudWatch Logs",
        traffic["logs_gb"] * (p["logs_ingest_gb"] + p["logs_store_gb_month"]),
        f"{traffic['logs_gb']} GB ingested and stored",
    )
    alarms = _count(run, "aws:cloudwatch/metricAlarm:MetricAlarm")
    if alarms:
        billed = max(alarms - p["free_alarms"], 0)
        yield CostLine("CloudWatch alarms", billed * p["alarm_month"], f"{alarms} standard alarms, 10 free")
    dashboards = _count(run, "aws:cloudwatch/dashboard:Dashboard")
    if dashboards:
        billed = max(dashboards - p["free_dashboards"], 0)
        yield CostLine(
            "CloudWatch dashboard", billed * p["dashboard_month"], f"{dashboards} dashboards, 3 free"
        )
    if _count(run, "aws:cloudfront/distribution:Distribution"):
        yield CostLine(
            "CloudFront",
            traffic["egress_gb"] * p["cloudfront_gb_japan"]
            + traffic["requests_million"] * 100 * p["cloudfront_https_10k"],
            f"{traffic['egress_gb']} GB to Japan + {traffic['requests_million']} M HTTPS requests",
        )
    for acl in run.of_type("aws:wafv2/webAcl:WebAcl"):
        rules = len(acl.get("rules") or [])
        yield CostLine(
            "WAF web ACL",
            p["waf_acl_month"]
            + rules * p["waf_rule_month"]
            + traffic["requests_million"] * p["waf_million_requests"],
            f"1 ACL + {rules} rules + {traffic['requests_million']} M requests",
        )
    if settings.dns.domain:
        yield CostLine("Route 53 hosted zone", p["route53_zone_month"], "the existing zone of the domain")
    if _count(run, "aws:ecr/repository:Repository"):
        yield CostLine("ECR storage", 5 * p["ecr_gb_month"], "5 GB of images")
    if settings.datadog.enabled:
        tasks = sum(s.peak_floor for s in services)
        yield CostLine(
            "Datadog (vendor)",
            tasks * (p["datadog_task_month"] + p["datadog_apm_task_month"])
            + (15.0 if settings.datadog.aws_integration else 0.0),
            f"{tasks} Fargate tasks infrastructure + APM"
            + (", AWS integration custom metrics allowance" if settings.datadog.aws_integration else ""),
        )
    if settings.datadog.logs and _count(run, "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"):
        yield log_shipping_line(settings)


def _atlas_lines(settings: Settings) -> Iterable[CostLine]:
    if not settings.atlas.enabled:
        return
    tier = settings.atlas.tier
    yield CostLine(
        f"MongoDB Atlas {tier} (vendor)",
        PRICES["atlas_month"].get(tier, 0.0),
        f"list price, AWS {settings.atlas.region}",
    )


def _sentry_lines(settings: Settings) -> Iterable[CostLine]:
    if settings.sentry.enabled:
        plan = "team" if settings.topology == "commercial" else "free"
        yield CostLine(f"Sentry ({plan} plan, vendor)", PRICES["sentry_month"][plan], "per organisation")


def _managed_lines(settings: Settings) -> Iterable[CostLine]:
    # platform:vercel.enabled false: the web is the commercial stack's, and so is its cost.
    if settings.vercel.enabled:
        yield CostLine(
            f"Vercel {settings.vercel.plan} (vendor)",
            PRICES["vercel_month"][settings.vercel.plan],
            "one seat",
        )
    render = settings.render
    yield CostLine(
        f"Render {render.plan} (vendor)",
        render.min_instances * PRICES["render_month"].get(render.plan, 0.0),
        f"{render.min_instances} instance(s) at the floor; scaling out adds per instance",
    )
    if render.max_instances > render.min_instances:
        yield CostLine(
            "Render Professional workspace (vendor)",
            PRICES["render_professional_workspace_month"],
            "one member; autoscaling needs this workspace plan",
        )
    yield CostLine(
        f"Supabase {settings.supabase.plan} (vendor)",
        PRICES["supabase_month"][settings.supabase.plan],
        "organisation plan",
    )


def _backup_lines(settings: Settings) -> Iterable[CostLine]:
    backup = settings.backup
    if not backup.enabled:
        return
    runs = 30  # the default daily schedule
    minutes = runs * BACKUP_RUN_MINUTES * PRICES["render_cron_minute"].get(backup.plan, 0.0)
    yield CostLine(
        f"Render cron job {backup.plan} (vendor)",
        max(PRICES["render_cron_minimum_month"], minutes),
        f"backups: {runs} runs of ~{BACKUP_RUN_MINUTES} min; $1 minimum per cron job",
    )
    kept_gb = (backup.retention_days + 2) * BACKUP_ARCHIVE_GB
    yield CostLine(
        "S3 backup bucket",
        kept_gb * PRICES["s3_standard_gb_month"],
        f"~{kept_gb:.1f} GB kept ({backup.retention_days} days locked + 2, {BACKUP_ARCHIVE_GB} GB a day)",
    )


def nat_comparison(settings: Settings) -> tuple[str, ...]:
    """What each way out of the private subnets would cost at this stack's assumed traffic."""
    p = PRICES
    azs = settings.network.az_count
    gb = TRAFFIC[settings.topology]["nat_gb"]
    nat = HOURS_PER_MONTH * (p["nat_gateway_hour"] + p["public_ipv4_hour"])
    instance = (
        HOURS_PER_MONTH * (p["ec2_hour"][settings.network.nat_instance_type] + p["public_ipv4_hour"])
        + 8 * p["ebs_gp3_gb_month"]
    )
    endpoints = 6 * azs * HOURS_PER_MONTH * p["interface_endpoint_hour"]
    break_even = endpoints / (p["nat_gateway_gb"] - p["interface_endpoint_gb"])
    return (
        f"NAT gateway per AZ: ${azs * nat + gb * p['nat_gateway_gb']:.2f}",
        f"single NAT gateway (egress lost if its AZ fails): ${nat + gb * p['nat_gateway_gb']:.2f}",
        f"NAT instance per AZ ({settings.network.nat_instance_type}): ${azs * instance:.2f}",
        f"6 interface endpoints in {azs} AZs: +${endpoints:.2f}; they repay NAT gateway data charges only "
        f"above {break_even:,.0f} GB/month (assumed here: {gb} GB)",
    )


def estimate(run: Run, settings: Settings) -> Estimate:
    lines: list[CostLine] = []
    if settings.on_aws:
        lines += _aws_lines(run, settings)
    else:
        lines += _managed_lines(settings)
        lines += _backup_lines(settings)
    lines += _atlas_lines(settings)
    lines += _sentry_lines(settings)
    rounded = tuple(CostLine(line.item, round(line.monthly_usd, 2), line.basis) for line in lines)
    comparisons = nat_comparison(settings) if settings.on_aws else ()
    return Estimate(rounded, settings.monitoring.monthly_budget_usd, comparisons)
