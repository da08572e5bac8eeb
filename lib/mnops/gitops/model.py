"""Frozen dataclasses for the `argocd`, `charts` and `apps` inventory sections.

Built only from parameters that passed the schema and the rules, so fields are present and typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnops import units


@dataclass(frozen=True)
class GroupKind:
    group: str
    kind: str

    def as_k8s(self) -> dict[str, str]:
        return {"group": self.group, "kind": self.kind}


@dataclass(frozen=True)
class Retry:
    limit: int
    backoff: str
    factor: int
    max_backoff: str


@dataclass(frozen=True)
class SyncPolicy:
    automated: bool
    prune: bool
    self_heal: bool
    allow_empty: bool
    cascade_delete: bool
    options: tuple[tuple[str, bool], ...]
    retry: Retry

    def sync_options(self, extra: tuple[str, ...] = ()) -> list[str]:
        """Argo CD's `Name=true|false` strings, sorted, plus per-Application extras."""
        return sorted([f"{name}={'true' if on else 'false'}" for name, on in self.options] + list(extra))


@dataclass(frozen=True)
class Window:
    kind: str
    description: str
    schedule: str
    duration: str
    time_zone: str
    manual_sync: bool
    applications: tuple[str, ...]

    @property
    def duration_seconds(self) -> int:
        return units.duration_seconds(self.duration)


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    groups: tuple[str, ...]
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Notifications:
    webhook_secret_key: str
    channel: str
    triggers: tuple[str, ...]


@dataclass(frozen=True)
class ClusterEntry:
    secret_store_kind: str
    secret_store: str
    remote_key: str
    refresh_interval: str


@dataclass(frozen=True)
class Chart:
    key: str
    repo_url: str
    chart: str
    version: str
    namespace: str
    wave: int
    enabled: bool
    app_version: str | None = None

    @property
    def is_oci(self) -> bool:
        return self.repo_url.startswith("oci://")

    @property
    def argocd_repo_url(self) -> str:
        """Argo CD (3.1+) reads an OCI chart natively as `oci://<registry>/<path>/<chart>` with
        `path: .`, so public OCI charts need no repository entry; Helm repositories stay as they are."""
        return f"{self.repo_url.rstrip('/')}/{self.chart}" if self.is_oci else self.repo_url


@dataclass(frozen=True)
class AppFolder:
    name: str
    wave: int
    description: str


@dataclass(frozen=True)
class GitOps:
    namespace: str
    url: str
    revision: str
    sync: SyncPolicy
    hpa_scaled_kinds: tuple[GroupKind, ...]
    windows: tuple[Window, ...]
    roles: tuple[Role, ...]
    orphaned_warn: bool
    platform_cluster_resources: tuple[GroupKind, ...]
    high_availability: bool
    notifications: Notifications
    cluster_entry: ClusterEntry
    charts: tuple[Chart, ...]
    folders: tuple[AppFolder, ...]

    def chart(self, key: str) -> Chart:
        for chart in self.charts:
            if chart.key == key:
                return chart
        raise KeyError(key)


def _group_kinds(items: list[Mapping[str, str]]) -> tuple[GroupKind, ...]:
    unique = {(i["group"], i["kind"]) for i in items}  # reclass appends lists: classes may repeat an entry
    return tuple(GroupKind(g, k) for g, k in sorted(unique))


def build_gitops(parameters: Mapping[str, Any]) -> GitOps:
    a = parameters["argocd"]
    s = a["sync"]
    r = s["retry"]
    sync = SyncPolicy(
        automated=s["automated"],
        prune=s["prune"],
        self_heal=s["self_heal"],
        allow_empty=s["allow_empty"],
        cascade_delete=s["cascade_delete"],
        options=tuple(sorted(s["options"].items())),
        retry=Retry(r["limit"], r["backoff"], r["factor"], r["max_backoff"]),
    )
    windows = tuple(
        Window(
            w["kind"], w["description"], w["schedule"], w["duration"], w["time_zone"], w["manual_sync"], tuple(w["applications"])
        )
        for w in a["windows"]
    )
    roles = tuple(
        Role(name, role["description"], tuple(sorted(set(role["groups"]))), tuple(sorted(set(role["actions"]))))
        for name, role in sorted(a["roles"].items())
    )
    n = a["notifications"]
    e = a["cluster_entry"]
    charts = tuple(
        Chart(key, c["repo_url"], c["chart"], c["version"], c["namespace"], c["wave"], c["enabled"], c.get("app_version"))
        for key, c in sorted(parameters["charts"].items())
    )
    folders = tuple(AppFolder(name, f["wave"], f["description"]) for name, f in sorted(parameters["apps"].items()))
    return GitOps(
        namespace=a["namespace"],
        url=a["url"],
        revision=a["revision"],
        sync=sync,
        hpa_scaled_kinds=_group_kinds(a["hpa_scaled_kinds"]),
        windows=windows,
        roles=roles,
        orphaned_warn=a["orphaned_resources"]["warn"],
        platform_cluster_resources=_group_kinds(a["platform_cluster_resources"]),
        high_availability=a["high_availability"],
        notifications=Notifications(n["webhook_secret_key"], n["channel"], tuple(sorted(set(n["triggers"])))),
        cluster_entry=ClusterEntry(e["secret_store_kind"], e["secret_store"], e["remote_key"], e["refresh_interval"]),
        charts=charts,
        folders=folders,
    )
