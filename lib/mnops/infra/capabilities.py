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
  Azure client-ID annotation        -> a GUID recorded on one of the cluster's user-assigned identities
                                       (mnops.workload_identity), federated with that ServiceAccount
  gateway hostname                  -> external-dns watching routes in a zone the hostname is in, or (once
                                       CloudFront fronts the gateway) alias records in the cluster's zone
  load-balancer security group      -> a SecurityGroup of that name in the cluster's infrastructure
  CloudFront origin name            -> external-dns publishing it from the gateway Service's annotation
  a `.../managed/...` secret read   -> a PushSecret on the management cluster writing that key and
                                       property for this cluster, from a Secret a managed resource writes
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mnops.workload_identity import AZURE_CLIENT_ID, RECORDED_CLIENT_ID

EBS_PROVISIONER = "ebs.csi.aws.com"
LB_SECURITY_GROUPS = "service.beta.kubernetes.io/aws-load-balancer-security-groups"
EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"
# IRSA: EKS's webhook injects a web-identity token for this role into the pods, and the AWS SDKs use it
# before any Pod Identity credentials; the role must trust the cluster's OIDC provider.
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
# EKS Pod Identity (inventory/classes/cloud/aws.yml): read by no controller, the association binds the role.
POD_IDENTITY_ANNOTATION = "machinenativeops.io/pod-identity-role"
IRSA, POD_IDENTITY = "IRSA (web identity)", "EKS Pod Identity"
MECHANISM_OF = {IRSA_ANNOTATION: IRSA, POD_IDENTITY_ANNOTATION: POD_IDENTITY}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


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


@dataclass
class Usage:
    """What the compiled objects of one workload cluster rely on."""

    uses: set[str] = field(default_factory=set)  # "metrics", "aws-load-balancer"
    storage_classes: set[str] = field(default_factory=set)
    identities: list[Identity] = field(default_factory=list)
    hostnames: set[str] = field(default_factory=set)
    security_groups: set[str] = field(default_factory=set)
    published: set[str] = field(default_factory=set)  # names external-dns publishes from annotations
    azure_clients: set[tuple[str, tuple[str, str] | None]] = field(default_factory=set)  # (client ID, ServiceAccount)

    def add(self, path: Path, doc: dict[str, Any]) -> None:
        if doc.get("kind") == "HorizontalPodAutoscaler":
            self.uses.add("metrics")
        if doc.get("kind") == "Gateway":
            self.hostnames |= {str(item["hostname"]) for item in doc["spec"].get("listeners", []) if item.get("hostname")}
        self.identities += _token_exchanges(doc)
        for key, value in _walk(doc):
            if key in {"storageClass", "storageClassName"} and isinstance(value, str) and path.parent.name != "argocd":
                self.storage_classes.add(value)
            elif key.startswith("service.beta.kubernetes.io/aws-load-balancer-"):
                self.uses.add("aws-load-balancer")
                if key == LB_SECURITY_GROUPS:
                    self.security_groups |= {g.strip() for g in str(value).split(",") if g.strip()}
            elif key == EXTERNAL_DNS_HOSTNAME:
                self.published |= {h.strip() for h in str(value).split(",") if h.strip()}
            elif key == AZURE_CLIENT_ID:
                self.azure_clients.add((str(value), _service_account(doc)))
            elif key in MECHANISM_OF:
                self.identities.append(Identity(str(value).rsplit("/", 1)[-1], MECHANISM_OF[key], _service_account(doc)))


def capability_gaps(cluster_dir: Path, infra_dir: Path) -> list[str]:
    """One line per capability the cluster's objects use but nothing in the tree provides."""
    apps = _chart_apps(cluster_dir)
    usage = Usage()
    for path, doc in _documents(cluster_dir):
        usage.add(path, doc)
    gaps: list[str] = []
    if "metrics" in usage.uses and "metrics-server" not in apps:
        gaps.append("HorizontalPodAutoscalers need the metrics API: no metrics-server Application")
    provided = {sc["name"]: sc for sc in _values(cluster_dir, "aws-ebs-csi-driver").get("storageClasses", [])}
    for name in sorted(usage.storage_classes):
        if name not in provided or "aws-ebs-csi-driver" not in apps:
            gaps.append(f"volumes use StorageClass {name!r}: no StorageClass of that name from an installed CSI driver")
    if "aws-load-balancer" in usage.uses and "aws-load-balancer-controller" not in apps:
        gaps.append("aws-load-balancer-* annotations need the AWS Load Balancer Controller: no Application")
    gaps += _identity_gaps(usage.identities, infra_dir)
    gaps += _azure_client_gaps(usage.azure_clients, infra_dir)
    infra = _by_kind(infra_dir)
    # Once CloudFront fronts the gateway, the public names are alias records of the cluster's own zone.
    records = [r["spec"]["forProvider"] for r in infra.get("Record", {}).values()]
    aliased = {str(r["name"]) for r in records if "alias" in r}
    gaps += _dns_gaps(cluster_dir, usage.hostnames - aliased, apps)
    gaps += _edge_gaps(cluster_dir, infra, usage)
    gaps += _publishing_gaps(cluster_dir, infra_dir.parent)
    return gaps


def _by_kind(infra_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    docs: dict[str, dict[str, dict[str, Any]]] = {}
    for _, doc in _documents(infra_dir) if infra_dir.is_dir() else iter(()):
        docs.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return docs


def _edge_gaps(cluster_dir: Path, infra: dict[str, dict[str, dict[str, Any]]], usage: Usage) -> list[str]:
    gaps = []
    names = {str(g["spec"]["forProvider"].get("name")) for g in infra.get("SecurityGroup", {}).values()}
    missing = sorted(usage.security_groups - names)
    gaps += [f"load-balancer security group {g!r}: no SecurityGroup of that name" for g in missing]
    origins = {o["domainName"] for d in infra.get("Distribution", {}).values() for o in d["spec"]["forProvider"]["origin"]}
    sources = set(_values(cluster_dir, "external-dns").get("sources", []))
    for origin in sorted(origins):
        if origin not in usage.published or "service" not in sources:
            gaps.append(f"CloudFront origin {origin!r}: no Service annotation external-dns publishes it from")
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
    docs = _by_kind(infra_dir)
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


def _azure_client_gaps(clients: set[tuple[str, tuple[str, str] | None]], infra_dir: Path) -> list[str]:
    """Azure's webhook exchanges the pod's token for the identity with this client ID: it must be a GUID that
    the cluster's layer recorded on one of its user-assigned identities, federated with the ServiceAccount."""
    if not clients:
        return []
    docs = _by_kind(infra_dir)
    owner = {
        str(ident["metadata"]["annotations"][RECORDED_CLIENT_ID]): name
        for name, ident in docs.get("UserAssignedIdentity", {}).items()
        if RECORDED_CLIENT_ID in ident["metadata"].get("annotations", {})
    }
    subjects: dict[str, set[str]] = {}
    for credential in docs.get("FederatedIdentityCredential", {}).values():
        body = credential["spec"]["forProvider"]
        subjects.setdefault(str((body.get("parentIdRef") or {}).get("name")), set()).add(str(body.get("subject")))
    gaps: list[str] = []
    for client, account in sorted(clients, key=lambda c: (c[0], c[1] or ("", ""))):
        if not GUID.match(client):
            gaps.append(f"{AZURE_CLIENT_ID} {client!r}: not a client ID (a GUID)")
        elif client not in owner:
            gaps.append(f"{AZURE_CLIENT_ID} {client!r}: no user-assigned identity of the cluster has this client ID recorded")
        elif account and f"system:serviceaccount:{account[0]}:{account[1]}" not in subjects.get(owner[client], set()):
            namespace, name = account
            missing = f"identity {owner[client]!r} has no federated credential for {namespace}/{name}"
            gaps.append(f"{AZURE_CLIENT_ID} {client!r}: {missing}")
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


def managed_reads(cluster_dir: Path) -> set[tuple[str, str]]:
    """(remote key, property) of every published managed-service value the cluster's ExternalSecrets read."""
    reads = set()
    for _, doc in _documents(cluster_dir / "manifests" / "secrets"):
        if doc.get("kind") == "ExternalSecret":
            for item in doc["spec"].get("data", []):
                ref = item["remoteRef"]
                if "/managed/" in ref["key"]:
                    reads.add((ref["key"], ref.get("property", "")))
    return reads


def published_values(management_infra: Path) -> dict[tuple[str, str], str]:
    """(full remote key, property) -> 'namespace/PushSecret' for every value the management cluster
    pushes from a Secret that one of its managed resources writes (connection details or generated password)."""
    found: dict[tuple[str, str], str] = {}
    for folder in sorted(p for p in management_infra.iterdir() if p.is_dir()) if management_infra.is_dir() else []:
        docs = [doc for _, doc in _documents(folder)]
        stores = {d["metadata"]["name"]: d["spec"]["provider"]["aws"] for d in docs if d.get("kind") == "SecretStore"}
        written = {str(v["name"]) for d in docs for k, v in _walk(d.get("spec", {}))
                   if k in {"writeConnectionSecretToRef", "passwordSecretRef", "authTokenSecretRef"}}  # fmt: skip
        for push in (d for d in docs if d.get("kind") == "PushSecret"):
            if push["spec"]["selector"]["secret"]["name"] not in written:
                continue  # nothing would ever fill its source
            for ref in push["spec"]["secretStoreRefs"]:
                store = stores.get(ref["name"])
                if store is None:
                    continue  # a store of another namespace is not this PushSecret's
                for item in push["spec"]["data"]:
                    remote = item["match"]["remoteRef"]
                    key = (store["prefix"] + remote["remoteKey"], remote.get("property", ""))
                    found[key] = f"{folder.name}/{push['metadata']['name']}"
    return found


def _publishing_gaps(cluster_dir: Path, management_infra: Path) -> list[str]:
    reads = managed_reads(cluster_dir)
    if not reads:
        return []
    published = published_values(management_infra)
    return [
        f"secret {key} property {prop!r} is read but no PushSecret publishes it" for key, prop in sorted(reads - set(published))
    ]
