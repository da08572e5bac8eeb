"""Dashboards and rules scale with the number of services: every compiled object stays within
Kubernetes' size limits, the SLO dashboard does not grow, and rule groups stay small.

The full-size case (1,000 services in every cluster) is in `make bench` (scripts/bench); here a
smaller generated inventory compiles in seconds and is checked the same way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, run_compile

from mnops.object_limits import CONFIGMAP_DATA_BYTES, OBJECT_BYTES, object_sizes, oversized
from mnops.observability.rule_sizing import MAX_OBJECT_BYTES, MAX_RULES_PER_GROUP, pack_groups, split_groups

sys.path.insert(0, str(ROOT / "tests" / "perf"))
from synthetic import service_names, synthetic_inventory

# Enough that one cluster's service alerts overflow a rule group (MAX_RULES_PER_GROUP).
SERVICES = 20


def compiled_objects(compiled: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(compiled.glob("*/manifests/**/*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader):
            if isinstance(doc, dict) and "kind" in doc:
                yield str(path.relative_to(compiled)), doc


@pytest.fixture(scope="module")
def synthetic_compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("scale")
    inventory = synthetic_inventory(ROOT, base, SERVICES)
    # --scratch: compiled/ and argocd/ only (what these tests read), without the generated docs.
    run = run_compile(inventory, base / "compiled", "--scratch")
    assert run.returncode == 0, run.stdout + run.stderr
    return base / "compiled"


def test_every_generated_object_is_within_kubernetes_limits(synthetic_compiled: Path) -> None:
    objects = list(compiled_objects(synthetic_compiled))
    assert len({where.split("/")[0] for where, _ in objects}) >= 2, "every cluster target compiled"
    assert [str(problem) for problem in oversized(objects)] == []


def test_the_slo_dashboard_is_the_same_size_for_four_services_or_many(synthetic_compiled: Path) -> None:
    for target_dir in sorted(synthetic_compiled.iterdir()):
        real = ROOT / "compiled" / target_dir.name / "dashboards" / "mnops-slo.json"
        if not real.exists():
            continue
        big = json.loads((target_dir / "dashboards" / "mnops-slo.json").read_text())
        small = json.loads(real.read_text())
        assert len(json.dumps(big)) == len(json.dumps(small)), target_dir.name
        assert [v["name"] for v in big["templating"]["list"]] == ["cluster", "service"]
        # One row repeated over $service; the reliability row (per cluster) is not repeated.
        assert [p["repeat"] for p in big["panels"] if p["type"] == "row" and p.get("repeat")] == ["service"]


def test_every_service_keeps_its_own_dashboard(synthetic_compiled: Path) -> None:
    for target_dir in sorted(synthetic_compiled.iterdir()):
        if not (ROOT / "compiled" / target_dir.name / "dashboards").is_dir():
            continue  # a cluster without application services (the management cluster) has no dashboards
        uids = {p.stem for p in (target_dir / "dashboards").glob("mnops-svc-*.json")}
        assert uids == {f"mnops-svc-{name}" for name in service_names(SERVICES)}, target_dir.name


def test_rule_groups_stay_within_the_group_size(synthetic_compiled: Path) -> None:
    largest = 0
    for path in sorted(synthetic_compiled.glob("*/rules/*.yaml")):
        for group in yaml.load(path.read_text(), Loader=yaml.CSafeLoader)["groups"]:
            alerts_only = all("alert" in rule for rule in group["rules"])
            if alerts_only:
                assert len(group["rules"]) <= MAX_RULES_PER_GROUP, f"{path}: {group['name']}"
                largest = max(largest, len(group["rules"]))
    assert largest > MAX_RULES_PER_GROUP // 2, "the generated case must be big enough to need splitting"
    rule_objects = [obj for _, obj in compiled_objects(synthetic_compiled) if obj["kind"] == "PrometheusRule"]
    assert rule_objects and all(object_sizes(obj)["object"] <= MAX_OBJECT_BYTES + 4096 for obj in rule_objects)


def test_oversized_objects_are_reported() -> None:
    """The checks can fail: one ConfigMap over 1 MiB of data and one object over etcd's limit."""
    big_map = {"kind": "ConfigMap", "metadata": {"name": "slo"}, "data": {"slo.json": "x" * (CONFIGMAP_DATA_BYTES + 1)}}
    huge = {"kind": "PrometheusRule", "metadata": {"name": "rules"}, "spec": {"x": "y" * OBJECT_BYTES}}
    annotated = {"kind": "Service", "metadata": {"name": "a", "annotations": {"k": "v" * 300_000}}}
    found = [(p.where, p.limit) for p in oversized([("f.yaml", big_map), ("g.yaml", huge), ("h.yaml", annotated)])]
    assert found == [
        ("f.yaml ConfigMap/slo", "data"),
        ("g.yaml PrometheusRule/rules", "the object"),
        ("h.yaml Service/a", "metadata.annotations"),
    ]


def alert(name: str) -> dict[str, str]:
    return {"alert": name, "expr": "up == 0"}


def test_alert_groups_are_cut_and_recording_groups_kept_whole() -> None:
    alerts = {"name": "alerts", "rules": [alert(f"A{i}") for i in range(250)]}
    recording = {"name": "rec", "rules": [{"record": f"r:{i}", "expr": "up"} for i in range(250)]}
    small = {"name": "small", "rules": [alert("B")]}
    groups = split_groups([alerts, recording, small], max_rules=100)
    assert [(g["name"], len(g["rules"])) for g in groups] == [
        ("alerts", 100),
        ("alerts-2", 100),
        ("alerts-3", 50),
        ("rec", 250),
        ("small", 1),
    ]
    assert [r["alert"] for g in groups[:3] for r in g["rules"]] == [f"A{i}" for i in range(250)], "order kept, none lost"


def test_groups_are_packed_into_objects_under_the_byte_limit() -> None:
    groups = [{"name": f"g{i}", "rules": [alert("X" * 1000)]} for i in range(10)]
    packs = pack_groups("mnops-alerts", groups, max_bytes=3500)
    assert list(packs) == ["mnops-alerts", "mnops-alerts-2", "mnops-alerts-3", "mnops-alerts-4"]
    assert [g["name"] for pack in packs.values() for g in pack] == [f"g{i}" for i in range(10)]
    assert list(pack_groups("mnops-alerts", groups[:1])) == ["mnops-alerts"], "small files keep their one name"
    with pytest.raises(ValueError, match="split it"):
        pack_groups("x", groups, max_bytes=100)
