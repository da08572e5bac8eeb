"""What `make compile` derives from the rendered charts, after Kapitan wrote compiled/ (scripts/compile.py).

Per cluster, from the renders of its enabled charts (cached by chart digest and values, so a warm
compile runs no Helm):

- manifests/network-policies/platform-networkpolicy.yaml: one NetworkPolicy per workload in the
  platform namespaces (monitoring, logging, tracing), from the flows the rendered objects and our
  manifests cause (mnops.security.platform_flows);
- manifests/argocd/application.yaml: each chart Application's Helm source pinned to the Kubernetes
  version and API versions its render used, so Argo CD renders the bytes that were validated.

The objects a derivation reads are kept per render as JSON beside the render cache, and each
cluster's derived files by a digest of everything they depend on: a warm compile parses and
derives nothing (it added 0.7 s of CPU before).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from mnops import yamlio
from mnops.cache_files import write_atomically
from mnops.charts.cluster import RenderedChart, Setup, render_clusters
from mnops.charts.compile_check import cache_root, chart_mirror, helm_binary
from mnops.charts.crd_summary import CRD_KIND
from mnops.charts.lock import LOCK_FILE, ChartLockError, read_lock
from mnops.charts.render import ChartRenderError, documents, kind_of, split_documents
from mnops.errors import BuildError
from mnops.gitops.compile_record import tool_versions
from mnops.inventory.model import Target, build_target
from mnops.kapitan_inventory import compiles_manifests
from mnops.security.model import managed_namespaces, security_settings
from mnops.security.platform_flows import Cluster, Identity, PlatformNetworkError, Ranges, Release, derive
from mnops.security.platform_network import workload_policies

SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)  # between the documents of a compiled file
POLICY_FILE = Path("manifests") / "network-policies" / "platform-networkpolicy.yaml"
APPLICATIONS = Path("manifests") / "argocd" / "application.yaml"
# The rendered kinds a derivation reads (CRDs only for their conversion webhook).
KINDS = frozenset({
    "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service", "ConfigMap", "Secret", "ServiceAccount",
    "RoleBinding", "ClusterRoleBinding", "ServiceMonitor", "PodMonitor", "Probe", "ScrapeConfig", "Prometheus",
    "Alertmanager", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService", "NetworkPolicy",
    "AnalysisTemplate", "ClusterAnalysisTemplate",
})  # fmt: skip
CLUSTER_SCOPED = frozenset({"ClusterRoleBinding", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
                            "APIService", CRD_KIND})  # fmt: skip


class ChartPassError(Exception):
    """Problems found in the charts' values, renders or what is derived from them, one line each."""

    def __init__(self, problems: Sequence[str], heading: str = "chart error") -> None:
        self.problems = tuple(problems)
        self.heading = heading
        super().__init__("\n".join(problems))


@cache
def _fingerprint() -> str:
    """Changes with this reader, so a cache written by an older one is never used."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


# What the derivation reads from our own manifests: the kinds above, Namespaces, and every kind the
# pod model makes pods of (mnops.review.reachability.pods). Rules, Applications and routes are skipped.
COMPILED_KINDS = KINDS | {"Namespace", "Rollout", "Cluster", "Pooler", "RedisReplication", "RedisSentinel", "Redis",
                          "RedisCluster", "Gateway"}  # fmt: skip


def compiled_objects(target_dir: Path) -> list[dict[str, Any]]:
    """The objects of compiled/<target>/manifests the derivation reads, in file order."""
    chunks = [
        chunk
        for path in sorted((target_dir / "manifests").rglob("*.yaml"))
        for chunk in split_documents(path.read_text(encoding="utf-8"))
        if kind_of(chunk) in COMPILED_KINDS
    ]
    return documents("\n---\n".join(chunks))


def _conversion_only(crd: dict[str, Any]) -> dict[str, Any]:
    """A CRD as the derivation needs it: its conversion webhook (the schemas are most of the bytes)."""
    return {"kind": CRD_KIND, "metadata": {"name": crd["metadata"]["name"]}, "spec": {"conversion": crd["spec"]["conversion"]}}


def release_objects(chart: RenderedChart, cache_dir: Path) -> tuple[dict[str, Any], ...]:
    """The objects of one render the derivation reads, namespaced as Argo CD applies them."""
    cached = cache_dir / f"{chart.cache_key}-{_fingerprint()}.json"
    if cached.exists():
        return tuple(json.loads(cached.read_text(encoding="utf-8")))
    chunks = [
        c for c in split_documents(chart.text)
        if kind_of(c) in KINDS or (kind_of(c) == CRD_KIND and "strategy: Webhook" in c)
    ]  # fmt: skip
    objects = []
    for rendered in documents("\n---\n".join(chunks)):
        obj = _conversion_only(rendered) if rendered.get("kind") == CRD_KIND else rendered
        meta = obj.setdefault("metadata", {})
        if obj["kind"] not in CLUSTER_SCOPED and not meta.get("namespace"):
            meta["namespace"] = chart.namespace  # Argo CD applies namespaced objects into the destination
        objects.append(obj)
    write_atomically(cached, json.dumps(objects, sort_keys=True))
    return tuple(objects)


def platform_namespaces(target: Target) -> list[str]:
    """Managed namespaces whose policies are derived here: all but the apps and data namespaces,
    whose paths come from the dependency graph (mnops.security.network)."""
    graph = {target.namespaces["apps"], target.namespaces.get("data")}
    return [ns for ns in managed_namespaces(target, security_settings(target)) if ns not in graph]


def ranges(parameters: Mapping[str, Any]) -> Ranges:
    """The node range is the cluster's network in the address plan (the API server's private ranges
    where a target has none); the API server answers on the network's private ranges."""
    network = parameters["network"]
    nodes = (parameters.get("infra") or {}).get("networks", {}).get(parameters["cluster"]["name"])
    return Ranges(nodes=(nodes,) if nodes else tuple(network["kube_api_cidrs"]), api=tuple(network["kube_api_cidrs"]))


def identity(parameters: Mapping[str, Any]) -> Identity:
    bound = parameters["cloud"]["workload_identity"]
    endpoints = tuple((str(e["cidr"]), int(e["port"])) for e in bound.get("credential_endpoints") or [])
    return Identity(str(bound["annotation"]), endpoints)


def cluster_model(target_dir: Path, parameters: Mapping[str, Any], charts: Sequence[RenderedChart], cache_dir: Path) -> Cluster:
    """Everything one cluster runs: its compiled manifests and its charts' renders."""
    target = build_target(parameters)
    releases = [Release(c.key, c.namespace, release_objects(c, cache_dir), frozenset(c.crd_group_kinds())) for c in charts]
    return Cluster(target.cluster.name, compiled_objects(target_dir), releases, frozenset(target.namespaces.values()),
                   frozenset(platform_namespaces(target)), ranges(parameters), identity(parameters))  # fmt: skip


def platform_policies(cluster: Cluster, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    target = build_target(parameters)
    namespaces = platform_namespaces(target)
    if not namespaces:
        return []
    flows = derive(cluster)
    endpoints = {pod.name: cluster.pod_endpoint(pod) for pod in cluster.pods if pod.namespace in namespaces}
    return workload_policies(target, namespaces, cluster.pods, flows, endpoints)


def pin_applications(path: Path, charts: Sequence[RenderedChart]) -> str:
    """The file's text with helm.kubeVersion and helm.apiVersions of each chart Application set to its render's inputs.

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
    return "---".join(chunks)


@cache
def _code_fingerprint() -> str:
    """Every library module and the tool versions: what decides a cluster's derived files besides its inputs."""
    digest = hashlib.sha256(tool_versions().encode())
    for path in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        digest.update(path.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _inputs_key(target_dir: Path, parameters: Mapping[str, Any], charts: Sequence[RenderedChart]) -> str:
    """Everything one cluster's derived files are a function of: its compiled manifests as Kapitan
    wrote them, its parameters, its renders' inputs (which decide their bytes) and the code."""
    digest = hashlib.sha256(_code_fingerprint().encode())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    for chart in charts:
        digest.update(f"{chart.key}\0{chart.cache_key}\0{chart.kube_version}\0{' '.join(chart.api_versions)}\0".encode())
    for path in sorted((target_dir / "manifests").rglob("*.yaml")):
        digest.update(path.relative_to(target_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _derive_cluster(target_dir: Path, parameters: Mapping[str, Any], charts: Sequence[RenderedChart], cache_dir: Path) -> None:
    """Write one cluster's derived files, from the cache when its inputs were seen before (a warm
    compile then neither parses its manifests nor derives anything)."""
    cached = cache_dir / f"{_inputs_key(target_dir, parameters, charts)}.outputs.json"
    if cached.exists():
        outputs: dict[str, str] = json.loads(cached.read_text(encoding="utf-8"))
    else:
        outputs = {}
        policies = platform_policies(cluster_model(target_dir, parameters, charts, cache_dir), parameters)
        if policies:
            outputs[POLICY_FILE.as_posix()] = yamlio.dump_all(policies)
        if charts:
            outputs[APPLICATIONS.as_posix()] = pin_applications(target_dir / APPLICATIONS, charts)
        write_atomically(cached, json.dumps(outputs, sort_keys=True))
    for relative, text in sorted(outputs.items()):
        (target_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (target_dir / relative).write_text(text, encoding="utf-8")


def finish_charts(compiled: Path, parameters_by_target: Mapping[str, Mapping[str, Any]], root: Path) -> None:
    """Render every cluster's charts and write what is derived from them into `compiled`."""
    clusters = {name: p for name, p in sorted(parameters_by_target.items()) if compiles_manifests(p)}
    cache = cache_root(root)
    try:
        setup = Setup(compiled, cache / "charts", cache / "renders", helm_binary(root), chart_mirror(root))
        rendered = render_clusters(clusters, read_lock(root / LOCK_FILE), setup)
    except (ChartLockError, ChartRenderError) as error:
        raise ChartPassError(str(error).splitlines(), "chart render error") from error
    problems: list[str] = []
    for name, parameters in clusters.items():
        try:
            _derive_cluster(compiled / name, parameters, [c for c in rendered if c.target == name], cache / "netpol")
        except PlatformNetworkError as error:
            problems += error.problems
    if problems:
        raise ChartPassError(problems, "platform network error")
