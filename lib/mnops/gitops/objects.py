"""Kubernetes objects of a cluster's Argo CD setup, built from its DeliveryPlan.

manifests/argocd/         AppProjects + every Application (root app-of-apps included: it manages itself)
manifests/argocd-config/  argocd-notifications-cm and the ExternalSecret producing the cluster entry
"""

from __future__ import annotations

from typing import Any

from mnops.component import identity
from mnops.gitops.plan import DeliveryPlan, PlannedApp
from mnops.k8s.argocd import (
    IgnoreDifference,
    ProjectRole,
    ProjectSpec,
    Source,
    Sync,
    SyncWindow,
    app_project,
    application,
    cluster_entry,
    notifications_config_map,
)
from mnops.security.secret_names import store_name

Obj = dict[str, Any]


def _sync(plan: DeliveryPlan, app: PlannedApp) -> Sync:
    s = plan.gitops.sync
    extra = ("CreateNamespace=true",) if app.creates_namespace else ()
    return Sync(
        automated=s.automated,
        prune=s.prune,
        self_heal=s.self_heal,
        allow_empty=s.allow_empty,
        options=tuple(s.sync_options(extra)),
        retry_limit=s.retry.limit,
        backoff=s.retry.backoff,
        factor=s.retry.factor,
        max_backoff=s.retry.max_backoff,
    )


def _sources(plan: DeliveryPlan, app: PlannedApp) -> list[Source]:
    repo, revision = plan.target.repo_url, plan.gitops.revision
    if app.chart is None:
        assert app.folder is not None  # noqa: S101 - every non-chart app syncs a folder (plan invariant)
        return [Source(repo, revision, path=plan.folder_path(app.folder))]
    chart = app.chart
    values = (f"$values/{plan.values_file(chart)}",)
    if chart.is_oci:
        upstream = Source(chart.argocd_repo_url, chart.version, path=".", release_name=chart.key, value_files=values)
    else:
        upstream = Source(chart.argocd_repo_url, chart.version, chart=chart.chart, release_name=chart.key, value_files=values)
    return [upstream, Source(repo, revision, ref="values")]


def cascades(plan: DeliveryPlan, app: PlannedApp) -> bool:
    """Whether deleting the Application deletes what it deployed (Argo CD's resources finalizer).

    Service and folder Applications always cascade: when one leaves the inventory the root prunes
    it, and without the finalizer its Rollout, Services, HPA, PDB, ConfigMaps and ServiceAccount
    would keep running unmanaged. Their data-holding objects are annotated to survive this
    (mnops.gitops.retention). Chart Applications follow `argocd.sync.cascade_delete`: a chart's
    CRDs would take every custom resource of their kinds along, databases included, and the
    chart's own objects cannot carry our annotations. The root never cascades: deleting it must
    not delete the cluster's whole platform.
    """
    if app.kind == "root":
        return False
    if app.kind == "chart":
        return plan.gitops.sync.cascade_delete
    return True


def application_object(plan: DeliveryPlan, app: PlannedApp) -> Obj:
    ignore = (
        [IgnoreDifference(k.group, k.kind, ("/spec/replicas",)) for k in plan.gitops.hpa_scaled_kinds] if app.hpa_scaled else []
    )
    return application(
        app.name,
        plan.gitops.namespace,
        identity(plan.target, app.name, "argocd-application"),
        project=app.project,
        sources=_sources(plan, app),
        destination_namespace=app.destination_namespace,
        wave=app.wave,
        sync=_sync(plan, app),
        cascade_delete=cascades(plan, app),
        ignore_differences=ignore,
    )


def _roles(plan: DeliveryPlan, project: str) -> tuple[ProjectRole, ...]:
    return tuple(
        ProjectRole(
            role.name,
            role.description,
            role.groups,
            tuple(f"p, proj:{project}:{role.name}, applications, {action}, {project}/*, allow" for action in role.actions),
        )
        for role in plan.gitops.roles
    )


def project_objects(plan: DeliveryPlan) -> list[Obj]:
    g = plan.gitops
    windows = tuple(
        SyncWindow(w.kind, w.schedule, w.duration, w.time_zone, w.manual_sync, w.applications, w.description) for w in g.windows
    )
    projects = {
        plan.platform_project: (
            "Argo CD itself, operators and charts, platform configuration, data stores and routes.",
            tuple((k.group, k.kind) for k in g.platform_cluster_resources),
        ),
        plan.services_project: ("The application services; no cluster-scoped objects.", ()),
    }
    return [
        app_project(
            name,
            g.namespace,
            identity(plan.target, name, "argocd-project"),
            ProjectSpec(
                description=f"{plan.name}: {description}",
                source_repos=plan.source_repos(name),
                destination_namespaces=plan.destination_namespaces(name),
                cluster_resources=cluster_resources,
                roles=_roles(plan, name),
                windows=windows,
                orphaned_warn=g.orphaned_warn,
            ),
        )
        for name, (description, cluster_resources) in projects.items()
    ]


def argocd_folder(plan: DeliveryPlan) -> list[Obj]:
    return project_objects(plan) + [application_object(plan, app) for app in plan.applications]


# Argo CD notification triggers (expressions from the upstream catalog's semantics) and the
# message each sends. {{ }} are Argo CD's Go templates, rendered by the notifications controller.
TRIGGERS: dict[str, tuple[str, str, str]] = {
    "on-deployed": (
        "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']"
        " and app.status.health.status == 'Healthy'",
        "app-deployed",
        ":white_check_mark: {{.app.metadata.name}} deployed revision {{.app.status.sync.revision}}",
    ),
    "on-health-degraded": (
        "app.status.health.status == 'Degraded'",
        "app-health-degraded",
        ":warning: {{.app.metadata.name}} is Degraded",
    ),
    "on-sync-failed": (
        "app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']",
        "app-sync-failed",
        ":x: {{.app.metadata.name}} sync failed: {{.app.status.operationState.message}}",
    ),
    "on-sync-running": (
        "app.status.operationState != nil and app.status.operationState.phase in ['Running']",
        "app-sync-running",
        ":arrows_counterclockwise: {{.app.metadata.name}} sync started",
    ),
}
WEBHOOK = "team-chat"


def notifications_config(plan: DeliveryPlan) -> Obj:
    """argocd-notifications-cm: a webhook service whose URL is `$<key>` from argocd-notifications-secret."""
    n = plan.gitops.notifications
    data: dict[str, str] = {
        "context": f"argocdUrl: {plan.gitops.url}\ncluster: {plan.name}\nenvironment: {plan.target.cluster.environment}\n",
        f"service.webhook.{WEBHOOK}": (
            f"url: ${n.webhook_secret_key}\nheaders:\n  - name: Content-Type\n    value: application/json\n"
        ),
        "subscriptions": f"- recipients:\n    - {WEBHOOK}\n  triggers:\n" + "".join(f"    - {t}\n" for t in n.triggers),
    }
    for trigger in n.triggers:
        when, template, text = TRIGGERS[trigger]
        data[f"trigger.{trigger}"] = f"- when: {when}\n  send:\n    - {template}\n" + (
            "  oncePer: app.status.operationState.syncResult.revision\n" if trigger == "on-deployed" else ""
        )
        fields = {
            "channel": n.channel,
            "text": f"[{{{{.context.cluster}}}}] {text}",
            "link": "{{.context.argocdUrl}}/applications/{{.app.metadata.name}}",
        }
        # One JSON field per line keeps the rendered YAML under the line-length limit.
        body = ",\n".join(f'        "{key}": "{value}"' for key, value in fields.items())
        data[f"template.{template}"] = f"webhook:\n  {WEBHOOK}:\n    method: POST\n    body: |\n      {{\n{body}\n      }}\n"
    return notifications_config_map(
        plan.gitops.namespace,
        identity(plan.target, "argocd-notifications", "argocd-notifications"),
        data,
    )


def cluster_entry_object(plan: DeliveryPlan) -> Obj:
    c, e = plan.target.cluster, plan.gitops.cluster_entry
    return cluster_entry(
        c.name,
        plan.gitops.namespace,
        identity(plan.target, "argocd-cluster", "argocd-cluster"),
        server=c.api_server,
        labels={"environment": c.environment, "region": c.region, "cloud": c.cloud, "role": c.role, "cluster": c.name},
        store_kind=e.secret_store_kind,
        store_name=e.secret_store,
        remote_key=store_name(plan.target.cloud["secret_store"]["provider"], e.remote_key),
        refresh_interval=e.refresh_interval,
    )


def argocd_config_folder(plan: DeliveryPlan) -> list[Obj]:
    return [notifications_config(plan), cluster_entry_object(plan)]
