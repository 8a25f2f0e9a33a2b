"""A component's outputs, written once.

Each component declares its outputs as annotated class attributes, each described by the
docstring under it (the shape the components' Args dataclasses use), and ends its constructor
with ``publish(self, name=value, ...)``, which sets the attributes and registers them as the
component's outputs in one step.
"""

from __future__ import annotations

import inspect
from typing import Any

import pulumi


def declared_outputs(component_type: type[pulumi.ComponentResource]) -> set[str]:
    """The outputs a component class declares: its own annotated public attributes."""
    return {name for name in inspect.get_annotations(component_type) if not name.startswith("_")}


def publish(component: pulumi.ComponentResource, **outputs: Any) -> None:
    """Set ``outputs`` as attributes of ``component`` and register them, as the last step of its
    constructor. Publishing other names than the class declares is a programmer error."""
    declared = declared_outputs(type(component))
    if set(outputs) != declared:
        raise AssertionError(
            f"{type(component).__name__} publishes {sorted(outputs)} but declares {sorted(declared)}"
        )
    for name, value in outputs.items():
        setattr(component, name, value)
    component.register_outputs(outputs)
