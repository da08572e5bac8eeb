"""Grafana dashboards and datasources, generated from the inventory.

Compiled twice (see inventory/classes/platform/dashboards.yml):
    input_params.format == "configmaps"  -> manifests/dashboards/configmap.yaml: one ConfigMap per
                                            dashboard (label grafana_dashboard: "1") and one with the
                                            datasources (label grafana_datasource: "1") for the sidecar
    input_params.format == "json"        -> dashboards/<uid>.json, the same dashboards as plain files
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from mnops.component import current_target, identity, output
from mnops.inventory import Target
from mnops.k8s.observability import sidecar_config_map
from mnops.observability.dashboards import target_dashboards
from mnops.observability.grafana import dashboard, datasources
from mnops.observability.signals import dashboards_config


def models(target: Target) -> dict[str, dict[str, Any]]:
    cfg = dashboards_config(target)
    return {spec.uid: dashboard(spec) for spec in target_dashboards(target, cfg.settings)}


def config_maps(target: Target) -> list[dict[str, Any]]:
    cfg = dashboards_config(target)
    ident = identity(target, "grafana-dashboards", "dashboard")
    objects = [
        sidecar_config_map(
            f"grafana-dashboard-{uid}",
            cfg.namespace,
            ident,
            data={f"{uid}.json": json.dumps(model, sort_keys=True, indent=1)},
            labels={"grafana_dashboard": "1"},
            annotations={"grafana_folder": cfg.folder},
        )
        for uid, model in models(target).items()
    ]
    objects.append(
        sidecar_config_map(
            "grafana-datasources-mnops",
            cfg.namespace,
            identity(target, "grafana-datasources", "datasource"),
            data={"mnops-datasources.yaml": yaml.safe_dump(datasources(cfg.urls), sort_keys=True)},
            labels={"grafana_datasource": "1"},
        )
    )
    return objects


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    if input_params.get("format") == "json":
        result: dict[str, Any] = {}  # file path -> content; Kapitan writes each
        for uid, model in models(target).items():
            result[uid] = model
        return result
    return output({"dashboards": config_maps(target)})
