"""What a compiled cluster uses, and whether the tree also provides it (a bare EKS cluster does not).

    capability_gaps(compiled / "prod", compiled / "management" / "infra" / "infra-prod")  # [] when complete

Read from the compiled files only, as Argo CD and the API server will see them:
  HorizontalPodAutoscaler           -> the metrics API (a metrics-server chart Application)
  storage class of a volume claim   -> a StorageClass of that name whose provisioner is installed
  aws-load-balancer-* annotations   -> the AWS Load Balancer Controller
  workload-identity annotation      -> an IAM role, a Pod Identity association and the agent add-on
  gateway hostname                  -> external-dns watching routes in a zone the hostname is in
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

EBS_PROVISIONER = "ebs.csi.aws.com"
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def _documents(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(root.rglob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader):
            if isinstance(doc, dict):
                yield path, doc


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in a document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _chart_apps(cluster_dir: Path) -> dict[str, dict[str, Any]]:
    """Chart name -> its Argo CD Application, from the cluster's own manifests/argocd."""
    apps: dict[str, dict[str, Any]] = {}
    for _, doc in _documents(cluster_dir / "manifests" / "argocd"):
        if doc.get("kind") != "Application":
            continue
        for source in doc["spec"].get("sources", [doc["spec"].get("source", {})]):
            if source.get("chart"):
                apps[source["chart"]] = doc
            elif source.get("path") == "." and "repoURL" in source:
                apps[source["repoURL"].rsplit("/", 1)[-1]] = doc  # an OCI chart: the name ends the URL
    return apps


def _values(cluster_dir: Path, chart: str) -> dict[str, Any]:
    path = cluster_dir / "helm-values" / f"{chart}.yaml"
    loaded = yaml.safe_load(path.read_text()) if path.exists() else None
    return loaded if isinstance(loaded, dict) else {}


def capability_gaps(cluster_dir: Path, infra_dir: Path) -> list[str]:
    """One line per capability the cluster's objects use but nothing in the tree provides."""
    apps = _chart_apps(cluster_dir)
    used_classes: set[str] = set()
    uses: set[str] = set()
    roles: set[str] = set()
    hostnames: set[str] = set()
    for path, doc in _documents(cluster_dir):
        if doc.get("kind") == "HorizontalPodAutoscaler":
            uses.add("metrics")
        if doc.get("kind") == "Gateway":
            hostnames |= {str(listener["hostname"]) for listener in doc["spec"].get("listeners", []) if listener.get("hostname")}
        for key, value in _walk(doc):
            if key in {"storageClass", "storageClassName"} and isinstance(value, str) and path.parent.name != "argocd":
                used_classes.add(value)
            elif key.startswith("service.beta.kubernetes.io/aws-load-balancer-"):
                uses.add("aws-load-balancer")
            elif key == ROLE_ANNOTATION:
                roles.add(str(value).rsplit("/", 1)[-1])
    gaps: list[str] = []
    if "metrics" in uses and "metrics-server" not in apps:
        gaps.append("HorizontalPodAutoscalers need the metrics API: no metrics-server Application")
    provided = {sc["name"]: sc for sc in _values(cluster_dir, "aws-ebs-csi-driver").get("storageClasses", [])}
    for name in sorted(used_classes):
        if name not in provided or "aws-ebs-csi-driver" not in apps:
            gaps.append(f"volumes use StorageClass {name!r}: no StorageClass of that name from an installed CSI driver")
    if "aws-load-balancer" in uses and "aws-load-balancer-controller" not in apps:
        gaps.append("aws-load-balancer-* annotations need the AWS Load Balancer Controller: no Application")
    gaps += _identity_gaps(roles, infra_dir)
    gaps += _dns_gaps(cluster_dir, hostnames, apps)
    return gaps


def _identity_gaps(roles: set[str], infra_dir: Path) -> list[str]:
    if not roles:
        return []
    kinds: dict[str, set[str]] = {}
    for _, doc in _documents(infra_dir) if infra_dir.is_dir() else iter(()):
        kinds.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
    gaps = [f"workload identity {r!r}: no IAM Role" for r in sorted(roles - kinds.get("Role", set()))]
    gaps += [
        f"workload identity {r!r}: no PodIdentityAssociation" for r in sorted(roles - kinds.get("PodIdentityAssociation", set()))
    ]
    if "eks-pod-identity-agent" not in kinds.get("Addon", set()):
        gaps.append("Pod Identity associations need the eks-pod-identity-agent add-on")
    return gaps


def _dns_gaps(cluster_dir: Path, hostnames: set[str], apps: dict[str, dict[str, Any]]) -> list[str]:
    if not hostnames:
        return []
    if "external-dns" not in apps:
        return [f"gateway hostnames {sorted(hostnames)} need DNS records: no external-dns Application"]
    values = _values(cluster_dir, "external-dns")
    gaps = []
    if not {"gateway-httproute", "gateway-grpcroute", "gateway-tlsroute"} & set(values.get("sources", [])):
        gaps.append("external-dns does not watch Gateway API routes: the gateway's hostnames get no records")
    zones = values.get("domainFilters", [])
    for host in sorted(hostnames):
        if not any(host == z or host.endswith("." + z) for z in zones):
            gaps.append(f"gateway hostname {host!r} is in none of external-dns's zones {zones}")
    return gaps
