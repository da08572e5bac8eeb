"""Shared helpers of the security tests: the rendered inventory and compiled documents, once."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from conftest import real_parameters

from mnops import yamlio
from mnops.security.policy import Doc, load_documents

ROOT = Path(__file__).resolve().parent.parent
COMPILED = ROOT / "compiled"
TARGETS = sorted(p.name for p in COMPILED.iterdir() if (p / "manifests").is_dir())


@cache
def parameters() -> dict[str, Any]:
    """Every target's merged parameters (rendered once per test process)."""
    return real_parameters()


@cache
def documents(target: str) -> tuple[Doc, ...]:
    return tuple(load_documents(COMPILED / target))


def kinds(target: str, kind: str) -> list[Doc]:
    return [d for d in documents(target) if d["kind"] == kind]


def with_monitoring(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of a target's parameters where the monitoring stack is installed (namespace `monitoring`),
    as it is once the observability layer's kube-prometheus-stack chart is in the catalog."""
    import copy

    result = copy.deepcopy(dict(params))
    result["charts"] = {
        **result["charts"],
        "kube-prometheus-stack": {
            "repo_url": "https://prometheus-community.github.io/helm-charts",
            "chart": "kube-prometheus-stack",
            "version": "0.0.0",
            "namespace": "monitoring",
            "wave": -5,
            "enabled": True,
        },
    }
    return result


def folder_documents(target: str, folder: str) -> list[Doc]:
    """The named objects of one manifests folder: read from that folder alone (reading the whole
    target and matching every object against the folder made each call take seconds)."""
    folder_dir = COMPILED / target / "manifests" / folder
    return [
        d
        for path in sorted(folder_dir.glob("*.yaml"))
        for d in yamlio.load_all(path.read_text())
        if isinstance(d, dict) and "kind" in d and d.get("metadata", {}).get("name")
    ]
