"""Reading resource inputs as the engine carries them, for the checks in ``checks.py``.

Inputs have camelCase keys, JSON documents (IAM policies, container definitions) as strings, and a
list input may arrive as a single object; these helpers turn them into plain Python values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Env-var and parameter names that hold credentials. Names are split on "_", "-", "/" and "."
# and matched word by word, so API_KEY and DD_API_KEY match but MONKEY or KEYBOARD_LAYOUT do not.
SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "DSN", "CREDENTIALS", "PRIVATE"})
SECRET_NAMES = frozenset({"DATABASE_URL", "MONGODB_URI", "MONGO_URL", "REDIS_URL", "CONNECTION_STRING"})
# Next.js inlines NEXT_PUBLIC_* into the browser bundle: such values are public by construction.
PUBLIC_PREFIXES = ("NEXT_PUBLIC_",)
WORLD = ("0.0.0.0/0", "::/0")


def looks_secret(name: str) -> bool:
    """Whether an env-var or parameter name suggests it holds a credential."""
    upper = name.upper()
    if upper.startswith(PUBLIC_PREFIXES):
        return False
    last = re.split(r"/", upper)[-1]
    if last in SECRET_NAMES:
        return True
    return bool(SECRET_WORDS & set(re.split(r"[_\-./]", last)))


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _items(value: Any) -> list[Any]:
    """A list input as a list (absent -> empty; a single object -> one item)."""
    if value is None:
        return []
    return list(value) if _is_list(value) else [value]


def _json(value: Any) -> Any:
    """A JSON document input (the engine carries IAM policies and task definitions as strings)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _statements(document: Any) -> list[Mapping[str, Any]]:
    parsed = _json(document)
    if not isinstance(parsed, Mapping):
        return []
    return [s for s in _items(parsed.get("Statement")) if isinstance(s, Mapping)]


def _port_range(from_port: Any, to_port: Any, protocol: Any) -> tuple[int, int]:
    if str(protocol).lower() in ("-1", "all"):
        return 0, 65535
    low = int(from_port) if from_port is not None else 0
    high = int(to_port) if to_port is not None else low
    return low, high


def _is_world(cidr: str) -> bool:
    return cidr in WORLD or cidr == "0.0.0.0"


@dataclass(frozen=True)
class _Ingress:
    cidrs: tuple[str, ...]
    low: int
    high: int


def _ingresses(resource_type: str, props: Mapping[str, Any]) -> Iterator[_Ingress]:
    """Every CIDR-sourced ingress permission a security-group resource grants."""
    if resource_type == "aws:ec2/securityGroup:SecurityGroup":
        for rule in _items(props.get("ingress")):
            cidrs = (*_items(rule.get("cidrBlocks")), *_items(rule.get("ipv6CidrBlocks")))
            yield _Ingress(
                tuple(cidrs), *_port_range(rule.get("fromPort"), rule.get("toPort"), rule.get("protocol"))
            )
    elif resource_type == "aws:ec2/securityGroupRule:SecurityGroupRule":
        if props.get("type") == "ingress":
            cidrs = (*_items(props.get("cidrBlocks")), *_items(props.get("ipv6CidrBlocks")))
            yield _Ingress(
                tuple(cidrs), *_port_range(props.get("fromPort"), props.get("toPort"), props.get("protocol"))
            )
    elif resource_type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        cidrs = tuple(c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c)
        yield _Ingress(
            cidrs, *_port_range(props.get("fromPort"), props.get("toPort"), props.get("ipProtocol"))
        )


def _container_definitions(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    parsed = _json(props.get("containerDefinitions"))
    return [c for c in _items(parsed) if isinstance(c, Mapping)]


def is_secret_marker(value: Any) -> bool:
    """A value the program passed as a Pulumi secret (tools.mocks.Secret or pulumi_policy.Secret)."""
    return type(value).__name__ == "Secret" and hasattr(value, "value")
