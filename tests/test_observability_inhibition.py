"""The inhibition matrix, cell by cell, against a real Alertmanager running prod's compiled config.

Every ordered pair of alerts in the catalogue (SLO alerts once per SLO) is posted through the v2
API on its own service; Alertmanager's answer (state `suppressed`, `inhibitedBy`) is compared
with the intended matrix written out below, independently of the generator. Each intended cell
is also posted across services and across clusters, where nothing may be muted."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from observability_support import COMPILED, ensure_tools, for_local_alertmanager

from mnops.observability.alerts import CATALOGUE
from mnops.observability.contract import SLO_KINDS
from mnops.observability.preview import ALERTMANAGER, free_port, http_json, wait_until_ready

pytestmark = pytest.mark.slow

Variant = tuple[str, str | None]  # (alertname, slo)
FAST, SLOW = "SLOErrorBudgetBurnFast", "SLOErrorBudgetBurnSlow"

# The intended matrix: (source, target) pairs where the target is muted while the source fires,
# for the same cluster and service. Everything else must be delivered.
INTENDED: set[tuple[Variant, Variant]] = (
    {(("ServiceDown", None), (a, None)) for a in ("HighErrorRate", "HighLatencyP99")}
    | {(("ServiceDown", None), (burn, slo)) for burn in (FAST, SLOW) for slo in SLO_KINDS}
    | {(("HighErrorRate", None), (burn, "availability")) for burn in (FAST, SLOW)}
    | {(("HighLatencyP99", None), (burn, "latency-p99")) for burn in (FAST, SLOW)}
    | {((FAST, slo), (SLOW, slo)) for slo in SLO_KINDS}
)


def variants() -> list[Variant]:
    out: list[Variant] = []
    for entry in CATALOGUE:
        out += [(entry.name, slo) for slo in SLO_KINDS] if entry.name in (FAST, SLOW) else [(entry.name, None)]
    return out


def labels(variant: Variant, service: str, cluster: str = "prod") -> dict[str, str]:
    name, slo = variant
    entry = next(e for e in CATALOGUE if e.name == name)
    found = {"alertname": name, "severity": entry.severity, "priority": entry.priority, "service": service, "cluster": cluster}
    return {**found, "slo": slo} if slo else found


class Alertmanager:
    def __init__(self, config: Path) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="mnops-inhibit-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [ALERTMANAGER, f"--config.file={config}", f"--storage.path={self.workdir}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="]  # fmt: skip
        self.log = (self.workdir / "alertmanager.log").open("wb")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until_ready(f"{self.url}/-/ready", self.process)

    def post(self, alerts: list[dict[str, str]]) -> None:
        now = datetime.now(UTC)
        body = [{"labels": a, "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat()} for a in alerts]
        request = urllib.request.Request(  # noqa: S310 - 127.0.0.1 only
            f"{self.url}/api/v2/alerts", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - 127.0.0.1 only
            pass

    def suppressed_services(self) -> set[tuple[str, str]]:
        """(service, alertname@slo) of every alert Alertmanager reports as inhibited."""
        alerts: list[dict[str, Any]] = http_json(f"{self.url}/api/v2/alerts")
        return {
            (a["labels"]["service"], f"{a['labels']['alertname']}@{a['labels'].get('slo')}")
            for a in alerts
            if a["status"]["inhibitedBy"]
        }

    def count(self) -> int:
        return len(http_json(f"{self.url}/api/v2/alerts"))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def observed_matrix(config: Path) -> tuple[set[tuple[Variant, Variant]], set[str]]:
    """Post every cell (and the scope checks) and return the muted cells and muted scope checks."""
    cells = [(s, t) for s in variants() for t in variants() if s != t]
    alerts, scope = [], []
    for i, (source, target) in enumerate(cells):
        alerts += [labels(source, f"cell-{i}"), labels(target, f"cell-{i}")]
    for i, (source, target) in enumerate(sorted(INTENDED, key=repr)):
        alerts += [labels(source, f"other-service-{i}-a"), labels(target, f"other-service-{i}-b")]
        alerts += [labels(source, f"other-cluster-{i}", cluster="prod-dr"), labels(target, f"other-cluster-{i}")]
        scope += [f"other-service-{i}-b", f"other-cluster-{i}"]
    am = Alertmanager(config)
    try:
        am.post(alerts)
        deadline = time.monotonic() + 30
        while am.count() < len(alerts) and time.monotonic() < deadline:
            time.sleep(0.2)
        muted = am.suppressed_services()
    finally:
        am.stop()
    by_service = dict(muted)
    matrix = set()
    for i, (source, target) in enumerate(cells):
        if by_service.get(f"cell-{i}") == f"{target[0]}@{target[1]}":
            matrix.add((source, target))
    return matrix, {service for service, _ in muted if service in scope}


@pytest.fixture(scope="module")
def prod_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    ensure_tools()
    folder = tmp_path_factory.mktemp("am")
    yield for_local_alertmanager(COMPILED / "prod" / "alertmanager" / "alertmanager.yaml", folder / "prod.yaml")


def test_every_cell_of_the_inhibition_matrix_behaves_as_intended(prod_config: Path) -> None:
    matrix, muted_scope = observed_matrix(prod_config)
    assert matrix - INTENDED == set(), "muted but should be delivered"
    assert INTENDED - matrix == set(), "delivered but should be muted"
    assert muted_scope == set(), "an alert of another service or cluster was muted"


def test_the_matrix_check_catches_a_blanket_critical_over_warning_rule(prod_config: Path, tmp_path: Path) -> None:
    """The rule the issue reported (any P0/P1 hides the service's P2 warnings) shows up as cells."""
    config = yaml.safe_load(prod_config.read_text())
    config["inhibit_rules"].append(
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'], "equal": ["cluster", "service"]}
    )
    bad = tmp_path / "blanket.yaml"
    bad.write_text(yaml.safe_dump(config))
    matrix, _ = observed_matrix(bad)
    assert (("HighLatencyP99", None), ("HighCPUUsage", None)) in matrix - INTENDED
    assert ((FAST, "latency-p95"), (SLOW, "availability")) in matrix - INTENDED
