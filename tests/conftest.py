"""Shared fixtures: each committed stack is run once under the recording mocks per session."""

from __future__ import annotations

import functools

import pytest

from tools.harness import Run, run_stack, stack_names


@functools.cache
def committed_run(stack: str) -> Run:
    """The run of a committed stack file, shared by every test that only reads it."""
    return run_stack(stack)


@pytest.fixture(params=stack_names())
def any_stack_run(request: pytest.FixtureRequest) -> Run:
    return committed_run(request.param)
