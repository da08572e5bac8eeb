"""Promotion only of what ran healthily (lib/mnops/promotion, scripts/promote.py): recorded Argo CD
and Prometheus answers for each way a release can be unhealthy give a one-line refusal naming the
reason, a healthy run goes through with the evidence, and the live client asks real HTTP servers
the same questions the recordings answer."""

from __future__ import annotations

import itertools
import json
import shutil
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import ROOT, real_parameters, script_module
from gitops_checks import copy_project

from mnops.promotion.api import EvidenceUnavailable, Live, Recorded
from mnops.promotion.evidence import evidence_markdown
from mnops.promotion.health import Verdict, judge
from mnops.promotion.release import ReleaseTarget, release_targets

FIXTURES = ROOT / "tests" / "fixtures" / "promotion"

promote_script = script_module("promote")


def canary_release() -> tuple[str, str, str, ReleaseTarget]:
    """The first (service, FROM, TO) whose FROM runs a Rollout with analysis, from the inventory."""
    parameters = real_parameters()
    order = promote_script.ORDER
    for source, destination in itertools.pairwise(order):
        for service in sorted(next(iter(parameters.values()))["services"]):
            targets = release_targets(ROOT / "compiled", parameters, service, source)
            if targets and all(t.workload_kind == "Rollout" and t.analysis for t in targets):
                return service, source, destination, targets[0]
    pytest.fail("no environment runs a service as a Rollout with analysis")


def project_with_compiled(destination: Path) -> Path:
    """A project copy with this checkout's compiled/ tree: what the gate reads to know what FROM runs."""
    project = copy_project(destination)
    shutil.copytree(ROOT / "compiled", project / "compiled")
    return project


def recording(tmp_path: Path, scenario: str, target: ReleaseTarget) -> Path:
    """A recorded scenario filled in with the release's names and image (as the cluster would say them)."""
    text = (FIXTURES / f"{scenario}.json").read_text()
    for key, value in {
        "service": target.service,
        "application": target.application,
        "namespace": target.namespace,
        "image": target.image,
        "repository": target.image.rsplit(":", 1)[0].split("@")[0],
    }.items():
        text = text.replace("{{" + key + "}}", value)
    path = tmp_path / f"{scenario}.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize("scenario", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_a_scenario_template_used_as_a_recording_is_refused_naming_its_placeholders(scenario: str) -> None:
    with pytest.raises(EvidenceUnavailable, match=r"a template, not a recording: replace .*\{\{service\}\}"):
        Recorded.load(FIXTURES / f"{scenario}.json")


@pytest.mark.parametrize(
    ("scenario", "verdict"),
    [
        ("healthy", "promotion allowed: {step}: {source} ({cluster}) ran it healthily"),
        ("degraded", "promotion refused: {step}: {cluster}: Argo CD Application {service}: is Synced and Degraded"),
        ("analysis-failed", "promotion refused: {step}: {cluster}: AnalysisRuns of {service}-6d8f7c9b54: analysis did not pass"),
        ("budget-spent", "promotion refused: {step}: {cluster}: error budget: availability 4.0% remaining, below the 25%"),
        ("p0-firing", "promotion refused: {step}: {cluster}: firing P0/P1 alerts: HighErrorRate (P0) firing for {service}"),
        ("other-image", "promotion refused: {step}: {cluster}: Argo CD Application {service}: runs "),
    ],
)
def test_each_recorded_scenario_gives_its_one_line_verdict(tmp_path, scenario, verdict):
    service, source, destination, target = canary_release()
    result = judge(Recorded.load(recording(tmp_path, scenario, target)), [target])
    step = f"{service} {source} -> {destination}"
    line = result.line(service, source, destination)
    assert line.startswith(verdict.format(step=step, source=source, cluster=target.cluster, service=service)), line
    assert "\n" not in line
    assert result.healthy == (scenario == "healthy")


def test_a_degraded_rollout_is_refused_even_when_argo_cd_says_healthy(tmp_path):
    _service, _source, _destination, target = canary_release()
    path = recording(tmp_path, "degraded", target)
    data = json.loads(path.read_text())
    app = next(v for k, v in data["argocd"].items() if k.endswith(target.application))
    app["status"]["health"] = {"status": "Healthy"}
    path.write_text(json.dumps(data))
    failed = [c for c in judge(Recorded.load(path), [target]).checks if not c.ok]
    assert [c.name for c in failed] == [f"Rollout {target.service}"]
    assert "did not complete: phase Degraded (RolloutAborted" in failed[0].detail


def test_a_missing_answer_refuses_rather_than_passes(tmp_path):
    _service, _source, _destination, target = canary_release()
    path = recording(tmp_path, "healthy", target)
    data = json.loads(path.read_text())
    data["prometheus"] = {}
    path.write_text(json.dumps(data))
    failed = [c for c in judge(Recorded.load(path), [target]).checks if not c.ok]
    assert {c.name for c in failed} == {"firing P0/P1 alerts", "error budget"}
    assert all("could not be checked: " in c.detail and "no recorded Prometheus answer" in c.detail for c in failed)


def test_the_gate_asks_for_the_metrics_the_compiled_rules_define():
    _service, source, _destination, target = canary_release()
    assert target.budget_metric == "service:slo_error_budget:remaining_ratio"
    assert target.blocking_alerts, f"{target.cluster} defines no P0/P1 alert for {target.service}"
    # The threshold is the inventory's, not a constant of the gate.
    assert target.min_budget == real_parameters()[target.cluster]["review"]["promotion"]["min_error_budget_remaining"]
    assert source == real_parameters()[target.cluster]["cluster"]["environment"]


def test_evidence_markdown_lists_every_check_and_a_forced_reason(tmp_path):
    service, source, destination, target = canary_release()
    verdict = judge(Recorded.load(recording(tmp_path, "p0-firing", target)), [target])
    body = evidence_markdown(service, source, destination, image=target.image, verdict=verdict, forced_reason="INC-42 hotfix")
    assert f"**{verdict.line(service, source, destination)}**" in body
    assert "> **Forced** with `--force` despite failed checks. Reason given: INC-42 hotfix" in body
    rows = [line for line in body.splitlines() if line.startswith(f"| {target.cluster} |")]
    assert len(rows) == len(verdict.checks) == 5
    assert sum("| FAIL |" in row for row in rows) == 1


def test_no_serving_cluster_is_a_refusal_not_a_pass():
    assert not Verdict(()).healthy
    assert "no serving cluster of dev runs x" in Verdict(()).line("x", "dev", "staging")


class Recorder(BaseHTTPRequestHandler):
    """Argo CD and Prometheus on 127.0.0.1, answering from a recording, checking the bearer token."""

    answers: ClassVar[dict[str, Any]] = {}

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path == "/api/v1/query":
            body = self.answers["prometheus"].get(urllib.parse.parse_qs(parsed.query)["query"][0])
        elif self.headers.get("Authorization") != "Bearer test-token":
            body = None
        else:
            query = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(parsed.query)))
            body = self.answers["argocd"].get(parsed.path + (f"?{query}" if query else ""))
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args: object) -> None:
        pass


def test_live_client_asks_real_http_servers_the_recorded_questions(tmp_path):
    service, source, destination, target = canary_release()
    Recorder.answers = json.loads(recording(tmp_path, "budget-spent", target).read_text())
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        live = judge(Live(url, url, "test-token"), [target])
        wrong_token = judge(Live(url, url, "nope"), [target])
    finally:
        server.shutdown()
    assert live.line(service, source, destination).startswith(
        f"promotion refused: {service} {source} -> {destination}: {target.cluster}: error budget: availability 4.0%"
    )
    assert [c.ok for c in live.checks] == [True, True, True, True, False]
    assert not wrong_token.checks[0].ok and "HTTP Error 404" in wrong_token.checks[0].detail


def test_promote_refuses_an_unhealthy_release_and_edits_nothing(tmp_path, capsys):
    service, source, destination, target = canary_release()
    project = project_with_compiled(tmp_path / "repo")
    env_file = project / "inventory" / "classes" / "env" / f"{destination}.yml"
    before = env_file.read_text()
    args = ["--service", service, "--from", source, "--to", destination, "--root", str(project), "--no-diff"]
    code = promote_script.main([*args, "--recorded", str(recording(tmp_path, "analysis-failed", target))])
    out = capsys.readouterr().out
    assert code == 1
    assert env_file.read_text() == before
    assert out.splitlines()[0].startswith(f"promotion refused: {service} {source} -> {destination}: {target.cluster}: Analysis")
    assert "### Promotion evidence" in out


def test_promote_without_evidence_refuses_and_force_needs_a_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ARGOCD_URL", raising=False)
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    service, source, destination, _target = canary_release()
    args = ["--service", service, "--from", source, "--to", destination, "--no-diff", "--root", str(copy_project(tmp_path / "r"))]
    assert promote_script.main(args) == 1
    assert "promote refused: no evidence that the release ran healthily" in capsys.readouterr().err
    assert promote_script.main([*args, "--force"]) == 1
    assert (
        capsys.readouterr().err.strip().startswith("promote refused: --force needs --reason '...' (make: FORCE=1 REASON='...')")
    )


def test_a_promotion_forced_without_evidence_says_the_gate_did_not_look_not_that_nothing_runs() -> None:
    service, source, destination, _target = canary_release()
    refusal = promote_script.Refused("no evidence that the release ran healthily")
    line = promote_script.forced_verdict(source, refusal).line(service, source, destination)
    assert line == f"promotion refused: {service} {source} -> {destination}: {source}: health gate: not checked: {refusal}"
    assert "no serving cluster" not in line


@pytest.mark.slow
def test_promote_of_a_healthy_release_edits_and_writes_the_evidence(tmp_path, capsys):
    service, source, destination, target = canary_release()
    project = project_with_compiled(tmp_path / "repo")
    evidence = tmp_path / "evidence.md"
    code = promote_script.main(
        [
            "--service",
            service,
            "--from",
            source,
            "--to",
            destination,
            "--root",
            str(project),
            "--no-diff",
            "--recorded",
            str(recording(tmp_path, "healthy", target)),
            "--evidence",
            str(evidence),
        ]
    )
    assert code == 0, capsys.readouterr()
    pin = target.image.rsplit(":", 1)[-1]  # tag@digest as FROM pins it
    tag, _, digest = pin.partition("@")
    destination_text = (project / "inventory" / "classes" / "env" / f"{destination}.yml").read_text()
    assert f"      tag: {tag}\n" in destination_text and (not digest or f"digest: {digest}" in destination_text)
    assert "promotion allowed" in evidence.read_text() and "| FAIL |" not in evidence.read_text()
