"""Cut-over: the records of api.<domain> in each phase, every move between phases under Pulumi's
order of operations and Route 53's rules, and the phase guard read from the zone."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pytest

from components.cutover import CutoverArgs, CutoverRecords, HostArgs, deployed_phase
from components.settings import (
    CUTOVER_PHASES,
    CutoverHost,
    CutoverSettings,
    SettingsError,
    cutover_transition_problems,
)
from tools.harness import Run, last_run, run_stack

CONFIG = {"aws:region": "ap-northeast-1", "platform:topology": "commercial"}
ZONE_ID = "Z0123456789ABCDEFGHIJ"
RECORD_NAME = "api.example.com"
DISTRIBUTION = "d111111abcdef8.cloudfront.net"
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"
LEGACY = "platform-api.onrender.com"
HEALTH_PATH = "/healthz"  # not the default, so a hard-coded path cannot pass
TTL = 120  # not the default 60

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"


def _settings(phase: str, **fields) -> CutoverSettings:
    return CutoverSettings(phase=phase, **fields)


def _run(phase: str, weight: int | None = None, *, health: str | None = HEALTH_PATH, **fields) -> Run:
    legacy = CutoverHost(legacy_host=LEGACY, aws_weight=weight) if phase == "canary" else None
    args = CutoverArgs(
        settings=_settings(phase, **fields),
        zone_id=ZONE_ID,
        hosts={"api": HostArgs(record_name=RECORD_NAME, legacy=legacy, legacy_health_check_path=health)},
        distribution_domain_name=DISTRIBUTION,
        distribution_zone_id=CLOUDFRONT_ZONE,
    )
    return run_stack("commercial", config=CONFIG, program=lambda: CutoverRecords("cutover", args))


def _named(run: Run) -> dict[str, dict]:
    """The records of the public name by set identifier (``-`` for a simple record) and type."""
    return {
        f"{r.get('setIdentifier') or '-'}/{r['type']}": r.plain_inputs
        for r in run.of_type(RECORD)
        if r["name"] == RECORD_NAME
    }


def _weight(record: dict) -> int:
    [policy] = record["weightedRoutingPolicies"]
    return policy["weight"]


# -- the records of each phase ------------------------------------------------------------------


def test_off_serves_the_name_from_one_weighted_cname_to_cloudfront() -> None:
    records = _named(_run("off", ttl_seconds=TTL))
    assert set(records) == {"aws/CNAME"}
    aws = records["aws/CNAME"]
    assert aws["records"] == [DISTRIBUTION] and aws["ttl"] == TTL and aws["zoneId"] == ZONE_ID
    # One weighted record takes every answer; enabling the canary then only adds its sibling.
    assert _weight(aws) == 100
    assert aws["allowOverwrite"] is False  # CREATE: never take over a record someone else manages


@pytest.mark.parametrize("aws_weight", [0, 5, 25, 50, 100])
def test_the_canary_splits_one_hundred_between_cloudfront_and_the_legacy_host(aws_weight: int) -> None:
    records = _named(_run("canary", aws_weight))
    assert set(records) == {"aws/CNAME", "legacy/CNAME"}
    assert _weight(records["aws/CNAME"]) == aws_weight
    assert _weight(records["legacy/CNAME"]) == 100 - aws_weight
    assert records["legacy/CNAME"]["records"] == [LEGACY]
    # Route 53 answers evenly when every weight is 0, which would send half the users to AWS at 0.
    assert _weight(records["aws/CNAME"]) + _weight(records["legacy/CNAME"]) == 100


def test_the_legacy_host_is_health_checked_over_https_and_the_check_guards_its_record() -> None:
    run = _run("canary", 25)
    check = run.one(HEALTH_CHECK)
    assert (check["type"], check["fqdn"], check["port"], check["resourcePath"]) == (
        "HTTPS",
        LEGACY,
        443,
        HEALTH_PATH,
    )
    # Render serves many names on shared addresses: without SNI the TLS handshake fails.
    assert check["enableSni"] is True
    records = _named(run)
    assert records["legacy/CNAME"]["healthCheckId"] == check.id
    # An AWS record that could look unhealthy would push users back to the host being retired.
    assert "healthCheckId" not in records["aws/CNAME"]
    assert not _run("canary", 25, health=None).of_type(HEALTH_CHECK)


def test_data_switched_leaves_cloudfront_alone_at_full_weight() -> None:
    run = _run("data-switched")
    records = _named(run)
    assert set(records) == {"aws/CNAME"} and _weight(records["aws/CNAME"]) == 100
    assert not run.of_type(HEALTH_CHECK)


def test_done_serves_free_alias_a_and_aaaa_records_to_cloudfront() -> None:
    run = _run("done")
    records = _named(run)
    assert set(records) == {"-/A", "-/AAAA"}
    for record in records.values():
        assert record["aliases"] == [
            {"name": DISTRIBUTION, "zoneId": CLOUDFRONT_ZONE, "evaluateTargetHealth": False}
        ]
        assert "ttl" not in record and "weightedRoutingPolicies" not in record


@pytest.mark.parametrize("phase", CUTOVER_PHASES)
def test_each_phase_is_recorded_in_the_zone_beside_the_name(phase: str) -> None:
    run = _run(phase, 10 if phase == "canary" else None)
    marker = run.one(RECORD, "phase")
    assert (marker["name"], marker["type"], marker["records"]) == (
        f"_cutover.{RECORD_NAME}",
        "TXT",
        [f"phase={phase}"],
    )
    # Written once the name's records are in place.
    assert {r.urn for r in run.of_type(RECORD) if r["name"] == RECORD_NAME} <= set(marker.dependencies)


def test_outputs_are_plain_weights_per_host() -> None:
    captured: dict[str, CutoverRecords] = {}

    def program() -> None:
        captured["records"] = CutoverRecords(
            "cutover",
            CutoverArgs(
                settings=_settings("canary"),
                zone_id=ZONE_ID,
                hosts={"api": HostArgs(RECORD_NAME, CutoverHost(legacy_host=LEGACY, aws_weight=5))},
                distribution_domain_name=DISTRIBUTION,
                distribution_zone_id=CLOUDFRONT_ZONE,
            ),
        )

    run_stack("commercial", config=CONFIG, program=program)
    assert captured["records"].hosts == {"api": {"record": RECORD_NAME, "awsWeight": 5, "legacyWeight": 95}}
    assert set(captured["records"].health_check_ids) == {"api"}  # the default path is checked


@pytest.mark.parametrize(
    ("phase", "host", "message"),
    [
        ("canary", HostArgs(RECORD_NAME), "legacy side exists in phase 'canary'"),
        ("off", HostArgs(RECORD_NAME, CutoverHost(legacy_host=LEGACY)), "legacy side exists"),
        ("canary", HostArgs(RECORD_NAME, CutoverHost(legacy_host=LEGACY), "health"), "start with '/'"),
    ],
)
def test_inconsistent_arguments_are_programmer_errors(phase: str, host: HostArgs, message: str) -> None:
    args = CutoverArgs(
        settings=_settings(phase),
        zone_id=ZONE_ID,
        hosts={"api": host},
        distribution_domain_name=DISTRIBUTION,
        distribution_zone_id=CLOUDFRONT_ZONE,
    )
    with pytest.raises(ValueError, match=message):
        CutoverRecords("cutover", args)


# -- every move between phases, in Pulumi's order, against Route 53's rules -------------------------
#
# Route 53 (the rules the zone model below enforces):
# - A change batch is atomic: Route 53 "either makes all or none of the changes" (API reference,
#   ChangeResourceRecordSets), and checks each change against the zone as the batch's earlier
#   changes left it (a DELETE A must come before the CREATE CNAME of the same name:
#   cookpad/roadworker#89).
# - CREATE fails for an existing set; DELETE must name an existing set exactly; UPSERT creates or
#   replaces (API reference, Change "Action").
# - A CNAME shares its name with no other record: "RRSet of type CNAME with DNS name ... is not
#   permitted as it conflicts with other records with the same DNS name" (Developer Guide,
#   "Supported DNS record types", CNAME; RFC 1034 3.6.2).
# - The records of one name and type are one simple set or weighted sets with distinct set
#   identifiers, all of that type (API reference, ResourceRecordSet "SetIdentifier" and "Type").
#
# Pulumi and the AWS provider (the order the deployment model below follows):
# - A resource whose logical name is new is created as the program registers it, after the
#   resources it depends on; resources the program no longer registers are deleted after the
#   program has finished (pulumi/pulumi pkg/resource/deploy/deployment_executor.go,
#   performPostSteps -> GenerateDeletes), in reverse dependency order. Independent steps run in
#   parallel, so any order the dependencies allow may happen.
# - A replacement creates the new record first and deletes the old one with those deletions,
#   unless delete_before_replace (pkg/resource/deploy/step_generator.go). A record is replaced
#   only when `name` or `zone_id` change (ForceNew in hashicorp/terraform-provider-aws
#   internal/service/route53/record.go); otherwise it is updated in place: UPSERT, or, when
#   `type` or `set_identifier` change, one batch DELETE old + CREATE new (resourceRecordUpdate).


class InvalidChangeBatchError(Exception):
    """Route 53's InvalidChangeBatch."""


def _key(record_set: Mapping) -> tuple[str, str, str]:
    return (record_set["name"].rstrip(".").lower(), record_set["type"], record_set.get("setIdentifier") or "")


class Zone:
    """A hosted zone that accepts or refuses change batches as Route 53 does (rules above)."""

    def __init__(self, record_sets: Mapping[tuple[str, str, str], dict] | None = None):
        self.sets: dict[tuple[str, str, str], dict] = dict(record_sets or {})

    def apply(self, changes: list[tuple[str, dict]]) -> None:
        trial = dict(self.sets)
        for action, record_set in changes:
            key = _key(record_set)
            if action == "DELETE":
                if trial.get(key) != record_set:
                    raise InvalidChangeBatchError(f"DELETE of {key}, which does not exist with these values")
                del trial[key]
                continue
            if action == "CREATE" and key in trial:
                raise InvalidChangeBatchError(f"CREATE of {key}, which exists already")
            trial[key] = record_set
            _check_name(trial, key)
        self.sets = trial

    def at(self, name: str) -> list[tuple[str, str]]:
        return sorted((t, s) for n, t, s in self.sets if n == name)


def _check_name(sets: Mapping[tuple[str, str, str], dict], key: tuple[str, str, str]) -> None:
    name, type_, set_identifier = key
    others = [k for k in sets if k[0] == name and k != key]
    if any((k[1] == "CNAME") != (type_ == "CNAME") for k in others):
        raise InvalidChangeBatchError(
            f"RRSet of type {type_} with DNS name {name}. conflicts with other records of its name"
        )
    same_type = [k for k in others if k[1] == type_]
    if same_type and (not set_identifier or any(not k[2] for k in same_type)):
        raise InvalidChangeBatchError(f"{name} {type_}: a simple set and weighted sets of one name and type")


@dataclass(frozen=True)
class Deployed:
    """A record as the state holds it: what Route 53 has, its dependencies, its options."""

    record_set: dict
    zone_id: str = ZONE_ID
    dependencies: frozenset[str] = frozenset()
    delete_before_replace: bool = False
    allow_overwrite: bool = False
    """The provider creates with UPSERT instead of CREATE (record.go, resourceRecordCreate)."""


def _record_set(inputs: Mapping) -> dict:
    """The record set Route 53 holds for a Record's inputs."""
    record_set = {
        "name": inputs["name"],
        "type": inputs["type"],
        "setIdentifier": inputs.get("setIdentifier"),
    }
    if inputs.get("weightedRoutingPolicies"):
        record_set["weight"] = int(inputs["weightedRoutingPolicies"][0]["weight"])
    if inputs.get("aliases"):
        [alias] = inputs["aliases"]
        record_set["aliasTarget"] = (alias["name"], alias["zoneId"])
    else:
        record_set.update(ttl=inputs.get("ttl"), records=tuple(sorted(inputs["records"])))
    record_set["healthCheckId"] = inputs.get("healthCheckId")
    return record_set


def _state(run: Run) -> dict[str, Deployed]:
    records = {r.urn: r for r in run.of_type(RECORD)}
    return {
        urn: Deployed(
            _record_set(r.plain_inputs),
            r["zoneId"],
            frozenset(d for d in r.dependencies if d in records),
            r.delete_before_replace,
            bool(r.plain_inputs.get("allowOverwrite")),
        )
        for urn, r in records.items()
    }


@dataclass
class Deployment:
    """The Route 53 batches of one `pulumi up` from ``old`` to ``new``: ``steps`` run while the
    program runs (each a sequence of batches, after the steps of its dependencies), ``deletes``
    after it."""

    steps: dict[str, list[list[tuple[str, dict]]]] = field(default_factory=dict)
    after: dict[str, set[str]] = field(default_factory=dict)
    deletes: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)
    delete_after: dict[str, set[str]] = field(default_factory=dict)


def _deployment(old: Mapping[str, Deployed], new: Mapping[str, Deployed]) -> Deployment:
    plan = Deployment()
    for urn, goal in new.items():
        create = [("UPSERT" if goal.allow_overwrite else "CREATE", goal.record_set)]
        before = old.get(urn)
        if before is None:
            plan.steps[urn] = [create]
        elif before.record_set == goal.record_set:
            continue
        elif (before.record_set["name"], before.zone_id) != (goal.record_set["name"], goal.zone_id):
            if goal.delete_before_replace:
                plan.steps[urn] = [[("DELETE", before.record_set)], create]
            else:
                plan.steps[urn] = [create]
                plan.deletes[f"{urn}#old"] = [("DELETE", before.record_set)]
        elif _key(before.record_set)[1:] != _key(goal.record_set)[1:]:
            plan.steps[urn] = [[("DELETE", before.record_set), ("CREATE", goal.record_set)]]
        else:
            plan.steps[urn] = [[("UPSERT", goal.record_set)]]
    for urn in plan.steps:
        plan.after[urn] = {d for d in new[urn].dependencies if d in plan.steps}
    for urn, before in old.items():
        if urn not in new:
            plan.deletes[urn] = [("DELETE", before.record_set)]
    for urn in plan.deletes:
        # Dependents go first: X depending on Y is deleted before Y.
        plan.delete_after[urn] = {d for d, s in old.items() if urn in s.dependencies and d in plan.deletes}
    return plan


def _orders(nodes: dict[str, set[str]]) -> Iterator[tuple[str, ...]]:
    """Every order of ``nodes`` in which each comes after those it must follow."""
    for order in itertools.permutations(nodes):
        position = {n: i for i, n in enumerate(order)}
        if all(position[d] < position[n] for n, ds in nodes.items() for d in ds):
            yield order


def _moments(zone: Zone, plan: Deployment) -> Iterator[Zone]:
    """Each way the deployment can run: the zone after every batch (raises InvalidChangeBatchError)."""
    for steps in _orders(plan.after):
        for deletes in _orders(plan.delete_after):
            current = Zone(zone.sets)
            batches = [b for s in steps for b in plan.steps[s]] + [plan.deletes[d] for d in deletes]
            yield current
            for batch in batches:
                current.apply(batch)
                yield current


def _assert_always_answered(zone: Zone, plan: Deployment, names: tuple[str, ...] = (RECORD_NAME,)) -> int:
    """No batch refused in any order, and each name answers an IPv4 lookup at every moment: an A
    or CNAME, never both kinds. Returns the number of moments checked."""
    seen = 0
    for moment in _moments(zone, plan):
        for name in names:
            types = {t for t, _ in moment.at(name)}
            assert types & {"A", "CNAME"}, f"no answer for {name}: {moment.at(name)}"
            assert "CNAME" not in types or types == {"CNAME"}, moment.at(name)
        seen += 1
    return seen


def _zone_of(state: Mapping[str, Deployed]) -> Zone:
    zone = Zone()
    zone.apply([("CREATE", d.record_set) for d in state.values()])
    return zone


PHASE_RUNS = {
    "off": lambda: _run("off"),
    "canary-0": lambda: _run("canary", 0),
    "canary-25": lambda: _run("canary", 25),
    "canary-100": lambda: _run("canary", 100),
    "data-switched": lambda: _run("data-switched"),
    "done": lambda: _run("done"),
}


@pytest.fixture(scope="module")
def states() -> dict[str, dict[str, Deployed]]:
    return {phase: _state(run()) for phase, run in PHASE_RUNS.items()}


MIGRATION = ["off", "canary-0", "canary-25", "canary-100", "data-switched", "done"]


@pytest.mark.parametrize(("before", "after"), list(itertools.pairwise(MIGRATION)))
def test_each_step_of_the_migration_is_one_pulumi_up_that_route_53_accepts(
    states: dict, before: str, after: str
) -> None:
    plan = _deployment(states[before], states[after])
    assert _assert_always_answered(_zone_of(states[before]), plan) > 1


@pytest.mark.parametrize("phase", ["off", "canary-25", "done"])
def test_a_new_stack_starts_in_any_phase_in_one_pulumi_up(states: dict, phase: str) -> None:
    plan = _deployment({}, states[phase])
    for moment in _moments(Zone(), plan):
        types = {t for t, _ in moment.at(RECORD_NAME)}
        assert "CNAME" not in types or types == {"CNAME"}


@pytest.mark.parametrize(
    ("before", "after"),
    [("off", "done"), ("data-switched", "canary-25"), ("canary-25", "off"), ("canary-100", "canary-0")],
)
def test_the_allowed_shortcut_and_the_acknowledged_steps_back_are_reachable(
    states: dict, before: str, after: str
) -> None:
    _assert_always_answered(_zone_of(states[before]), _deployment(states[before], states[after]))


@pytest.mark.parametrize(
    ("before", "after"),
    [("canary-25", "done"), ("done", "data-switched"), ("done", "canary-25"), ("done", "off")],
)
def test_the_moves_the_settings_refuse_outright_fail_in_every_order(
    states: dict, before: str, after: str
) -> None:
    plan = _deployment(states[before], states[after])
    orders = 0
    for steps in _orders(plan.after):
        for deletes in _orders(plan.delete_after):
            orders += 1
            zone = _zone_of(states[before])
            with pytest.raises(InvalidChangeBatchError):
                for batch in [b for s in steps for b in plan.steps[s]] + [plan.deletes[d] for d in deletes]:
                    zone.apply(batch)
    assert orders
    phase = {"canary-25": "canary"}.get(before, before), {"canary-25": "canary"}.get(after, after)
    # Even with the acknowledgement: the zone cannot get there.
    assert cutover_transition_problems(_settings(phase[1], rollback_from=phase[0]), phase[0])


def test_why_the_name_never_changes_record_type_while_two_records_hold_it() -> None:
    """The issue's failure: alias A/AAAA, then weighted CNAMEs created before the aliases go."""
    alias = {"aliasTarget": (DISTRIBUTION, CLOUDFRONT_ZONE), "healthCheckId": None, "setIdentifier": None}
    old = {
        "urn:edge-alias-a": Deployed({"name": RECORD_NAME, "type": "A", **alias}),
        "urn:edge-alias-aaaa": Deployed({"name": RECORD_NAME, "type": "AAAA", **alias}),
    }
    canary = _state(_run("canary", 0))
    plan = _deployment(old, canary)
    with pytest.raises(InvalidChangeBatchError, match="CNAME"):
        list(_moments(_zone_of(old), plan))


# -- the phase guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployed", "phase"),
    [
        (None, "off"),
        (None, "canary"),
        (None, "done"),
        ("off", "off"),
        ("off", "canary"),
        ("off", "done"),
        ("canary", "data-switched"),
        ("data-switched", "done"),
        ("done", "done"),
    ],
)
def test_forward_steps_pass(deployed: str | None, phase: str) -> None:
    assert cutover_transition_problems(_settings(phase), deployed) == []


@pytest.mark.parametrize(
    ("deployed", "phase", "expected"),
    [
        (
            "off",
            "data-switched",
            "'data-switched' cannot follow 'off', the phase the stack is in; next is 'canary' or 'done'",
        ),
        (
            "canary",
            "done",
            "'done' cannot follow 'canary', the phase the stack is in; next is 'data-switched'",
        ),
        (
            "canary",
            "off",
            "is a step back from 'canary', the phase the stack is in: CloudFront would take every lookup",
        ),
        (
            "data-switched",
            "canary",
            "step back from 'data-switched', the phase the stack is in: the writes made since",
        ),
        ("data-switched", "off", "step back from 'data-switched'"),
        ("done", "canary", "'canary' cannot follow 'done': its alias A/AAAA records cannot become CNAMEs"),
        ("done", "data-switched", "cannot follow 'done'"),
    ],
)
def test_skips_and_steps_back_are_refused_naming_the_key(deployed: str, phase: str, expected: str) -> None:
    [problem] = cutover_transition_problems(_settings(phase), deployed)
    assert problem.startswith("platform:cutover.phase: ") and expected in problem


def test_a_step_back_needs_the_phase_it_leaves_acknowledged_once() -> None:
    back = _settings("canary", rollback_from="data-switched")
    assert cutover_transition_problems(back, "data-switched") == []
    # A leftover acknowledgement is refused once the zone records the new phase.
    [left] = cutover_transition_problems(back, "canary")
    assert left.startswith(
        "platform:cutover.rollbackFrom: 'data-switched', but the stack is in phase 'canary'"
    )
    [wrong] = cutover_transition_problems(_settings("canary", rollback_from="done"), "data-switched")
    assert "set platform:cutover.rollbackFrom to 'data-switched'" in wrong


# -- the guard on the whole stack, from what the zone holds --------------------------------------

STACK = "prod-commercial"
CANARY = {
    "phase": "canary",
    "hosts": {
        "api": {"legacyHost": LEGACY, "awsWeight": 25},
        "web": {"legacyHost": "cname.vercel-dns-0.com", "healthCheckHost": "platform-web.vercel.app"},
    },
    "legacyDatabaseUrl": "postgresql://app:pw@pooler.example.net:5432/postgres?sslmode=require",
    "legacyMongodbUri": "mongodb+srv://app:pw@cluster.example.net/app",
}


def _listed(run: Run) -> list[dict]:
    """The zone's record sets as ListResourceRecordSets returns them: names with the trailing dot,
    TXT values in quotes (Route 53 API reference, ListResourceRecordSets; "TXT record type")."""
    listed = []
    for record in run.of_type(RECORD):
        inputs = record.plain_inputs
        values = inputs.get("records") or []
        if inputs["type"] == "TXT":
            values = [f'"{v}"' for v in values]
        listed.append(
            {
                "zoneId": inputs["zoneId"],
                "name": inputs["name"].rstrip(".") + ".",
                "type": inputs["type"],
                "resourceRecords": [{"value": v} for v in values],
            }
        )
    return listed


@pytest.fixture(scope="module")
def data_switched_zone() -> list[dict]:
    return _listed(run_stack(STACK, {"platform:cutover": {"phase": "data-switched"}}))


def test_the_phase_is_read_from_the_zone_and_a_fresh_zone_has_none(data_switched_zone: list[dict]) -> None:
    zone_id = data_switched_zone[0]["zoneId"]
    phase = {}

    def program() -> None:
        phase["read"] = deployed_phase(zone_id, [RECORD_NAME])

    run_stack(STACK, program=program, zone_records=data_switched_zone)
    assert phase["read"] == "data-switched"
    run_stack(STACK, program=program)
    assert phase["read"] is None


def test_stepping_back_after_the_data_switch_stops_before_anything_is_registered(
    data_switched_zone: list[dict],
) -> None:
    with pytest.raises(SettingsError) as error:
        run_stack(STACK, {"platform:cutover": CANARY}, zone_records=data_switched_zone)
    [problem] = error.value.problems
    assert problem.startswith("platform:cutover.phase: 'canary' is a step back from 'data-switched'")
    assert last_run().resources == []
    acknowledged = {**CANARY, "rollbackFrom": "data-switched"}
    run = run_stack(STACK, {"platform:cutover": acknowledged}, zone_records=data_switched_zone)
    cutover = run.output("cutover")
    assert cutover["phase"] == "canary"
    assert cutover["hosts"]["api"] == {"record": RECORD_NAME, "awsWeight": 25, "legacyWeight": 75}


def test_the_whole_commercial_stack_moves_through_the_phases_in_single_ups() -> None:
    """The same check on the committed stack's wiring: the Edge adds no record of the name."""
    phases = [{"phase": "off"}, CANARY, {"phase": "data-switched"}, {"phase": "done"}]
    states = [_state(run_stack(STACK, {"platform:cutover": phase})) for phase in phases]
    for before, after in itertools.pairwise(states):
        assert _assert_always_answered(_zone_of(before), _deployment(before, after)) > 1


# -- two names: the API's from Render, the web's from Vercel ---------------------------------------

WEB_NAME = "www.example.com"
WEB_LEGACY = "cname.vercel-dns-0.com"  # Vercel's CNAME target for a subdomain (vercel.com/docs/domains/set-up-custom-domain)
WEB_PROBE = "platform-web.vercel.app"
WEB_HEALTH = "/api/health"
BOTH = (RECORD_NAME, WEB_NAME)


def _run_both(phase: str, api_weight: int = 0, web_weight: int = 0) -> Run:
    canary = phase == "canary"
    api = CutoverHost(legacy_host=LEGACY, aws_weight=api_weight) if canary else None
    web = (
        CutoverHost(legacy_host=WEB_LEGACY, aws_weight=web_weight, health_check_host=WEB_PROBE)
        if canary
        else None
    )
    args = CutoverArgs(
        settings=_settings(phase),
        zone_id=ZONE_ID,
        hosts={"api": HostArgs(RECORD_NAME, api, HEALTH_PATH), "web": HostArgs(WEB_NAME, web, WEB_HEALTH)},
        distribution_domain_name=DISTRIBUTION,
        distribution_zone_id=CLOUDFRONT_ZONE,
    )
    return run_stack("commercial", config=CONFIG, program=lambda: CutoverRecords("cutover", args))


def _records_of(run: Run, name: str) -> dict[str, dict]:
    return {
        f"{r.get('setIdentifier') or '-'}/{r['type']}": r.plain_inputs
        for r in run.of_type(RECORD)
        if r["name"] == name
    }


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("off", {"aws/CNAME"}),
        ("canary", {"aws/CNAME", "legacy/CNAME"}),
        ("data-switched", {"aws/CNAME"}),
        ("done", {"-/A", "-/AAAA"}),
    ],
)
def test_both_names_have_their_own_records_and_phase_marker_in_every_phase(phase: str, expected: set) -> None:
    run = _run_both(phase, 10, 50)
    for name in BOTH:
        assert set(_records_of(run, name)) == expected, name
        [marker] = [r for r in run.of_type(RECORD) if r["name"] == f"_cutover.{name}"]
        assert (marker["type"], marker["records"]) == ("TXT", [f"phase={phase}"])
        assert {r.urn for r in run.of_type(RECORD) if r["name"] == name} <= set(marker.dependencies)
    # Nothing else: two names' records, two markers.
    assert {r["name"] for r in run.of_type(RECORD)} == {*BOTH, *(f"_cutover.{n}" for n in BOTH)}


def test_one_name_at_ten_percent_while_the_other_is_at_fifty() -> None:
    run = _run_both("canary", api_weight=10, web_weight=50)
    api, web = _records_of(run, RECORD_NAME), _records_of(run, WEB_NAME)
    assert (_weight(api["aws/CNAME"]), _weight(api["legacy/CNAME"])) == (10, 90)
    assert (_weight(web["aws/CNAME"]), _weight(web["legacy/CNAME"])) == (50, 50)
    assert api["legacy/CNAME"]["records"] == [LEGACY] and web["legacy/CNAME"]["records"] == [WEB_LEGACY]
    assert api["aws/CNAME"]["records"] == web["aws/CNAME"]["records"] == [DISTRIBUTION]


def test_each_legacy_side_has_its_own_health_check_on_its_own_path_and_name() -> None:
    run = _run_both("canary", 10, 50)
    checks = {c["fqdn"]: c for c in run.of_type(HEALTH_CHECK)}
    # The API on Render is probed by its own host; Vercel's shared CNAME target would reach no
    # project, so the web is probed by the name Vercel serves it at (healthCheckHost).
    assert set(checks) == {LEGACY, WEB_PROBE}
    assert checks[LEGACY]["resourcePath"] == HEALTH_PATH and checks[WEB_PROBE]["resourcePath"] == WEB_HEALTH
    assert all(c["type"] == "HTTPS" and c["port"] == 443 and c["enableSni"] for c in checks.values())
    assert _records_of(run, RECORD_NAME)["legacy/CNAME"]["healthCheckId"] == checks[LEGACY].id
    assert _records_of(run, WEB_NAME)["legacy/CNAME"]["healthCheckId"] == checks[WEB_PROBE].id


def test_the_outputs_hold_each_names_weights() -> None:
    captured: dict[str, CutoverRecords] = {}
    args = CutoverArgs(
        settings=_settings("canary"),
        zone_id=ZONE_ID,
        hosts={
            "api": HostArgs(RECORD_NAME, CutoverHost(legacy_host=LEGACY, aws_weight=10)),
            "web": HostArgs(
                WEB_NAME, CutoverHost(legacy_host=WEB_LEGACY, aws_weight=50, health_check_host=WEB_PROBE)
            ),
        },
        distribution_domain_name=DISTRIBUTION,
        distribution_zone_id=CLOUDFRONT_ZONE,
    )
    run_stack(
        "commercial", config=CONFIG, program=lambda: captured.setdefault("r", CutoverRecords("cutover", args))
    )
    assert captured["r"].hosts == {
        "api": {"record": RECORD_NAME, "awsWeight": 10, "legacyWeight": 90},
        "web": {"record": WEB_NAME, "awsWeight": 50, "legacyWeight": 50},
    }
    assert set(captured["r"].health_check_ids) == {"api", "web"}


def test_only_the_legacy_record_may_overwrite_a_set_of_its_own_identifier() -> None:
    for name in BOTH:
        records = _records_of(_run_both("canary", 10, 50), name)
        assert records["legacy/CNAME"]["allowOverwrite"] is True
        assert records["aws/CNAME"]["allowOverwrite"] is False


# Each name steps on its own: the API first, then the web, then both at 100 before the data window.
TWO_HOST_MIGRATION = [
    ("off", 0, 0),
    ("canary", 0, 0),
    ("canary", 10, 0),
    ("canary", 10, 50),
    ("canary", 50, 10),  # one steps forward while the other steps back
    ("canary", 100, 100),
    ("data-switched", 0, 0),
    ("done", 0, 0),
]


@pytest.fixture(scope="module")
def two_host_states() -> list[dict[str, Deployed]]:
    return [_state(_run_both(*step)) for step in TWO_HOST_MIGRATION]


def test_every_step_of_both_names_is_one_pulumi_up_that_route_53_accepts(two_host_states: list) -> None:
    for before, after in itertools.pairwise(two_host_states):
        assert _assert_always_answered(_zone_of(before), _deployment(before, after), BOTH) > 1


def _hand_made(record_set: dict) -> Zone:
    return Zone({_key(record_set): record_set})


VERCEL_PLAIN = {
    "name": WEB_NAME,
    "type": "CNAME",
    "setIdentifier": None,
    "ttl": 60,
    "records": (WEB_LEGACY,),
    "healthCheckId": None,
}


def test_the_canary_takes_over_www_from_the_hand_made_weighted_legacy_record() -> None:
    # docs/migration.md, the web's phase 1: the plain CNAME Vercel asked for becomes, in one change
    # batch, the weighted `legacy` set at 100; the canary's UPSERT then adopts it.
    zone = _hand_made(VERCEL_PLAIN)
    weighted = {**VERCEL_PLAIN, "setIdentifier": "legacy", "weight": 100}
    zone.apply([("DELETE", VERCEL_PLAIN), ("CREATE", weighted)])
    assert zone.at(WEB_NAME) == [("CNAME", "legacy")]
    plan = _deployment({}, _state(_run_both("canary", 0, 0)))
    assert _assert_always_answered(zone, plan, (WEB_NAME,)) > 1


def test_the_plain_cname_vercel_asked_for_stops_the_canary_in_every_order() -> None:
    # Why the swap above comes first: weighted sets cannot join a simple set of their name and type.
    plan = _deployment({}, _state(_run_both("canary", 0, 0)))
    orders = 0
    for steps in _orders(plan.after):
        orders += 1
        zone = _hand_made(VERCEL_PLAIN)
        with pytest.raises(InvalidChangeBatchError, match="a simple set and weighted sets"):
            for batch in [b for s in steps for b in plan.steps[s]]:
                zone.apply(batch)
    assert orders > 1
