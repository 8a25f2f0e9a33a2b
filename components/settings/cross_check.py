"""The row type of the cross-checks table (components/settings/checks.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from components.settings.fields import TOPOLOGIES
from components.settings.root import Settings

COMMERCIAL = ("commercial",)
PRE_COMMERCIAL = ("pre-commercial",)


@dataclass(frozen=True)
class CrossCheck:
    """One rule over the validated settings: where ``refuses`` holds, ``key`` is reported with
    ``message``."""

    key: str
    """The key as written in the stack file (``platform:<section>.<key>``, ``aws:region``), or
    ``stack`` for the stack's name; a ``<...>`` part stands for each item of ``each``."""
    checks: str
    """The rule in a phrase, what the settings must hold (the README lists it)."""
    refuses: Callable[..., bool]
    """``refuses(settings)``; with ``each``, ``refuses(settings, item)`` for every item."""
    message: str | Callable[..., str]
    """What is wrong and what is allowed: a ``str.format`` template of ``s`` (the settings) and
    ``item``, or a function called as ``refuses`` is."""
    topologies: tuple[str, ...] = TOPOLOGIES
    each: Callable[[Settings], Iterable[str]] | None = None
    """The items (host names, keys) a row checks one by one, each reported under its own key."""

    def problems(self, settings: Settings) -> list[str]:
        if settings.topology not in self.topologies:
            return []
        if self.each is None:
            return [f"{self.key}: {self._message(settings)}"] if self.refuses(settings) else []
        return [
            f"{re.sub(r'<[^>]+>', item, self.key)}: {self._message(settings, item)}"
            for item in self.each(settings)
            if self.refuses(settings, item)
        ]

    def _message(self, settings: Settings, *item: str) -> str:
        if isinstance(self.message, str):
            return self.message.format(s=settings, item=item[0] if item else None)
        return self.message(settings, *item)
