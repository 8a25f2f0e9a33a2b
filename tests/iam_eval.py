"""A small evaluator of IAM policy documents, for testing what a role can and cannot do.

It implements the parts of AWS's evaluation logic the bootstrap's policies use
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny in any policy wins; otherwise a request is allowed only when an identity policy
allows it AND, for a role with a permissions boundary, the boundary allows it too
(access_policies_boundaries.html: "the effective permissions are the intersection"). Resource
policies here only deny (the state bucket's), so their Allows are not modelled.

Matching (reference_policies_elements_action.html, _resource.html, _condition_operators.html):
actions match case-insensitively with ``*``/``?`` wildcards; resources and ARN conditions match
case-sensitively with wildcards; ``NotAction``/``NotResource`` match everything not listed. A
condition key missing from the request makes a positive operator false and a negated one
(``StringNotEquals``, ``StringNotLike``, ``ArnNotEquals``, ``ArnNotLike``) true; ``...IfExists``
is true when the key is missing; ``Null: "false"`` holds when the key is present. Several
operators and keys in one Condition must all hold; several values of one key match if any does.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _wildcard(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    # IAM knows only * and ?: brackets are literal, so hide them from fnmatch's classes.
    regex = fnmatch.translate(pattern.replace("[", "\x00").replace("]", "\x01"))
    regex = regex.replace("\x00", r"\[").replace("\x01", r"\]")
    return re.match(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)
    """Condition keys of the request (``aws:ResourceTag/stack``, ``iam:PermissionsBoundary``...)."""


def _operator_holds(operator: str, key: str, expected: Any, context: Mapping[str, str]) -> bool:
    actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
    if operator == "Null":
        return (actual is None) == (str(expected).lower() == "true")
    base = operator.removesuffix("IfExists")
    if actual is None:
        return operator.endswith("IfExists") or base in NEGATED
    values = [str(v) for v in _list(expected)]
    if base in ("StringEquals", "StringNotEquals"):
        found = any(actual == v for v in values)
    elif base in ("StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        found = any(_wildcard(v, actual, case_sensitive=True) for v in values)
    elif base == "Bool":
        found = any(actual.lower() == v.lower() for v in values)
    else:
        raise NotImplementedError(f"condition operator {operator}")
    return not found if base in NEGATED else found


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        acts = any(_wildcard(a, request.action, case_sensitive=False) for a in _list(statement["Action"]))
    else:
        acts = not any(
            _wildcard(a, request.action, case_sensitive=False) for a in _list(statement["NotAction"])
        )
    if "Resource" in statement:
        on = any(_wildcard(r, request.resource, case_sensitive=True) for r in _list(statement["Resource"]))
    else:
        on = not any(
            _wildcard(r, request.resource, case_sensitive=True) for r in _list(statement["NotResource"])
        )
    conditions = statement.get("Condition", {})
    return (
        acts
        and on
        and all(
            _operator_holds(operator, key, expected, request.context)
            for operator, pairs in conditions.items()
            for key, expected in pairs.items()
        )
    )


def statements(document: str | Mapping[str, Any]) -> list[Mapping[str, Any]]:
    parsed = json.loads(document) if isinstance(document, str) else document
    return _list(parsed["Statement"])


@dataclass(frozen=True)
class Principal:
    """A role: its identity policies, its boundary (None: unbounded), the resource policies' denials."""

    policies: Sequence[str | Mapping[str, Any]]
    boundary: str | Mapping[str, Any] | None = None
    resource_policies: Sequence[str | Mapping[str, Any]] = ()

    def decide(self, request: Request) -> str:
        """``"allow"``, ``"explicit deny"`` or ``"implicit deny"``."""
        identity = [s for p in self.policies for s in statements(p)]
        boundary = statements(self.boundary) if self.boundary is not None else None
        resource = [s for p in self.resource_policies for s in statements(p)]
        everything = identity + (boundary or []) + resource
        if any(s["Effect"] == "Deny" and _applies(s, request) for s in everything):
            return "explicit deny"
        allowed = any(s["Effect"] == "Allow" and _applies(s, request) for s in identity)
        if boundary is not None:
            allowed = allowed and any(s["Effect"] == "Allow" and _applies(s, request) for s in boundary)
        return "allow" if allowed else "implicit deny"

    def allows(self, action: str, resource: str, context: Mapping[str, str] | None = None) -> bool:
        return self.decide(Request(action, resource, context or {})) == "allow"


# AWS managed policies, as published (AWS Managed Policy Reference Guide).
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/PowerUserAccess.html
POWER_USER_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": [
                "account:GetAccountInformation",
                "account:GetPrimaryEmail",
                "account:ListRegions",
                "iam:CreateServiceLinkedRole",
                "iam:DeleteServiceLinkedRole",
                "iam:ListRoles",
                "organizations:DescribeOrganization",
            ],
            "Resource": "*",
        },
    ],
}
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html
ADMINISTRATOR_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# A subset of ReadOnlyAccess (reference/ReadOnlyAccess.html lists several hundred Get/List/Describe
# actions, no kms:Decrypt and no writes); enough for the reads the preview tests make.
READ_ONLY_ACCESS_SUBSET = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "s3:Get*",
                "s3:List*",
                "ssm:Get*",
                "ssm:Describe*",
                "kms:Describe*",
                "kms:List*",
                "kms:Get*",
            ],
            "Resource": "*",
        }
    ],
}
