"""The three topologies: which components each stack builds, and how they are wired."""

from __future__ import annotations

import pulumi

from components.settings import Settings


def build(settings: Settings) -> None:
    """Register the resources of ``settings.topology`` and export what an operator needs."""
    pulumi.export("topology", settings.topology)
