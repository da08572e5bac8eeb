"""Reading one side of a change: the compiled manifests of each cluster, as Argo CD would apply them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mnops import yamlio
from mnops.infra.model import infra_namespace

Doc = dict[str, Any]


def clusters(*roots: Path) -> list[str]:
    """Every cluster with manifests on either side, in name order (added and removed ones included)."""
    names: set[str] = set()
    for root in roots:
        names |= {p.parent.name for p in (root / "compiled").glob("*/manifests") if p.is_dir()}
    return sorted(names)


def fingerprint(folder: Path) -> dict[str, bytes]:
    """Every file under a folder by relative path, with its bytes; empty if the folder is absent."""
    return (
        {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} if folder.is_dir() else {}
    )


def changed_clusters(base_root: Path, head_root: Path) -> list[str]:
    """Clusters whose compiled folder differs between the sides: the only ones a section needs to evaluate."""
    return [
        cluster
        for cluster in clusters(base_root, head_root)
        if fingerprint(base_root / "compiled" / cluster) != fingerprint(head_root / "compiled" / cluster)
    ]


def managers(*parameter_sets: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """cluster -> the management cluster that creates its cloud resources (infra.management_cluster), any side."""
    found: dict[str, str] = {}
    for parameters in parameter_sets:
        for cluster, p in parameters.items():
            manager = (p.get("infra") or {}).get("management_cluster")
            if manager and manager != cluster:
                found.setdefault(cluster, str(manager))
    return found


def managed_folder(root: Path, cluster: str, manager: str) -> Path:
    """Where the management cluster's compile puts this cluster's managed resources (ClusterInfra.namespace)."""
    return root / "compiled" / manager / "infra" / infra_namespace(cluster)


def managed_changed(base_root: Path, head_root: Path, manager_of: Mapping[str, str]) -> list[str]:
    """Clusters whose managed resources in the management cluster's tree differ between the sides (a
    node group, RDS or ElastiCache setting alone leaves compiled/<cluster>/ as it was)."""
    return sorted(
        cluster
        for cluster, manager in manager_of.items()
        if fingerprint(managed_folder(base_root, cluster, manager)) != fingerprint(managed_folder(head_root, cluster, manager))
    )


def owner(target: str, namespace: str, manager_of: Mapping[str, str]) -> str:
    """The cluster an object of `target` is for: the workload cluster when it is one of the managed
    resources `target` creates for it (namespace infra-<cluster>), else `target` itself."""
    return next((c for c, m in sorted(manager_of.items()) if m == target and infra_namespace(c) == namespace), target)


def managed_objects(root: Path, cluster: str, manager: str | None, *files: str) -> list[Doc]:
    """Objects of the named files (e.g. "securitygroupingressrule") in the cluster's folder of the management
    cluster's tree; none when no management cluster creates its cloud resources or the files are absent."""
    if manager is None:
        return []
    folder = managed_folder(root, cluster, manager)
    docs: list[Doc] = []
    for path in (folder / f"{name}.yaml" for name in files):
        if path.is_file():
            docs.extend(d for d in yamlio.load_all_bytes(path.read_bytes()) if isinstance(d, dict) and "kind" in d)
    return docs


def documents(root: Path, cluster: str) -> list[Doc]:
    """The Kubernetes objects of compiled/<cluster>/manifests, in file order; none if the cluster is absent.

    Each file is parsed once per process and content (mnops.yamlio.load_all_bytes), however many
    sections ask; callers must not modify what they get."""
    folder = root / "compiled" / cluster / "manifests"
    docs: list[Doc] = []
    for path in sorted(folder.rglob("*.yaml")):
        docs.extend(doc for doc in yamlio.load_all_bytes(path.read_bytes()) if isinstance(doc, dict) and "kind" in doc)
    return docs


def ref(doc: Doc) -> str:
    """`Kind namespace/name`, how every section names an object."""
    meta = doc.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{doc['kind']} {namespace + '/' if namespace else ''}{meta.get('name', '?')}"
