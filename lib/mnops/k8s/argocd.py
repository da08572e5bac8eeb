"""Builders for Argo CD kinds (argoproj.io/v1alpha1 Application, AppProject) and the Argo CD
cluster entry, which an External Secrets ExternalSecret produces so no credentials sit in git."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, drop_empty_fields, k8s_object, metadata

ARGOCD_API = "argoproj.io/v1alpha1"
IN_CLUSTER = "https://kubernetes.default.svc"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
WAVE = "argocd.argoproj.io/sync-wave"


@dataclass(frozen=True)
class Source:
    """One Application source: a directory of this repo, a Helm chart (from a Helm repository by
    `chart`, or an OCI chart by `path: .`), or a `ref` to this repo for values files."""

    repo_url: str
    revision: str
    path: str | None = None
    chart: str | None = None
    ref: str | None = None
    value_files: tuple[str, ...] = ()
    release_name: str | None = None

    def as_k8s(self) -> dict[str, Any]:
        if sum(x is not None for x in (self.path, self.chart, self.ref)) != 1:
            raise BuildError(f"source {self.repo_url} needs exactly one of a path, a chart or a ref")
        helm = {"releaseName": self.release_name, "valueFiles": list(self.value_files)}
        return drop_empty_fields(
            {
                "repoURL": self.repo_url,
                "targetRevision": self.revision,
                "path": self.path,
                "chart": self.chart,
                "ref": self.ref,
                "helm": helm,
            }
        )


@dataclass(frozen=True)
class Sync:
    automated: bool
    prune: bool
    self_heal: bool
    allow_empty: bool
    options: tuple[str, ...]
    retry_limit: int
    backoff: str
    factor: int
    max_backoff: str

    def as_k8s(self) -> dict[str, Any]:
        policy: dict[str, Any] = {
            "syncOptions": sorted(self.options),
            "retry": {
                "limit": self.retry_limit,
                "backoff": {"duration": self.backoff, "factor": self.factor, "maxDuration": self.max_backoff},
            },
        }
        if self.automated:
            policy["automated"] = {"prune": self.prune, "selfHeal": self.self_heal, "allowEmpty": self.allow_empty}
        return policy


@dataclass(frozen=True)
class IgnoreDifference:
    group: str
    kind: str
    json_pointers: tuple[str, ...]

    def as_k8s(self) -> dict[str, Any]:
        if not self.json_pointers or not all(p.startswith("/") for p in self.json_pointers):
            raise BuildError(f"ignoreDifferences for {self.kind} needs JSON pointers starting with '/'")
        return {"group": self.group, "kind": self.kind, "jsonPointers": list(self.json_pointers)}


def application(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    project: str,
    sources: Sequence[Source],
    destination_namespace: str,
    wave: int,
    sync: Sync,
    cascade_delete: bool,
    ignore_differences: Sequence[IgnoreDifference] = (),
    server: str = IN_CLUSTER,
) -> dict[str, Any]:
    """An Application; one source is written as `source`, several as `sources` (multi-source)."""
    if not sources:
        raise BuildError(f"application {name} needs at least one source")
    if not project:
        raise BuildError(f"application {name} needs a project")
    rendered = [s.as_k8s() for s in sources]
    meta = metadata(name, identity, namespace, annotations={WAVE: str(wave)})
    if cascade_delete:
        meta["finalizers"] = [RESOURCES_FINALIZER]
    spec: dict[str, Any] = {
        "project": project,
        "destination": {"server": server, "namespace": destination_namespace},
        "syncPolicy": sync.as_k8s(),
        "ignoreDifferences": [d.as_k8s() for d in sorted(ignore_differences, key=lambda d: (d.group, d.kind))],
        "revisionHistoryLimit": 10,
    }
    if len(rendered) == 1:
        spec["source"] = rendered[0]
    else:
        spec["sources"] = rendered
    return k8s_object(ARGOCD_API, "Application", meta, spec=spec)


@dataclass(frozen=True)
class SyncWindow:
    kind: str
    schedule: str
    duration: str
    time_zone: str
    manual_sync: bool
    applications: tuple[str, ...]
    description: str

    def as_k8s(self) -> dict[str, Any]:
        if self.kind not in ("allow", "deny"):
            raise BuildError(f"sync window kind must be allow or deny, not {self.kind!r}")
        return {
            "kind": self.kind,
            "schedule": self.schedule,
            "duration": self.duration,
            "timeZone": self.time_zone,
            "manualSync": self.manual_sync,
            "applications": list(self.applications),
            "description": self.description,
        }


@dataclass(frozen=True)
class ProjectRole:
    name: str
    description: str
    groups: tuple[str, ...]
    policies: tuple[str, ...]

    def as_k8s(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "groups": list(self.groups), "policies": list(self.policies)}


@dataclass(frozen=True)
class ProjectSpec:
    description: str
    source_repos: tuple[str, ...]
    destination_namespaces: tuple[str, ...]
    cluster_resources: tuple[tuple[str, str], ...] = ()  # (group, kind); empty: no cluster-scoped objects
    roles: tuple[ProjectRole, ...] = ()
    windows: tuple[SyncWindow, ...] = ()
    orphaned_warn: bool = True
    server: str = IN_CLUSTER


def app_project(name: str, namespace: str, identity: Identity, spec: ProjectSpec) -> dict[str, Any]:
    """An AppProject: what its Applications may deploy, from where, to where, by whom and when."""
    if not spec.source_repos:
        raise BuildError(f"project {name} needs at least one source repository")
    if not spec.destination_namespaces:
        raise BuildError(f"project {name} needs at least one destination namespace")
    body = {
        "description": spec.description,
        "sourceRepos": sorted(set(spec.source_repos)),
        "destinations": [{"server": spec.server, "namespace": ns} for ns in sorted(set(spec.destination_namespaces))],
        # Empty means absent, and an AppProject without a whitelist may create no cluster-scoped
        # object at all: exactly what the services project should get.
        "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in sorted(set(spec.cluster_resources))],
        "orphanedResources": {"warn": spec.orphaned_warn},
        "roles": [r.as_k8s() for r in sorted(spec.roles, key=lambda r: r.name)],
        "syncWindows": [w.as_k8s() for w in spec.windows],
    }
    return k8s_object(ARGOCD_API, "AppProject", metadata(name, identity, namespace), spec=body)


def cluster_entry(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    server: str,
    labels: Mapping[str, str],
    store_kind: str,
    store_name: str,
    remote_key: str,
    refresh_interval: str,
) -> dict[str, Any]:
    """An ExternalSecret whose template is Argo CD's declarative cluster Secret.

    Only the connection `config` (EKS IAM role, CA data) comes from the cloud secret store; the
    name, server and the labels ApplicationSets select on are generated here.
    """
    if not server.startswith("https://"):
        raise BuildError(f"cluster entry {name}: server must be an https:// URL, not {server!r}")
    secret_labels = {"argocd.argoproj.io/secret-type": "cluster", **labels}
    return k8s_object(
        "external-secrets.io/v1",
        "ExternalSecret",
        metadata(f"cluster-{name}", identity, namespace),
        spec={
            "refreshInterval": refresh_interval,
            "secretStoreRef": {"kind": store_kind, "name": store_name},
            "target": {
                "name": f"cluster-{name}",
                "creationPolicy": "Owner",
                "template": {
                    "engineVersion": "v2",
                    "metadata": {"labels": dict(sorted(secret_labels.items()))},
                    "data": {"name": name, "server": server, "config": "{{ .config }}"},
                },
            },
            "data": [{"secretKey": "config", "remoteRef": {"key": remote_key, "property": "config"}}],
        },
    )


def notifications_config_map(namespace: str, identity: Identity, data: Mapping[str, str]) -> dict[str, Any]:
    """argocd-notifications-cm: Argo CD reads it by this fixed name (no content hash, unlike app config)."""
    if not data:
        raise BuildError("argocd-notifications-cm needs at least one service, trigger or template")
    return k8s_object(
        "v1",
        "ConfigMap",
        metadata("argocd-notifications-cm", identity, namespace),
        data=dict(sorted(data.items())),
    )
