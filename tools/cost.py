"""Monthly cost estimate of a stack, from what the program registered and its settings.

Prices are public on-demand list prices in USD for ap-northeast-1 (Tokyo) and the vendors'
published plans, as the team last checked them (see ``PRICES``); traffic is an assumption per
topology (``TRAFFIC``). The estimate is a planning figure to compare choices and catch budget
drift in review, not a bill: confirm with the AWS Pricing Calculator before committing money.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from components.schedule import horizon, local_now, open_days
from components.settings import DATABASE_STOP_DELAY_MINUTES, ScheduleSettings, Settings
from tools.harness import Run

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
# API's container logs and the database's, of the CloudWatch volume above; the share of the API's
# lines its filter pattern (warnings and errors) lets through; the average size of an event.
LOG_SHIPPING = {
    "staging": {"api_gb": 1.5, "database_gb": 0.1, "api_share": 0.05, "event_bytes": 400},
    "commercial": {"api_gb": 5.0, "database_gb": 0.2, "api_share": 0.05, "event_bytes": 400},
}


def log_shipping_line(settings: Settings) -> CostLine:
    """Firehose ingestion plus Datadog's ingestion and indexing of what the filters let through,
    and the Secrets Manager secret Firehose reads the key from.
    The S3 backup holds only failed deliveries (cents); subscription filters cost nothing."""
    p, volume = PRICES, LOG_SHIPPING[settings.topology]
    share = 1.0 if settings.datadog.api_logs_filter_pattern == "" else volume["api_share"]
    gb = volume["api_gb"] * share + volume["database_gb"]
    events_million = gb * 1e9 / volume["event_bytes"] / 1e6
    return CostLine(
        "Datadog logs via Firehose",
        gb * (p["firehose_ingest_gb"] + p["datadog_logs_ingest_gb"])
        + events_million * p["datadog_logs_index_million"]
        + p["secretsmanager_secret_month"],
        f"the API key's secret ${p['secretsmanager_secret_month']} + {gb:.2f} GB ({share:.0%} of {volume['api_gb']} GB API + {volume['database_gb']} GB database): "
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


def _aws_lines(run: Run, settings: Settings) -> Iterable[CostLine]:
    p = PRICES
    traffic = TRAFFIC[settings.topology]
    hours = service_hours(settings)
    db_hours = database_hours(settings)
    compute = settings.compute

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
    task_ips = compute.min_count if settings.network.nat == "none" else 0
    ipv4_hours = (eips + alb_ips) * HOURS_PER_MONTH + task_ips * hours
    if ipv4_hours:
        yield CostLine(
            "Public IPv4 addresses",
            ipv4_hours * p["public_ipv4_hour"],
            f"{eips} Elastic IPs + {alb_ips} ALB addresses 730 h, {task_ips} task addresses {hours} h",
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
    if _count(run, "aws:ecs/service:Service"):
        vcpu, gb = compute.cpu / 1024, compute.memory / 1024
        rate = (
            vcpu * p["fargate_vcpu_hour"][compute.architecture]
            + gb * p["fargate_gb_hour"][compute.architecture]
        )
        task_hours = compute.min_count * hours
        if settings.schedule.enabled and settings.schedule.mode == "scale-down":
            working = service_hours(
                settings.model_copy(
                    update={"schedule": settings.schedule.model_copy(update={"mode": "stop"})}
                )
            )
            task_hours = compute.min_count * working + settings.schedule.off_hours_min_count * (
                HOURS_PER_MONTH - working
            )
        spot_note = ""
        if compute.spot:
            on_demand = min(compute.on_demand_base, compute.min_count)
            spot_share = (compute.min_count - on_demand) / max(compute.min_count, 1)
            rate *= 1 - spot_share * p["fargate_spot_discount"]
            spot_note = f", {on_demand} on-demand base and the rest on Spot"
        yield CostLine(
            "ECS Fargate tasks",
            task_hours * rate,
            f"{task_hours:.0f} task-hours x {vcpu} vCPU / {gb} GB {compute.architecture}{spot_note}",
        )
        if compute.container_insights:
            yield CostLine("Container Insights", p["container_insights_month"], "one service's task metrics")
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
        tasks = compute.min_count
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
