"""Component outputs are declared once (an annotated attribute and its docstring) and published
once (components/outputs.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pulumi
import pytest

import components.topologies  # noqa: F401  (imports every component module)
from components.outputs import declared_outputs, publish
from tools.harness import ROOT_DIR, Run, run_stack

COMPONENT_SOURCES = sorted((ROOT_DIR / "components").rglob("*.py"))


class _Pair(pulumi.ComponentResource):
    left: str
    """The first."""
    right: pulumi.Output[str]
    """The second."""

    def __init__(self, name: str, published: dict[str, object]):
        super().__init__("test:outputs:Pair", name)
        publish(self, **published)


def test_publish_sets_the_attributes_and_registers_them() -> None:
    made: list[_Pair] = []
    run = run_stack(
        "test",
        config={},
        program=lambda: made.append(_Pair("pair", {"left": "a", "right": pulumi.Output.from_input("b")})),
    )
    assert made[0].left == "a"
    assert run.one("test:outputs:Pair").outputs == {"left": "a", "right": "b"}


@pytest.mark.parametrize("published", [{"left": "a"}, {"left": "a", "right": "b", "extra": "c"}])
def test_publish_refuses_other_names_than_the_class_declares(published: dict[str, object]) -> None:
    with pytest.raises(AssertionError, match="declares"):
        run_stack("test", config={}, program=lambda: _Pair("pair", published))


def _component_classes(path: Path) -> list[ast.ClassDef]:
    tree = ast.parse(path.read_text())
    return [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base) == "pulumi.ComponentResource" for base in node.bases)
    ]


@pytest.mark.parametrize("path", COMPONENT_SOURCES, ids=lambda p: str(p.relative_to(ROOT_DIR)))
def test_each_output_is_described_once_under_its_declaration(path: Path) -> None:
    for component in _component_classes(path):
        docstring = ast.get_docstring(component) or ""
        assert "Outputs:" not in docstring, f"{component.name}: outputs are described at their declarations"
        body = component.body
        for index, node in enumerate(body):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                following = body[index + 1] if index + 1 < len(body) else None
                described = (
                    isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                )
                assert described, f"{component.name}.{node.target.id} has no docstring"


def test_every_component_of_the_stacks_registers_what_it_declares(any_stack_run: Run) -> None:
    classes = {cls.__name__: cls for cls in _subclasses(pulumi.ComponentResource)}
    for resource in any_stack_run.resources:
        if resource.custom or not resource.type.startswith("platform:"):
            continue
        declared = declared_outputs(classes[resource.type.rsplit(":", 1)[1]])
        # An output that is None is not serialized, so some declared names may be absent.
        assert set(resource.outputs) <= declared, resource.type
        assert resource.outputs or not declared, f"{resource.type} registered no outputs"


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]
