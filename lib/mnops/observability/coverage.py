"""Observability coverage: for every target and service, which signals the COMPILED tree really has.

Expectations (which services exist, which use a cache) come from the inventory; everything else
is read from compiled/<target>/ and docs/, so the report reflects what Argo CD would deploy:

    scrape     a ServiceMonitor/PodMonitor whose selector matches the service's Service or pods
    red        recording rules for request rate, error ratio and p50/p95/p99 latency
    alerts     the seed's standard alerts for the service (cache alert only if it uses Redis)
    slo        multi-window burn-rate alerts: a fast (page) and a slow (ticket) one
    dashboard  its Grafana dashboard, as JSON and as a sidecar ConfigMap
    logs       Loki plus a collector that labels the service's pods, and its error-log alert
    traces     OTEL_* settings in the ConfigMap its pods load, plus the collector and Jaeger
    runbooks   every alert about the service links a runbook that exists in the repository
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnops import yamlio
from mnops.observability.contract import RECORDING_RULES

CHECKS: tuple[str, ...] = ("scrape", "red", "alerts", "slo", "dashboard", "logs", "traces", "runbooks")
RED_RULES = tuple(sorted(name for name in RECORDING_RULES if name.startswith("service:http_")))
STANDARD_ALERTS = ("HighCPUUsage", "HighErrorRate", "HighLatencyP99", "HighMemoryUsage", "ServiceDown")
CACHE_ALERT = "LowCacheHitRate"
SLO_ALERTS = ("SLOErrorBudgetBurnFast", "SLOErrorBudgetBurnSlow")
OTEL_KEYS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG")
NAME_LABEL = "app.kubernetes.io/name"


@dataclass(frozen=True)
class Expected:
    service: str
    uses_cache: bool


@dataclass(frozen=True)
class Cell:
    ok: bool
    why: str = ""  # what is missing, when not ok


# Every `service="<name>"` an expression contains (what a substring test for one service's selector finds).
_SELECTED = re.compile(r'service="([^"]*)"')


def _documents(paths: Iterator[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        for doc in yamlio.load_all_bytes(path.read_bytes()):  # shared parses: make diff has most of these already
            if isinstance(doc, dict):
                yield doc


class TargetTree:
    """Everything the checks need from one compiled/<target>/ folder, loaded once."""

    def __init__(self, root: Path, repo_root: Path) -> None:
        self.root, self.repo_root = root, repo_root
        self.objects = [d for d in _documents(iter(sorted(root.glob("manifests/**/*.yaml")))) if "kind" in d]
        groups = [g for d in _documents(iter(sorted(root.glob("rules/*.yaml")))) for g in d.get("groups", [])]
        groups += [g for o in self.objects if o["kind"] == "PrometheusRule" for g in o["spec"].get("groups", [])]
        self.rules = [rule for group in groups for rule in group.get("rules", [])]
        self._values: dict[str, dict[str, Any] | None] = {}
        self.loki_rules = self._loki_rules()
        # Indexes, built once: every check runs once per service, and scanning every object, rule or
        # ConfigMap per service made the coverage table quadratic (most of a 1,000-service compile).
        self._by_kind: dict[str, list[dict[str, Any]]] = {}
        self._by_name: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._positions = {id(obj): index for index, obj in enumerate(self.objects)}
        for obj in self.objects:
            self._by_kind.setdefault(obj["kind"], []).append(obj)
            self._by_name.setdefault((obj["kind"], obj["metadata"]["name"]), []).append(obj)
        self.recorded = {r["record"]: r["expr"] for r in self.rules if "record" in r}
        self._alerts: dict[str, list[dict[str, Any]]] = {}
        for rule in self.rules + self.loki_rules:
            if "alert" in rule:
                named = {rule.get("labels", {}).get("service")} | set(_SELECTED.findall(rule.get("expr", "")))
                for service in sorted(s for s in named if s is not None):
                    self._alerts.setdefault(service, []).append(rule)
        self.shipped_dashboards = {
            key
            for cm in self.find("ConfigMap")
            if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
            for key in cm.get("data", {})
        }
        self.loki_rule_services = {r.get("labels", {}).get("service") for r in self.loki_rules}
        self.collector_labels_service = _collector_labels_service(self)

    def values(self, chart: str) -> dict[str, Any] | None:
        if chart not in self._values:
            path = self.root / "helm-values" / f"{chart}.yaml"
            self._values[chart] = yamlio.load(path.read_text()) if path.exists() else None
        return self._values[chart]

    def _loki_rules(self) -> list[dict[str, Any]]:
        loki = self.values("loki") or {}
        files = [f for tenant in loki.get("ruler", {}).get("directories", {}).values() for f in tenant.values()]
        return [r for text in files for g in yamlio.load(text).get("groups", []) for r in g.get("rules", [])]

    def position(self, obj: dict[str, Any]) -> int:
        """Where an object of this tree was read (file order)."""
        return self._positions[id(obj)]

    def find(self, kind: str, name: str | None = None) -> list[dict[str, Any]]:
        return list(self._by_kind.get(kind, []) if name is None else self._by_name.get((kind, name), []))

    def alerts_for(self, service: str) -> list[dict[str, Any]]:
        """Alerts that name the service in a label, or select it in their expression (`service="<name>"`)."""
        return list(self._alerts.get(service, []))


def _matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def _namespace_ok(monitor: Mapping[str, Any], namespace: str) -> bool:
    ns_selector = monitor["spec"].get("namespaceSelector", {})
    if ns_selector.get("any"):
        return True
    names = ns_selector.get("matchNames") or [monitor["metadata"].get("namespace")]
    return namespace in names


def check_scrape(tree: TargetTree, exp: Expected) -> Cell:
    for svc in tree.find("Service", exp.service):
        ns = svc["metadata"].get("namespace", "")
        for monitor in tree.find("ServiceMonitor"):
            if _matches(monitor["spec"].get("selector", {}), svc["metadata"].get("labels", {})) and _namespace_ok(monitor, ns):
                return Cell(True)
    for deploy in tree.find("Deployment", exp.service) + tree.find("Rollout", exp.service):
        ns = deploy["metadata"].get("namespace", "")
        pod_labels = deploy["spec"]["template"]["metadata"].get("labels", {})
        for monitor in tree.find("PodMonitor"):
            if _matches(monitor["spec"].get("selector", {}), pod_labels) and _namespace_ok(monitor, ns):
                return Cell(True)
    return Cell(False, "no ServiceMonitor or PodMonitor selects it")


def check_red(tree: TargetTree, exp: Expected) -> Cell:
    recorded = tree.recorded
    missing = [name for name in RED_RULES if name not in recorded]
    if missing:
        return Cell(False, "no recording rule " + ", ".join(missing))
    # A rule covers the service if it keeps the service label or selects the service.
    blind = [n for n in RED_RULES if "service" not in recorded[n]]
    return Cell(not blind, "drops the service label: " + ", ".join(blind) if blind else "")


def check_alerts(tree: TargetTree, exp: Expected) -> Cell:
    names = {r["alert"] for r in tree.alerts_for(exp.service)}
    wanted = set(STANDARD_ALERTS) | ({CACHE_ALERT} if exp.uses_cache else set())
    missing = sorted(wanted - names)
    return Cell(not missing, "missing " + ", ".join(missing) if missing else "")


def check_slo(tree: TargetTree, exp: Expected) -> Cell:
    names = {r["alert"] for r in tree.alerts_for(exp.service)}
    missing = [a for a in SLO_ALERTS if a not in names]
    return Cell(not missing, "missing " + ", ".join(missing) if missing else "")


def check_dashboard(tree: TargetTree, exp: Expected) -> Cell:
    uid = f"mnops-svc-{exp.service}"
    path = tree.root / "dashboards" / f"{uid}.json"
    if not path.exists():
        return Cell(False, f"no dashboards/{uid}.json")
    if json.loads(path.read_text()).get("uid") != uid:
        return Cell(False, f"dashboards/{uid}.json has another uid")
    shipped = f"{uid}.json" in tree.shipped_dashboards
    return Cell(shipped, "" if shipped else "no ConfigMap labelled grafana_dashboard ships it")


def _collector_labels_service(tree: TargetTree) -> bool:
    alloy, promtail = tree.values("alloy"), tree.values("promtail")
    source = "__meta_kubernetes_pod_label_app_kubernetes_io_name"
    if alloy and re.search(source + r'"\]\s*\n\s*target_label\s*=\s*"service"', alloy["alloy"]["configMap"]["content"]):
        return True
    common = (promtail or {}).get("config", {}).get("snippets", {}).get("common", [])
    return any(rule.get("target_label") == "service" and source in rule.get("source_labels", []) for rule in common)


def check_logs(tree: TargetTree, exp: Expected) -> Cell:
    if tree.values("loki") is None:
        return Cell(False, "no Loki")
    if not tree.collector_labels_service:
        return Cell(False, "no collector sets the service label")
    workloads = tree.find("Deployment", exp.service) + tree.find("Rollout", exp.service)  # Rollout: canary/blue-green
    pods = [d["spec"]["template"]["metadata"].get("labels", {}) for d in workloads]
    if not any(labels.get(NAME_LABEL) == exp.service for labels in pods):
        return Cell(False, f"its pods lack {NAME_LABEL}={exp.service}")
    if exp.service not in tree.loki_rule_services:
        return Cell(False, "no Loki error-log alert")
    return Cell(True)


def check_traces(tree: TargetTree, exp: Expected) -> Cell:
    if tree.values("opentelemetry-collector") is None or tree.values("jaeger") is None:
        return Cell(False, "no OpenTelemetry Collector or Jaeger")
    for deploy in tree.find("Deployment", exp.service) + tree.find("Rollout", exp.service):
        containers = deploy["spec"]["template"]["spec"]["containers"]
        refs = {src["configMapRef"]["name"] for c in containers for src in c.get("envFrom", []) if "configMapRef" in src}
        data: dict[str, str] = {}
        found = [cm for name in refs for cm in tree.find("ConfigMap", name)]
        for cm in sorted(found, key=tree.position):  # in file order, as the pod's envFrom merge reads them
            data.update(cm.get("data", {}))
        missing = [key for key in OTEL_KEYS if key not in data]
        if missing:
            return Cell(False, "its ConfigMap lacks " + ", ".join(missing))
        if data["OTEL_SERVICE_NAME"] != exp.service:
            return Cell(False, f"OTEL_SERVICE_NAME is {data['OTEL_SERVICE_NAME']}")
        return Cell(True)
    return Cell(False, "no Deployment or Rollout")


def runbook_path(url: str) -> str | None:
    """Repository path a runbook URL points at (.../blob/<branch>/<path>#anchor), or None."""
    match = re.search(r"/blob/[^/]+/([^#]+)", url)
    return match.group(1) if match else None


def check_runbooks(tree: TargetTree, exp: Expected) -> Cell:
    alerts = tree.alerts_for(exp.service)
    if not alerts:
        return Cell(False, "no alerts to link runbooks from")
    missing = set()
    for rule in alerts:
        path = runbook_path(rule.get("annotations", {}).get("runbook_url", ""))
        if not path or not (tree.repo_root / path).exists():
            missing.add(rule["alert"])
    return Cell(not missing, "no runbook for " + ", ".join(sorted(missing)) if missing else "")


CHECK_FUNCTIONS = {
    "scrape": check_scrape,
    "red": check_red,
    "alerts": check_alerts,
    "slo": check_slo,
    "dashboard": check_dashboard,
    "logs": check_logs,
    "traces": check_traces,
    "runbooks": check_runbooks,
}


@dataclass(frozen=True)
class Report:
    rows: tuple[tuple[str, str, tuple[Cell, ...]], ...]  # (target, service, one cell per check)

    @property
    def percent(self) -> float:
        cells = [cell for _, _, cells in self.rows for cell in cells]
        return 100.0 * sum(c.ok for c in cells) / len(cells) if cells else 0.0

    def markdown(self) -> str:
        head = "| target | service | " + " | ".join(CHECKS) + " |"
        lines = [head, "|" + " --- |" * (len(CHECKS) + 2)]
        for target, service, cells in self.rows:
            lines.append(f"| {target} | {service} | " + " | ".join("yes" if c.ok else "**no**" for c in cells) + " |")
        # The same gap in several targets is listed once, with the targets that have it.
        where: dict[tuple[str, str, str], list[str]] = {}
        for target, service, cells in self.rows:
            for name, cell in zip(CHECKS, cells, strict=True):
                if not cell.ok:
                    where.setdefault((service, name, cell.why), []).append(target)
        gaps = [f"- {service} / {name} ({', '.join(targets)}): {why}" for (service, name, why), targets in sorted(where.items())]
        lines += ["", f"Coverage: **{self.percent:.1f}%** of {len(self.rows) * len(CHECKS)} checks."]
        if gaps:
            lines += ["", "Gaps:", "", *gaps]
        return "\n".join(lines) + "\n"


def coverage(compiled: Path, repo_root: Path, expected: Mapping[str, tuple[Expected, ...]]) -> Report:
    rows = []
    for target in sorted(expected):
        tree = TargetTree(compiled / target, repo_root)
        for exp in expected[target]:
            rows.append((target, exp.service, tuple(CHECK_FUNCTIONS[name](tree, exp) for name in CHECKS)))
    return Report(tuple(rows))


SECTION = "## Coverage"


def replace_section(document: str, body: str) -> str:
    """Put `body` under '## Coverage', replacing that section (up to the next '## ') or appending it."""
    block = f"{SECTION}\n\n<!-- Generated by `make coverage` (scripts/coverage.py) from compiled/; do not edit. -->\n\n{body}"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(document):
        return pattern.sub(lambda _: block + "\n", document, count=1).rstrip("\n") + "\n"
    return document.rstrip("\n") + "\n\n" + block
