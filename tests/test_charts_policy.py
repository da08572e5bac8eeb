"""The security policy over what the charts render: Pod Security of the namespace, resources, images."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

from charts_support import NEEDS_HELM, ONE_WORKER
from charts_support import clusters as _clusters
from charts_support import rendered as _rendered
from conftest import ROOT

from mnops.charts.cluster import RenderedChart
from mnops.charts.policy import EXCEPTIONS, ChartViolation, chart_violations, namespace_levels, unexcused, unused_exceptions
from mnops.security.policy import load_documents

pytestmark = [NEEDS_HELM, ONE_WORKER]


@cache
def _violations() -> tuple[ChartViolation, ...]:
    found: list[ChartViolation] = []
    for target in _clusters():
        levels = namespace_levels(load_documents(ROOT / "compiled" / target))
        for chart in _rendered():
            if chart.target == target:
                found += chart_violations(chart, levels)
    return tuple(found)


def test_chart_workloads_pass_the_policy_or_a_documented_exception() -> None:
    assert [v.render() for v in unexcused(_violations())] == []


def test_no_exception_outlives_its_need() -> None:
    assert unused_exceptions(_violations()) == []


def test_every_exception_is_justified_in_the_security_guide() -> None:
    guide = (ROOT / "docs" / "security.md").read_text()
    for exception in EXCEPTIONS:
        assert f"| `{exception.chart}` | {exception.check} | {', '.join(exception.containers)} | {exception.reason} |" in guide


def _pod(namespace: str, container: dict) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "p", "namespace": namespace},
            "spec": {"template": {"spec": {"containers": [container]}}}}  # fmt: skip


def _chart_with(tmp_path: Path, doc: dict) -> RenderedChart:
    import yaml

    path = tmp_path / "render.yaml"
    path.write_text(yaml.safe_dump(doc))
    return dataclasses.replace(_rendered()[0], rendered=path, key="fixture-chart")


SIZED = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}
RESTRICTED_CONTEXT = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                      "seccompProfile": {"type": "RuntimeDefault"}}  # fmt: skip


def test_a_pod_in_a_restricted_namespace_that_may_run_as_root_is_a_violation(tmp_path: Path) -> None:
    container = {"name": "c", "image": "example.org/app:1.0", "resources": SIZED,
                 "securityContext": {**RESTRICTED_CONTEXT, "runAsNonRoot": False}}  # fmt: skip
    chart = _chart_with(tmp_path, _pod("locked-down", container))
    messages = [v.message for v in chart_violations(chart, {"locked-down": "restricted"})]
    assert messages == ["container c does not set runAsNonRoot: true (namespace locked-down enforces restricted)"]
    # The same pod is fine where the namespace enforces baseline, and fully compliant where restricted once fixed.
    assert chart_violations(chart, {"locked-down": "baseline"}) == []
    fixed = _chart_with(tmp_path, _pod("locked-down", {**container, "securityContext": RESTRICTED_CONTEXT}))
    assert chart_violations(fixed, {"locked-down": "restricted"}) == []


def test_a_host_network_pod_breaks_baseline(tmp_path: Path) -> None:
    doc = _pod("ns", {"name": "c", "image": "example.org/app:1.0", "resources": SIZED})
    doc["spec"]["template"]["spec"]["hostNetwork"] = True
    found = chart_violations(_chart_with(tmp_path, doc), {"ns": "baseline"})
    assert [v.message for v in found] == ["hostNetwork is set (namespace ns enforces baseline)"]


def test_unsized_containers_and_latest_images_are_violations(tmp_path: Path) -> None:
    chart = _chart_with(tmp_path, _pod("ns", {"name": "c", "image": "example.org/app:latest"}))
    checks = sorted(v.check for v in chart_violations(chart, {}))
    assert checks == ["image", "resources", "resources"]
