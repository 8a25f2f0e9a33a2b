"""The offline preview as a user runs it: python -m tools.preview <stack> [--json F] [--mermaid F]."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import committed_run
from tools import preview
from tools.harness import stack_names


@pytest.mark.parametrize("stack", stack_names())
def test_preview_prints_the_tree_cost_and_policy_and_writes_the_graph(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph, diagram = tmp_path / "graph.json", tmp_path / "graph.mmd"
    assert preview.main([stack, "--json", str(graph), "--mermaid", str(diagram)]) == 0
    report = capsys.readouterr().out
    assert report.startswith(f"platform offline preview: stack {stack} ")
    assert "Monthly cost estimate" in report and "Policy: 0 mandatory violations" in report
    captured = json.loads(graph.read_text())
    run = committed_run(stack)
    assert len(captured["resources"]) == len(run.resources)
    assert {r["name"] for r in captured["resources"]} == {r.name for r in run.resources}
    for component in (r for r in run.resources if not r.custom):
        assert component.name in report
    assert diagram.read_text().startswith("flowchart TB")


@pytest.mark.parametrize("stack", stack_names())
def test_no_secret_value_leaves_the_preview(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = tmp_path / "graph.json"
    preview.main([stack, "--json", str(graph)])
    everything = capsys.readouterr().out + graph.read_text()
    secrets = [
        str(r.outputs["result"])
        for r in committed_run(stack).resources
        if r.type == "random:index/randomPassword:RandomPassword"
    ]
    assert secrets, "the stack generates passwords"
    for secret in secrets:
        assert secret not in everything


def test_unknown_stack_is_refused_with_the_committed_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        preview.main(["production"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "unknown stack 'production'" in error and "prod-commercial" in error


def test_a_failing_program_is_the_previews_result(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def broken(stack: str) -> None:
        raise RuntimeError("platform:compute.cpu: 300 is not a Fargate size")

    monkeypatch.setattr(preview, "run_stack", broken)
    assert preview.main(["staging"]) == 1
    assert "platform:compute.cpu" in capsys.readouterr().err


def test_a_mandatory_violation_fails_the_preview(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(preview, "policy_results", lambda run: (["s3-tls-only on bucket: no TLS"], []))
    assert preview.main(["staging"]) == 2
    assert "MANDATORY s3-tls-only on bucket" in capsys.readouterr().out
