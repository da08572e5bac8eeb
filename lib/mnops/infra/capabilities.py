"""What a compiled cluster uses, and whether the tree also provides it (a bare EKS cluster does not).

    capability_gaps(compiled / "prod", compiled / "management" / "infra" / "infra-prod")  # [] when complete

Read from the compiled files only, as Argo CD and the API server will see them:
  HorizontalPodAutoscaler           -> the metrics API (a metrics-server chart Application)
  storage class of a volume claim   -> a StorageClass of that name whose provisioner is installed
  aws-load-balancer-* annotations   -> the AWS Load Balancer Controller
  workload-identity annotation      -> an IAM role that trusts the mechanism the annotation stands for;
                                       Pod Identity (our choice on EKS) also needs an association and the
                                       agent; IRSA (annotation or token exchange) on a role that trusts
                                       only Pod Identity is a gap
  gateway hostname                  -> external-dns watching routes in a zone the hostname is in
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

EBS_PROVISIONER = "ebs.csi.aws.com"
# IRSA: EKS's webhook injects a web-identity token for this role into the pods, and the AWS SDKs use it
# before any Pod Identity credentials; the role must trust the cluster's OIDC provider.
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
# EKS Pod Identity (inventory/classes/cloud/aws.yml): read by no controller, the association binds the role.
POD_IDENTITY_ANNOTATION = "machinenativeops.io/pod-identity-role"
IRSA, POD_IDENTITY = "IRSA (web identity)", "EKS Pod Identity"
MECHANISM_OF = {IRSA_ANNOTATION: IRSA, POD_IDENTITY_ANNOTATION: POD_IDENTITY}


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
    identities: list[Identity] = []
    hostnames: set[str] = set()
    for path, doc in _documents(cluster_dir):
        if doc.get("kind") == "HorizontalPodAutoscaler":
            uses.add("metrics")
        if doc.get("kind") == "Gateway":
            hostnames |= {str(listener["hostname"]) for listener in doc["spec"].get("listeners", []) if listener.get("hostname")}
        identities += _token_exchanges(doc)
        for key, value in _walk(doc):
            if key in {"storageClass", "storageClassName"} and isinstance(value, str) and path.parent.name != "argocd":
                used_classes.add(value)
            elif key.startswith("service.beta.kubernetes.io/aws-load-balancer-"):
                uses.add("aws-load-balancer")
            elif key in MECHANISM_OF:
                identities.append(Identity(str(value).rsplit("/", 1)[-1], MECHANISM_OF[key], _service_account(doc)))
    gaps: list[str] = []
    if "metrics" in uses and "metrics-server" not in apps:
        gaps.append("HorizontalPodAutoscalers need the metrics API: no metrics-server Application")
    provided = {sc["name"]: sc for sc in _values(cluster_dir, "aws-ebs-csi-driver").get("storageClasses", [])}
    for name in sorted(used_classes):
        if name not in provided or "aws-ebs-csi-driver" not in apps:
            gaps.append(f"volumes use StorageClass {name!r}: no StorageClass of that name from an installed CSI driver")
    if "aws-load-balancer" in uses and "aws-load-balancer-controller" not in apps:
        gaps.append("aws-load-balancer-* annotations need the AWS Load Balancer Controller: no Application")
    gaps += _identity_gaps(identities, infra_dir)
    gaps += _dns_gaps(cluster_dir, hostnames, apps)
    return gaps


@dataclass(frozen=True)
class Identity:
    """A role an object of the workload cluster expects to act as, and how it expects to get it."""

    role: str  # the IAM role's name (or, for a token exchange, the object that makes it)
    mechanism: str  # IRSA or POD_IDENTITY
    service_account: tuple[str, str] | None = None  # (namespace, name) when the object is the ServiceAccount
    exchange: bool = False  # a secret store that trades a service-account token for the role itself


def _service_account(doc: dict[str, Any]) -> tuple[str, str] | None:
    if doc.get("kind") != "ServiceAccount":
        return None
    return str(doc["metadata"].get("namespace", "")), str(doc["metadata"]["name"])


def _token_exchanges(doc: dict[str, Any]) -> list[Identity]:
    """A secret store that trades a service-account token for a role (web identity) uses IRSA too."""
    if doc.get("kind") not in {"SecretStore", "ClusterSecretStore"}:
        return []
    aws = (doc.get("spec", {}).get("provider") or {}).get("aws") or {}
    if "jwt" not in (aws.get("auth") or {}):
        return []
    return [Identity(f"{doc['kind']} {doc['metadata']['name']}", IRSA, exchange=True)]


def _as_set(value: Any) -> set[str]:
    return {value} if isinstance(value, str) else {str(v) for v in value or ()}


def trusted_mechanisms(role: dict[str, Any]) -> set[str]:
    """Which workload-identity mechanisms an IAM Role's trust policy lets assume it."""
    policy = json.loads(role["spec"]["forProvider"].get("assumeRolePolicy") or "{}")
    found = set()
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal")
        if statement.get("Effect") != "Allow" or not isinstance(principal, dict):
            continue
        actions = _as_set(statement.get("Action"))
        if "pods.eks.amazonaws.com" in _as_set(principal.get("Service")) and {"sts:AssumeRole", "sts:TagSession"} <= actions:
            found.add(POD_IDENTITY)
        if principal.get("Federated") and "sts:AssumeRoleWithWebIdentity" in actions:
            found.add(IRSA)
    return found


def _identity_gaps(identities: list[Identity], infra_dir: Path) -> list[str]:
    if not identities:
        return []
    docs: dict[str, dict[str, dict[str, Any]]] = {}
    for _, doc in _documents(infra_dir) if infra_dir.is_dir() else iter(()):
        docs.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    roles, associations = docs.get("Role", {}), docs.get("PodIdentityAssociation", {})
    trusted = {name: trusted_mechanisms(role) for name, role in roles.items()}
    gaps: list[str] = []
    for ident in sorted(set(identities), key=lambda i: (i.role, i.mechanism, i.service_account or ("", ""))):
        if ident.exchange:
            if not any(IRSA in mechanisms for mechanisms in trusted.values()):
                gaps.append(f"{ident.role} exchanges a service-account token ({IRSA}), but no role of the cluster trusts it")
            continue
        if ident.role not in roles:
            gaps.append(f"workload identity {ident.role!r}: no IAM Role")
            continue
        if ident.mechanism not in trusted[ident.role]:
            what = ", ".join(sorted(trusted[ident.role])) or "no workload-identity mechanism"
            gaps.append(f"workload identity {ident.role!r}: annotated for {ident.mechanism}, but the role trusts {what}")
        if ident.mechanism == POD_IDENTITY:
            gaps += _association_gaps(ident, associations)
    if any(i.mechanism == POD_IDENTITY for i in identities) and "eks-pod-identity-agent" not in docs.get("Addon", {}):
        gaps.append("Pod Identity associations need the eks-pod-identity-agent add-on")
    return gaps


def _association_gaps(ident: Identity, associations: dict[str, dict[str, Any]]) -> list[str]:
    bound = [
        a["spec"]["forProvider"]
        for a in associations.values()
        if (a["spec"]["forProvider"].get("roleArnRef") or {}).get("name") == ident.role
    ]
    if not bound:
        return [f"workload identity {ident.role!r}: no PodIdentityAssociation"]
    if ident.service_account and ident.service_account not in {(b["namespace"], b["serviceAccount"]) for b in bound}:
        namespace, name = ident.service_account
        return [f"workload identity {ident.role!r}: no PodIdentityAssociation binds ServiceAccount {namespace}/{name}"]
    return []


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
