"""Recording mocks: run the program with no cloud account and capture what it would build.

The mocks answer like the real providers would, with deterministic, realistic values (ids,
ARNs, endpoints, AZ lists), so that everything the program derives from outputs (policies,
connection strings, alarms' dimensions) is exercised. The monitor also records what the mock
API does not pass to ``new_resource``: parent, protect, ignoreChanges, retainOnDelete,
deleteBeforeReplace and which inputs are secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks, rpc
from pulumi.runtime.mocks import MockMonitor

from tools.mocks_aws import ACCOUNT_ID, AZS_BY_REGION, EC2_ID_PREFIXES, aws_invoke, aws_outputs
from tools.mocks_managed import managed_invoke, managed_outputs
from tools.mocks_naming import (
    AUTONAME_MAX_LENGTH,
    DEFAULT_AUTONAME_MAX_LENGTH,
    Autonaming,
    aws_autonames,
    fake_id,
)

# The names tests and tools import from here, wherever they are defined.
__all__ = [
    "ACCOUNT_ID",
    "AUTONAME_MAX_LENGTH",
    "AZS_BY_REGION",
    "DEFAULT_AUTONAME_MAX_LENGTH",
    "Autonaming",
    "Captured",
    "RecordingMocks",
    "RecordingMonitor",
    "Secret",
    "aws_autonames",
    "reveal",
]


class Secret:
    """Marks an input the program passed as a Pulumi secret."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return "[secret]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(repr(self.value))


def _mark_secrets(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return Secret(_mark_secrets(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, dict):
        return {k: _mark_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_secrets(v) for v in value]
    return value


def reveal(value: Any) -> Any:
    """The value with every secret marker removed (for assertions on the content)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


@dataclass
class Captured:
    """One registered resource, as the engine would have received it."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    parent: str = ""
    custom: bool = True
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    provider: str = ""
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    """The customTimeouts resource option as the engine receives it (create/update/delete)."""

    @property
    def plain_inputs(self) -> dict[str, Any]:
        return reveal(self.inputs)

    def __getitem__(self, key: str) -> Any:
        """The plain value of an input, e.g. ``resource["cidrBlock"]``."""
        return reveal(self.inputs[key])

    def get(self, key: str, default: Any = None) -> Any:
        return reveal(self.inputs.get(key, default))


class RecordingMocks(Mocks):
    """Answers resource registrations and invokes with realistic values."""

    def __init__(self, region: str = "ap-northeast-1", autonaming: Autonaming | None = None):
        self.region = region
        self.autonaming = autonaming or Autonaming()
        self.invokes: list[tuple[str, dict[str, Any]]] = []
        # Atlas project id -> the VPC endpoint its PrivateLinkEndpointService accepted.
        self.atlas_private_endpoints: dict[str, str] = {}
        # Atlas projects with a NetworkPeering, and those with custom DNS for AWS clusters on: only
        # a project in both lists gets privateSrv (see getAdvancedCluster in tools/mocks_managed.py).
        self.atlas_peered_projects: set[str] = set()
        self.atlas_custom_dns_projects: set[str] = set()
        # ENI id -> its source_dest_check, which an instance launched on it reads back.
        self.eni_source_dest_check: dict[str, bool] = {}
        # Allocation id -> public address, which an association of the allocation reads back.
        self.eip_public_ips: dict[str, str] = {}
        # Record sets already in the Route 53 zones (a stack deployed before), as
        # ListResourceRecordSets lists them: {"zoneId", "name" (with the trailing dot), "type",
        # "resourceRecords": [{"value"}], ...}. A fresh zone holds none of the program's names.
        self.zone_records: list[dict[str, Any]] = []
        # Customer-managed IAM policy ARNs the account holds besides the bootstrap's boundaries.
        self.iam_policies: set[str] = set()

    # -- resources -------------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        region = rpc.unwrap_rpc_secret(inputs.get("region")) or self.region
        h = fake_id(args.typ, args.name)
        typ = args.typ
        service = typ.split(":")[1].split("/")[0] if typ.count(":") >= 2 else ""
        resource_id = f"{args.name}-{h[:8]}"
        state: dict[str, Any] = {**inputs}
        # Resources with an explicit physical name keep it. An unnamed one the AWS provider
        # autonames (neither `name` nor the `namePrefix` that conflicts with it) gets the engine's
        # proposal under `pulumi:autonaming`, else the provider's default: the logical name, "-"
        # and 7 random hex digits (pulumi-terraform-bridge pkg/tfbridge/info/autonaming.go).
        if isinstance(inputs.get("name"), str):
            name = inputs["name"]
        elif isinstance(inputs.get("namePrefix"), str):
            # The AWS provider appends a 26-character unique suffix to the prefix
            # (hashicorp/terraform-plugin-sdk helper/id/id.go PrefixedUniqueId, UniqueIDSuffixLength).
            name = inputs["namePrefix"] + fake_id(typ, args.name, length=26)
            state["name"] = name
        elif aws_autonames(typ):
            proposed = self.autonaming.propose(args.name, h)
            limit = AUTONAME_MAX_LENGTH.get(typ, DEFAULT_AUTONAME_MAX_LENGTH)
            if proposed is not None and len(proposed) > limit:
                raise ValueError(f"calculated name '{proposed}' exceeds maximum length of {limit}")
            name = proposed or f"{args.name}-{h[:7]}"
            state["name"] = name
        else:
            name = f"{args.name}-{h[:7]}"
        arn_prefix = f"arn:aws:{service}:{region}:{ACCOUNT_ID}"
        if typ.startswith("aws:"):
            state.setdefault("arn", f"{arn_prefix}:{name}")
            state.setdefault("region", region)
        if typ in EC2_ID_PREFIXES:
            resource_id = f"{EC2_ID_PREFIXES[typ]}-{h}"
            state["arn"] = f"arn:aws:ec2:{region}:{ACCOUNT_ID}:{EC2_ID_PREFIXES[typ]}/{resource_id}"
        answer = aws_outputs if typ.startswith("aws:") else managed_outputs
        extra = answer(self, typ, args.name, name, inputs, region, h)
        for dropped in extra.pop("__drop", ()):  # inputs the real provider does not echo
            state.pop(dropped, None)
        state.update(extra)
        resource_id = extra.pop("__id", None) or state.pop("__id", None) or resource_id
        state.pop("__id", None)
        return resource_id, state

    # -- invokes ---------------------------------------------------------------------------

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        token = args.token
        inputs = dict(args.args)
        self.invokes.append((token, inputs))
        region = inputs.get("region") or self.region
        answer = aws_invoke if token.startswith("aws:") else managed_invoke
        return answer(self, token, inputs, region)


class RecordingMonitor(MockMonitor):
    """A mock monitor that keeps the registration details the Mocks API does not pass on."""

    def __init__(self, mocks: RecordingMocks):
        super().__init__(mocks)
        self.captured: dict[str, Captured] = {}
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        if response.urn in self.captured:
            # The engine refuses a second registration of one URN (pulumi/pulumi
            # sdk/go/common/diag/errors.go, error 2001: "Duplicate resource URN '%v'; try giving it
            # a unique name", raised by the step generator); a dict keyed by URN would keep only
            # the last one silently.
            raise ValueError(f"Duplicate resource URN '{response.urn}'; try giving it a unique name")
        inputs = _mark_secrets(rpc.deserialize_properties(request.object))
        registration = self.resources.get(response.urn)
        self.captured[response.urn] = Captured(
            urn=response.urn,
            type=request.type,
            name=request.name,
            inputs=inputs,
            outputs=dict(registration.state) if registration and registration.state else {},
            id=registration.id if registration else None,
            parent=request.parent,
            custom=request.custom,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=tuple(request.ignoreChanges),
            dependencies=tuple(request.dependencies),
            provider=request.provider,
            custom_timeouts={
                key: getattr(request.customTimeouts, key)
                for key in ("create", "update", "delete")
                if request.HasField("customTimeouts") and getattr(request.customTimeouts, key)
            },
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        outputs = _mark_secrets(rpc.deserialize_properties(request.outputs))
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.stack_outputs = outputs
        elif request.urn in self.captured:
            self.captured[request.urn].outputs.update(outputs)
        return super().RegisterResourceOutputs(request)
