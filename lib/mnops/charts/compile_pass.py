"""What `make compile` derives from the rendered charts, after Kapitan wrote compiled/ (scripts/compile.py).

Per cluster, from the renders of its enabled charts (cached by chart digest and values, so a warm
compile runs no Helm): manifests/argocd/application.yaml gets each chart Application's Helm source
pinned to the Kubernetes version and API versions its render used, so Argo CD renders the bytes
that were validated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mnops import yamlio
from mnops.charts.cluster import RenderedChart, Setup, render_clusters
from mnops.charts.compile_check import cache_root, chart_mirror, helm_binary
from mnops.charts.lock import LOCK_FILE, ChartLockError, read_lock
from mnops.charts.render import ChartRenderError
from mnops.errors import BuildError
from mnops.kapitan_inventory import compiles_manifests

SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)  # between the documents of a compiled file
APPLICATIONS = Path("manifests") / "argocd" / "application.yaml"


class ChartPassError(Exception):
    """Problems found in the charts' values, renders or what is derived from them, one line each."""

    def __init__(self, problems: Sequence[str], heading: str = "chart error") -> None:
        self.problems = tuple(problems)
        self.heading = heading
        super().__init__("\n".join(problems))


def pin_applications(path: Path, charts: Sequence[RenderedChart]) -> None:
    """Set helm.kubeVersion and helm.apiVersions of each chart Application to its render's inputs.

    Only the chart Applications' documents are parsed and written again (in Kapitan's style, so the
    file stays what Kapitan would write); the other documents keep their bytes.
    """
    by_key = {c.key: c for c in charts}
    chunks = SEPARATOR.split(path.read_text(encoding="utf-8"))
    pinned: set[str] = set()
    for index, chunk in enumerate(chunks):
        if "releaseName: " not in chunk:
            continue
        doc = yamlio.load(chunk)
        chart = by_key.get(doc["metadata"]["name"]) if doc.get("kind") == "Application" else None
        if chart is None:
            continue
        spec = doc["spec"]
        for source in spec.get("sources") or [spec.get("source") or {}]:
            helm = source.get("helm")
            if helm is not None and helm.get("releaseName") == chart.key:
                helm["kubeVersion"] = chart.kube_version
                helm["apiVersions"] = list(chart.api_versions)
                pinned.add(chart.key)
        chunks[index] = ("\n" if index else "") + yamlio.dump_all([doc])
    missing = sorted(set(by_key) - pinned)
    if missing:
        raise BuildError(f"{path}: no Application renders chart(s) {', '.join(missing)}")
    path.write_text("---".join(chunks), encoding="utf-8")


def finish_charts(compiled: Path, parameters_by_target: Mapping[str, Mapping[str, Any]], root: Path) -> None:
    """Render every cluster's charts and write what is derived from them into `compiled`."""
    clusters = {name: p for name, p in sorted(parameters_by_target.items()) if compiles_manifests(p)}
    cache = cache_root(root)
    try:
        setup = Setup(compiled, cache / "charts", cache / "renders", helm_binary(root), chart_mirror(root))
        rendered = render_clusters(clusters, read_lock(root / LOCK_FILE), setup)
    except (ChartLockError, ChartRenderError) as error:
        raise ChartPassError(str(error).splitlines(), "chart render error") from error
    for name in clusters:
        charts = [c for c in rendered if c.target == name]
        if charts:
            pin_applications(compiled / name / APPLICATIONS, charts)
