"""docs/deployment-guide.md: the hand-written template docs/templates/deployment-guide.md.j2
plus generated per-target tables (Applications, waves, chart versions, sync policies)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from mnops.gitops.plan import DeliveryPlan, PlannedApp

TEMPLATE = Path(__file__).resolve().parents[3] / "docs" / "templates" / "deployment-guide.md.j2"


def sync_policy(plan: DeliveryPlan) -> str:
    s = plan.gitops.sync
    if not s.automated:
        return "manual sync only"
    parts = ["prune" if s.prune else "no prune", "self-heal" if s.self_heal else "no self-heal"]
    return f"automated ({', '.join(parts)})"


def windows(plan: DeliveryPlan) -> str:
    if not plan.gitops.windows:
        return "none (syncs at any time)"
    return "; ".join(
        f"{w.kind} `{w.schedule}` for {w.duration} {w.time_zone} "
        f"({'manual sync allowed: release managers override' if w.manual_sync else 'no manual override'})"
        for w in plan.gitops.windows
    )


def _source(plan: DeliveryPlan, app: PlannedApp) -> str:
    if app.chart is not None:
        return f"chart `{app.chart.chart}` {app.chart.version} + `helm-values/{app.chart.key}.yaml`"
    return f"`manifests/{app.folder}`"


def data_deletion_allowed(plan: DeliveryPlan) -> bool:
    return bool(plan.target.parameters.get("data", {}).get("allow_delete", False))


def target_table(plan: DeliveryPlan) -> str:
    rows = [
        f"| {app.wave} | `{app.name}` | {app.kind} | {app.project} | {_source(plan, app)} | "
        f"{app.destination_namespace}{' (creates it)' if app.creates_namespace else ''} |"
        for app in plan.applications
    ]
    header = [
        f"### `{plan.name}` ({plan.target.cluster.environment}, {plan.target.cluster.region}, role {plan.target.cluster.role})",
        "",
        f"Tracks `{plan.gitops.revision}`; sync policy: {sync_policy(plan)}; cascade delete: services and folders, "
        f"{'and charts' if plan.gitops.sync.cascade_delete else 'not charts'}; data deletion: "
        f"{'allowed (data.allow_delete)' if data_deletion_allowed(plan) else 'never (Prune=false,Delete=false)'}; "
        f"sync windows: {windows(plan)}.",
        f"Bootstrap: `kubectl apply -f argocd/{plan.name}/` (root Application `{plan.root.name}`).",
        "",
        "| wave | Application | kind | project | source | namespace |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    return "\n".join(header + rows)


def render_guide(parameters_by_target: Mapping[str, Mapping[str, Any]], template: Path = TEMPLATE) -> str:
    from mnops.gitops.plan import delivery_plan
    from mnops.kapitan_inventory import compiles_manifests

    plans = [delivery_plan(p) for _, p in sorted(parameters_by_target.items()) if compiles_manifests(p)]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)  # noqa: S701 - Markdown, not HTML
    text = env.from_string(template.read_text()).render(
        tables="\n\n".join(target_table(p) for p in plans),
        plans=plans,
        charts=sorted({(c.key, c.chart, c.version, c.app_version or "", c.repo_url) for p in plans for c in p.gitops.charts}),
    )
    return text.rstrip("\n") + "\n"
