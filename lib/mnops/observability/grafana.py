"""Small typed builders for Grafana dashboard JSON (schema 39+) and datasource provisioning.

Dashboards are built from `Panel` values and laid out on Grafana's 24-column grid by
`dashboard()`, which numbers panels and places them row by row, so no JSON is written by hand
and two builds of the same inventory give identical bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mnops.errors import BuildError

GRID_COLUMNS = 24
SCHEMA_VERSION = 39

# Datasource uids are fixed so dashboards can reference them and links survive re-provisioning.
PROMETHEUS_UID = "mnops-prometheus"
LOKI_UID = "mnops-loki"
JAEGER_UID = "mnops-jaeger"
DATASOURCE_TYPES = {PROMETHEUS_UID: "prometheus", LOKI_UID: "loki", JAEGER_UID: "jaeger"}


@dataclass(frozen=True)
class Query:
    """One panel query: PromQL for Prometheus, LogQL for Loki."""

    expr: str
    legend: str = ""
    datasource: str = PROMETHEUS_UID

    @property
    def language(self) -> str:
        return "logql" if self.datasource == LOKI_UID else "promql"


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"  # timeseries, stat, logs, gauge
    unit: str = "short"
    width: int = 12
    height: int = 8
    description: str = ""
    thresholds: tuple[tuple[float, str], ...] = ()  # (from value, colour), ascending; base is green
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Row:
    """A collapsible section title; the panels after it belong to it. `repeat` names a template
    variable: Grafana draws the row and its panels once per selected value, so the dashboard JSON
    stays the same size however many values (services) there are."""

    title: str
    repeat: str | None = None


@dataclass(frozen=True)
class Link:
    """A link to `url`; or, with `tags`, Grafana's drop-down of every dashboard carrying those tags
    (one entry in the JSON however many dashboards match)."""

    title: str
    url: str = ""
    tags: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        if self.tags:
            return {"title": self.title, "type": "dashboards", "tags": list(self.tags), "asDropdown": True}
        return {"title": self.title, "url": self.url, "type": "link", "targetBlank": True}


@dataclass(frozen=True)
class Variable:
    """A template variable whose values are a Prometheus label's values, e.g. $service or $cluster.
    All selects everything, also series without the label (a per-cluster Prometheus has no
    `cluster` label on its series; it is an external label)."""

    name: str
    label: str
    metric: str  # a series that carries the label for every value worth offering

    def as_json(self) -> dict[str, Any]:
        definition = f"label_values({self.metric}, {self.name})"
        return {
            "name": self.name,
            "label": self.label,
            "type": "query",
            "datasource": _datasource(PROMETHEUS_UID),
            "definition": definition,
            "query": {"query": definition, "refId": f"{self.name}-values"},
            "refresh": 2,  # on time-range change: new services appear without a reload
            "includeAll": True,
            "allValue": ".*",
            "multi": True,
            "sort": 1,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "hide": 0,
        }


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    tags: tuple[str, ...]
    items: tuple[Panel | Row, ...]
    description: str = ""
    refresh: str = "1m"
    time_from: str = "now-6h"
    links: tuple[Link, ...] = field(default_factory=tuple)
    variables: tuple[Variable, ...] = field(default_factory=tuple)


def _datasource(uid: str) -> dict[str, str]:
    if uid not in DATASOURCE_TYPES:
        raise BuildError(f"unknown datasource uid {uid!r}; known: {', '.join(sorted(DATASOURCE_TYPES))}")
    return {"type": DATASOURCE_TYPES[uid], "uid": uid}


def _targets(panel: Panel) -> list[dict[str, Any]]:
    if not panel.queries:
        raise BuildError(f"panel {panel.title!r} needs at least one query")
    datasources = {q.datasource for q in panel.queries}
    if len(datasources) != 1:
        raise BuildError(f"panel {panel.title!r} mixes datasources {sorted(datasources)}; use one per panel")
    targets = []
    for index, query in enumerate(panel.queries):
        target: dict[str, Any] = {"refId": chr(ord("A") + index), "expr": query.expr, "datasource": _datasource(query.datasource)}
        if query.legend:
            target["legendFormat"] = query.legend
        if query.datasource == LOKI_UID:
            target["queryType"] = "range"
        targets.append(target)
    return targets


def _field_config(panel: Panel) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [{"color": colour, "value": value} for value, colour in panel.thresholds]
    defaults: dict[str, Any] = {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}}
    if panel.min is not None:
        defaults["min"] = panel.min
    if panel.max is not None:
        defaults["max"] = panel.max
    return {"defaults": defaults, "overrides": []}


def _options(panel: Panel) -> dict[str, Any]:
    if panel.kind == "logs":
        return {"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending", "enableLogDetails": True}
    if panel.kind in ("stat", "gauge"):
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    return {
        "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
        "tooltip": {"mode": "multi"},
    }


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    if panel.kind not in ("timeseries", "stat", "logs", "gauge"):
        raise BuildError(f"panel {panel.title!r}: unknown kind {panel.kind!r}")
    if not 1 <= panel.width <= GRID_COLUMNS:
        raise BuildError(f"panel {panel.title!r}: width must be 1-{GRID_COLUMNS}, got {panel.width}")
    result: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "datasource": _datasource(panel.queries[0].datasource if panel.queries else PROMETHEUS_UID),
        "targets": _targets(panel),
        "options": _options(panel),
    }
    if panel.kind != "logs":
        result["fieldConfig"] = _field_config(panel)
    if panel.description:
        result["description"] = panel.description
    return result


def dashboard(spec: Dashboard) -> dict[str, Any]:
    """The dashboard JSON model: panels numbered from 1 and flowed left to right, top to bottom."""
    if not spec.uid or len(spec.uid) > 40:
        raise BuildError(f"dashboard uid {spec.uid!r} must be 1-40 characters (Grafana's limit)")
    panels: list[dict[str, Any]] = []
    x = y = row_height = 0
    for number, item in enumerate(spec.items, start=1):
        if isinstance(item, Row):
            y, x, row_height = y + row_height, 0, 0
            row = {"id": number, "type": "row", "title": item.title, "collapsed": False, "panels": [],
                   "gridPos": {"h": 1, "w": GRID_COLUMNS, "x": 0, "y": y}}  # fmt: skip
            if item.repeat is not None:
                if item.repeat not in {v.name for v in spec.variables}:
                    raise BuildError(f"dashboard {spec.uid}: row {item.title!r} repeats unknown variable ${item.repeat}")
                row["repeat"] = item.repeat
            panels.append(row)
            y += 1
            continue
        if x + item.width > GRID_COLUMNS:
            y, x, row_height = y + row_height, 0, 0
        panels.append(_panel_json(item, number, x, y))
        x += item.width
        row_height = max(row_height, item.height)
    return {
        "uid": spec.uid,
        "title": spec.title,
        "description": spec.description,
        "tags": sorted(spec.tags),
        "timezone": "utc",
        "editable": False,  # changes go through git; the sidecar would overwrite UI edits anyway
        "graphTooltip": 1,
        "refresh": spec.refresh,
        "time": {"from": spec.time_from, "to": "now"},
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "templating": {"list": [variable.as_json() for variable in spec.variables]},
        "annotations": {"list": []},
        "links": [link.as_json() for link in spec.links],
        "panels": panels,
    }


def queries_of(model: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(panel title, language, expression) for every query in a dashboard JSON model."""
    found = []
    for panel in model.get("panels", []):
        for target in panel.get("targets", []):
            language = "logql" if target["datasource"]["type"] == "loki" else "promql"
            found.append((panel["title"], language, target["expr"]))
    return found


@dataclass(frozen=True)
class DatasourceUrls:
    prometheus: str
    loki: str
    jaeger: str


def datasources(urls: DatasourceUrls) -> dict[str, Any]:
    """Grafana provisioning file (apiVersion 1): Prometheus, Loki with trace links, Jaeger with log links."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus (machine-native-ops)",
                "uid": PROMETHEUS_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": urls.prometheus,
                "isDefault": False,
                "editable": False,
                "jsonData": {"timeInterval": "30s", "httpMethod": "POST"},
            },
            {
                "name": "Loki (machine-native-ops)",
                "uid": LOKI_UID,
                "type": "loki",
                "access": "proxy",
                "url": urls.loki,
                "editable": False,
                "jsonData": {
                    "maxLines": 1000,
                    # Services log JSON with a trace_id field: one click from a log line to its trace.
                    "derivedFields": [
                        {
                            "name": "TraceID",
                            "matcherRegex": '"trace_id":"(\\w+)"',
                            "datasourceUid": JAEGER_UID,
                            "url": "$${__value.raw}",
                        }
                    ],
                },
            },
            {
                "name": "Jaeger (machine-native-ops)",
                "uid": JAEGER_UID,
                "type": "jaeger",
                "access": "proxy",
                "url": urls.jaeger,
                "editable": False,
                "jsonData": {
                    "tracesToLogsV2": {
                        "datasourceUid": LOKI_UID,
                        "filterByTraceID": True,
                        "spanStartTimeShift": "-5m",
                        "spanEndTimeShift": "5m",
                        "tags": [{"key": "service.name", "value": "service"}],
                    }
                },
            },
        ],
    }
