"""Network policy of the platform namespaces, derived from the rendered charts: every namespace we
own denies by default, every flow the platform needs is allowed and nothing else, and a chart that
moves a port fails the compile.

Reachability is judged by the review's evaluator (mnops.review.reachability) over everything a
cluster runs: our compiled manifests and policies, and every chart as rendered for it (their
workloads, Prometheus and Alertmanager objects, and the NetworkPolicies some charts ship).
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import os
import re
import shutil
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import ROOT, real_parameters, run_compile, tree_snapshot

from mnops.charts.cluster import RenderedChart, Setup, render_clusters
from mnops.charts.compile_check import cache_root, chart_mirror, helm_binary
from mnops.charts.compile_pass import cluster_model, platform_namespaces, release_objects
from mnops.charts.lock import LOCK_FILE, read_lock
from mnops.gitops.plan import delivery_plan
from mnops.inventory.model import build_target
from mnops.kapitan_inventory import compiles_manifests
from mnops.review.reachability import Pod, reachability
from mnops.security.platform_flows import Cluster, Endpoint, Flow, PlatformNetworkError, Port, derive
from mnops.security.policy import load_documents

pytestmark = pytest.mark.skipif(not Path(helm_binary(ROOT)).exists(), reason="helm is not installed (make helm)")

CACHE = cache_root(ROOT)
Edges = dict[tuple[str, str], frozenset[str]]
ISTIO_POLICY_KINDS = {"AuthorizationPolicy", "PeerAuthentication"}


@cache
def _clusters() -> dict[str, dict[str, Any]]:
    return {name: p for name, p in real_parameters().items() if compiles_manifests(p)}


CLUSTERS = sorted(_clusters())


@cache
def _rendered() -> tuple[RenderedChart, ...]:
    setup = Setup(ROOT / "compiled", CACHE / "charts", CACHE / "renders", helm_binary(ROOT), chart_mirror(ROOT))
    return tuple(render_clusters(_clusters(), read_lock(ROOT / LOCK_FILE), setup))


def _charts(target: str) -> list[RenderedChart]:
    return [c for c in _rendered() if c.target == target]


def _model(target: str) -> Cluster:
    return cluster_model(ROOT / "compiled" / target, _clusters()[target], _charts(target), CACHE / "netpol")


@cache
def _flows(target: str) -> tuple[Flow, ...]:
    return tuple(derive(_model(target)))


@cache
def _edges(target: str) -> Edges:
    """Who can reach whom on the cluster as committed: compiled manifests and every chart's render."""
    docs = load_documents(ROOT / "compiled" / target)
    for chart in _charts(target):
        docs += [dict(d) for d in release_objects(chart, CACHE / "netpol")]
    # NetworkPolicies only: with the mesh on, Istio's own authorization is a second gate (see the
    # mesh test below), which these policies neither replace nor widen.
    return reachability([d for d in docs if d["kind"] not in ISTIO_POLICY_KINDS], between_replicas=True)


def _nodes(endpoint: Endpoint, model: Cluster) -> set[str]:
    """The evaluator's names for an endpoint: a pod group, an address range, or a selector it does not model."""
    if endpoint.cidrs:
        return {f"private {c}" if ipaddress.ip_network(c).is_private else "internet" for c in endpoint.cidrs}
    if endpoint.label in {p.name for p in model.pods}:
        return {endpoint.label}
    return {f"{endpoint.namespace}/{','.join(f'{k}={v}' for k, v in endpoint.selector)}"}


def _port(port: Port) -> str:
    return f"{port.protocol}/{port.value}"


def _allowed(target: str, source: Endpoint, destination: Endpoint, model: Cluster) -> frozenset[str]:
    """Ports the evaluator allows from source to destination (across the names each stands for)."""
    edges = _edges(target)
    found: set[str] = set()
    for s in _nodes(source, model):
        for d in _nodes(destination, model):
            found |= edges.get((s, d), frozenset())
    return frozenset(found)


def _pod(model: Cluster, predicate: Any) -> list[Pod]:
    return [p for p in model.pods if predicate(p)]


def _prometheus(model: Cluster) -> list[Pod]:
    prometheus = _pod(model, lambda p: p.labels.get("app.kubernetes.io/name") == "prometheus" and "prometheus" in p.labels)
    assert prometheus, f"{model.target}: no Prometheus pods modelled"
    return prometheus


def _service_backends(model: Cluster, url: str, why: str) -> list[tuple[Endpoint, Port]]:
    """Where an in-cluster URL leads: its Service's port (from the URL or the scheme) on the selected pods."""
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    name, namespace = (parts.hostname or "").split(".")[:2]
    service = model.services[(namespace, name)]
    wanted = parts.port or {"http": 80, "https": 443}[parts.scheme]
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == wanted]
    backends = model.service_backends(service, port, why)
    assert backends, f"{url} leads to no pod"
    return backends


def _assert_reaches(
    target: str, model: Cluster, sources: Iterable[Pod], backends: list[tuple[Endpoint, Port]], what: str
) -> None:
    for source in sources:
        for destination, port in backends:
            allowed = _allowed(target, model.pod_endpoint(source), destination, model)
            assert _port(port) in allowed, f"{target}: {what}: {source.name} cannot reach {destination.label} on {_port(port)}"


# --- (a) default deny -----------------------------------------------------------------------------


def _denies_everything(policy: dict[str, Any]) -> bool:
    spec = policy["spec"]
    return (
        spec["podSelector"] == {}
        and set(spec["policyTypes"]) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )


@pytest.mark.parametrize("target", CLUSTERS)
def test_every_namespace_we_declare_denies_by_default(target: str) -> None:
    """The namespaces of the inventory, the platform ones included, each carry a deny-all policy."""
    denied = {
        d["metadata"]["namespace"]
        for d in load_documents(ROOT / "compiled" / target)
        if d["kind"] == "NetworkPolicy" and _denies_everything(d)
    }
    declared = set(_clusters()[target]["namespaces"].values())
    assert declared - denied == set()
    assert set(platform_namespaces(build_target(_clusters()[target]))) <= denied
    assert platform_namespaces(build_target(_clusters()[target])), "the platform namespaces are covered"


@pytest.mark.parametrize("target", CLUSTERS)
def test_every_chart_namespace_without_a_default_deny_is_an_exception_in_the_security_guide(target: str) -> None:
    """Namespaces Argo CD creates for charts have no default deny; docs/security.md says why and what it risks."""
    guide = (ROOT / "docs" / "security.md").read_text()
    section = guide.split("## Chart namespaces without default deny", 1)[1].split("\n## ", 1)[0]
    plan = delivery_plan(_clusters()[target])
    denied = {
        d["metadata"]["namespace"]
        for d in load_documents(ROOT / "compiled" / target)
        if d["kind"] == "NetworkPolicy" and _denies_everything(d)
    }
    for namespace in sorted(plan.owned_namespaces - denied):
        row = re.search(rf"^\| `{re.escape(namespace)}` \| [^|]+ \| [^|]+ \|$", section, re.MULTILINE)
        assert row, f"{target}: namespace {namespace} has no default deny and no row in docs/security.md"


@pytest.mark.parametrize("target", CLUSTERS)
def test_every_platform_workload_has_its_own_policy(target: str) -> None:
    model = _model(target)
    policies = [d for d in load_documents(ROOT / "compiled" / target) if d["kind"] == "NetworkPolicy"]
    covered = set(platform_namespaces(build_target(_clusters()[target])))
    for pod in model.pods:
        if pod.namespace in covered and not pod.host_network:
            selecting = [
                p for p in policies if p["metadata"]["namespace"] == pod.namespace and p["spec"]["podSelector"].get("matchLabels")
            ]
            assert any(set(p["spec"]["podSelector"]["matchLabels"].items()) <= set(pod.labels.items()) for p in selecting), (
                pod.name
            )


# --- (b) every flow the platform needs is allowed --------------------------------------------------


def _monitors(model: Cluster) -> list[dict[str, Any]]:
    return model.of_kind("ServiceMonitor", "PodMonitor")


@pytest.mark.parametrize("target", CLUSTERS)
def test_prometheus_reaches_every_target_of_every_monitor(target: str) -> None:
    from mnops.security.platform_flows import _monitor_targets, _namespaces

    model = _model(target)
    monitors = _monitors(model)
    assert monitors
    for monitor in monitors:
        targets = _monitor_targets(model, monitor, _namespaces(model))
        assert targets, f"{monitor['metadata']['name']} selects nothing"
        what = f"scrape {monitor['kind']} {monitor['metadata'].get('namespace')}/{monitor['metadata']['name']}"
        _assert_reaches(target, model, _prometheus(model), targets, what)


@pytest.mark.parametrize("target", CLUSTERS)
def test_prometheus_scrapes_every_service_of_the_inventory(target: str) -> None:
    """Independent of how monitors are resolved: each service's pods accept Prometheus on a port it scrapes."""
    model = _model(target)
    edges = _edges(target)
    for service in build_target(_clusters()[target]).services:
        pod = f"{service.namespace}/{service.name}"
        scraped = set().union(*(edges.get((p.name, pod), frozenset()) for p in _prometheus(model)))
        assert scraped, f"{target}: Prometheus cannot reach {pod}"


def _datasource_urls(model: Cluster) -> list[str]:
    """The URLs of every Grafana datasource file (ConfigMaps labelled for Grafana's datasource sidecar)."""
    urls = []
    for (kind, _, _), doc in sorted(model.configs.items()):
        if kind == "ConfigMap" and "grafana_datasource" in (doc["metadata"].get("labels") or {}):
            for text in (doc.get("data") or {}).values():
                urls += [str(d["url"]) for d in (yaml.safe_load(text) or {}).get("datasources") or [] if d.get("url")]
    return urls


@pytest.mark.parametrize("target", CLUSTERS)
def test_grafana_reaches_each_of_its_datasources(target: str) -> None:
    model = _model(target)
    grafana = _pod(model, lambda p: p.labels.get("app.kubernetes.io/name") == "grafana")
    urls = _datasource_urls(model)
    assert grafana and len(urls) >= 3, "Prometheus, Loki and Jaeger at least"
    for url in urls:
        _assert_reaches(target, model, grafana, _service_backends(model, url, "datasource"), f"datasource {url}")


@pytest.mark.parametrize("target", CLUSTERS)
def test_the_log_collector_reaches_loki(target: str) -> None:
    """The collector the inventory chooses (alloy or promtail) pushes to the URL in its own configuration."""
    parameters = _clusters()[target]
    model = _model(target)
    collector = parameters["logging"]["collector"]
    pods = [p for p in model.pods if model.release_of.get(p.name) == collector]
    texts = [t for (kind, ns, _), doc in model.configs.items() if ns == pods[0].namespace for t in _texts(doc)]
    (url,) = {m.group(0) for t in texts for m in re.finditer(r"https?://[^\s\"']+/loki/api/v1/push", t)}
    _assert_reaches(target, model, pods, _service_backends(model, url.split("/loki/")[0], "push"), f"{collector} pushes logs")


def _texts(doc: dict[str, Any]) -> list[str]:
    import base64

    data = doc.get("data") or {}
    return [base64.b64decode(v).decode() if doc["kind"] == "Secret" else str(v) for v in data.values()]


@pytest.mark.parametrize("target", CLUSTERS)
def test_services_reach_the_collector_and_the_collector_reaches_jaeger(target: str) -> None:
    model = _model(target)
    for service in build_target(_clusters()[target]).services:
        (pod,) = _pod(model, lambda p, s=service: p.name == f"{s.namespace}/{s.name}")
        configs = [d for (kind, ns, _), d in model.configs.items() if kind == "ConfigMap" and ns == service.namespace]
        (endpoint,) = {
            str(d["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"])
            for d in configs
            if (d.get("data") or {}).get("OTEL_EXPORTER_OTLP_ENDPOINT") and d["metadata"]["name"].startswith(service.name)
        }
        _assert_reaches(target, model, [pod], _service_backends(model, endpoint, "traces"), f"{service.name} exports traces")
    collector = _pod(model, lambda p: p.labels.get("app.kubernetes.io/name") == "opentelemetry-collector")
    relay = next(
        d
        for (kind, ns, name), d in model.configs.items()
        if kind == "ConfigMap" and ns == collector[0].namespace and "relay" in (d.get("data") or {})
    )
    exporters = (yaml.safe_load(relay["data"]["relay"]) or {})["exporters"]
    endpoints = [str(e["endpoint"]) for name, e in exporters.items() if name.startswith("otlp") and e and "endpoint" in e]
    assert endpoints, "the collector exports traces over OTLP"
    for endpoint in endpoints:
        _assert_reaches(target, model, collector, _service_backends(model, endpoint, "export"), "the collector exports to Jaeger")


def _named_namespace_peers(policy: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(namespace, "PROTO/port") of each egress peer that names a namespace (or is in the policy's own)."""
    own = policy["metadata"]["namespace"]
    for rule in policy["spec"].get("egress") or []:
        ports = [f"{p.get('protocol', 'TCP')}/{p['port']}" for p in rule.get("ports") or [] if "port" in p]
        for peer in rule.get("to") or []:
            if "ipBlock" in peer:
                continue  # addresses outside the cluster (cloud APIs, private subnets): no pod to admit the flow
            labels = (peer.get("namespaceSelector") or {}).get("matchLabels") or {}
            namespace = labels.get("kubernetes.io/metadata.name", own if "namespaceSelector" not in peer else None)
            if namespace:
                yield from ((namespace, port) for port in ports)


@pytest.mark.parametrize("target", CLUSTERS)
def test_every_egress_rule_of_a_service_reaches_a_pod_that_admits_it(target: str) -> None:
    """An egress rule no destination admits is dead: it widens nothing today and opens a path the day
    someone adds the matching ingress (services once allowed Loki:3100, though they log to stdout)."""
    edges = _edges(target)
    services = {f"{s.namespace}/{s.name}" for s in build_target(_clusters()[target]).services}
    policies = [d for d in load_documents(ROOT / "compiled" / target) if d["kind"] == "NetworkPolicy"]
    checked = 0
    for policy in policies:
        source = f"{policy['metadata']['namespace']}/{policy['metadata']['name']}"
        if source not in services:
            continue
        for namespace, port in _named_namespace_peers(policy):
            if port in {"UDP/53", "TCP/53"}:
                continue  # DNS: kube-dns is not one of our pods in every model
            reached = [
                dst for (src, dst), ports in edges.items() if src == source and dst.startswith(f"{namespace}/") and port in ports
            ]
            assert reached, f"{target}: {source} may send to {namespace} on {port}, but no pod there admits it"
            checked += 1
    assert checked, f"{target}: no service egress rule was checked"


@pytest.mark.parametrize("target", CLUSTERS)
def test_alertmanager_reaches_each_of_its_receivers_and_prometheus_reaches_alertmanager(target: str) -> None:
    """Receivers from the compiled values: HTTPS for URL integrations, the smarthost's port for e-mail."""
    model = _model(target)
    values = yaml.safe_load((ROOT / "compiled" / target / "helm-values" / "kube-prometheus-stack.yaml").read_text())
    config = values["alertmanager"]["config"]
    ports: set[int] = set()
    for receiver in config["receivers"]:
        for key, entries in receiver.items():
            if key.endswith("_configs"):
                ports |= {int(e["smarthost"].rsplit(":", 1)[1]) if "smarthost" in e else 443 for e in entries}
    assert ports
    alertmanagers = _pod(model, lambda p: p.labels.get("app.kubernetes.io/name") == "alertmanager")
    assert alertmanagers
    for pod in alertmanagers:
        allowed = _edges(target).get((pod.name, "internet"), frozenset())
        assert {f"TCP/{p}" for p in ports} <= allowed, f"{target}: {pod.name} reaches receivers on {sorted(allowed)}"
        web = pod.ports[next(n for n in pod.ports if n not in {"reloader-web", "mesh-tcp", "mesh-udp"})]
        for prometheus in _prometheus(model):
            assert f"TCP/{web}" in _edges(target).get((prometheus.name, pod.name), frozenset())


@pytest.mark.parametrize("target", CLUSTERS)
def test_argo_rollouts_reaches_the_prometheus_of_every_analysis_template(target: str) -> None:
    """Canary and blue-green analysis: the Rollouts controller queries the address each template names."""
    model = _model(target)
    templates = model.of_kind("AnalysisTemplate", "ClusterAnalysisTemplate")
    if not templates:
        pytest.skip(f"{target} runs no progressive delivery analysis")
    (provider,) = [r for r in model.releases if ("argoproj.io", "AnalysisTemplate") in r.provides]
    controllers = [p for p in model.pods if model.release_of.get(p.name) == provider.key]
    addresses = {
        str(m["provider"]["prometheus"]["address"])
        for t in templates
        for m in t["spec"]["metrics"]
        if "prometheus" in m["provider"]
    }
    assert controllers and addresses
    for address in sorted(addresses):
        _assert_reaches(target, model, controllers, _service_backends(model, address, "analysis"), f"analysis queries {address}")


@pytest.mark.parametrize("target", CLUSTERS)
def test_cloud_bound_platform_pods_reach_the_cloud_and_their_credential_endpoint(target: str) -> None:
    """Loki's object storage: HTTPS out, and the node-local endpoint the cloud class names for credentials."""
    parameters = _clusters()[target]
    bound = parameters["cloud"]["workload_identity"]
    model = _model(target)
    accounts = {
        (sa["metadata"]["namespace"], sa["metadata"]["name"])
        for sa in model.of_kind("ServiceAccount")
        if bound["annotation"] in (sa["metadata"].get("annotations") or {})
    }
    covered = set(platform_namespaces(build_target(parameters)))
    pods = [p for p in model.pods if p.namespace in covered and (p.namespace, p.service_account) in accounts]
    if not pods:
        pytest.skip(f"{target}: no platform workload has a cloud identity")
    for pod in pods:
        assert "TCP/443" in _edges(target).get((pod.name, "internet"), frozenset()), pod.name
        for endpoint in bound.get("credential_endpoints") or []:
            assert f"TCP/{endpoint['port']}" in _edges(target).get((pod.name, f"private {endpoint['cidr']}"), frozenset())


# --- (c) nothing else --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", CLUSTERS)
def test_every_connection_into_or_out_of_a_platform_pod_is_a_derived_flow(target: str) -> None:
    """What the evaluator allows for a platform pod is exactly what some derived flow (or DNS) asks for."""
    model = _model(target)
    covered = set(platform_namespaces(build_target(_clusters()[target])))
    platform = {p.name for p in model.pods if p.namespace in covered and not p.host_network}
    wanted: dict[tuple[str, str], set[str]] = {}
    for flow in _flows(target):
        for s in _nodes(flow.source, model):
            for d in _nodes(flow.destination, model):
                wanted.setdefault((s, d), set()).update(_port(p) for p in flow.ports)
    dns = {"TCP/53", "UDP/53"}
    for (source, destination), ports in _edges(target).items():
        if source in platform or destination in platform:
            extra = set(ports) - wanted.get((source, destination), set()) - dns
            assert not extra, f"{target}: {source} -> {destination} allows {sorted(extra)} that no flow needs"


@pytest.mark.parametrize("target", CLUSTERS)
def test_a_flow_nobody_declared_is_denied(target: str) -> None:
    """A service calling Prometheus' API, Loki calling Jaeger, Jaeger calling Loki: none is a platform flow."""
    model = _model(target)
    edges = _edges(target)
    loki = _pod(model, lambda p: p.labels.get("app.kubernetes.io/name") == "loki")
    jaeger = _pod(model, lambda p: p.labels.get("app.kubernetes.io/name") == "jaeger")
    services = [f"{s.namespace}/{s.name}" for s in build_target(_clusters()[target]).services]
    assert loki and jaeger and services
    for prometheus in _prometheus(model):
        for service in services:
            assert (service, prometheus.name) not in edges, f"{service} may call {prometheus.name}"
    for a in loki:
        for b in jaeger:
            assert (a.name, b.name) not in edges and (b.name, a.name) not in edges


# --- (d) a chart that moves a port fails clearly ---------------------------------------------------


def _with_service_port(model: Cluster, namespace: str, name: str, old: int, new: int) -> Cluster:
    """The same cluster with one rendered Service's port moved, as a chart upgrade could."""

    def moved(doc: dict[str, Any]) -> dict[str, Any]:
        if doc["kind"] != "Service" or (doc["metadata"]["namespace"], doc["metadata"]["name"]) != (namespace, name):
            return doc
        ports = [{**p, "port": new} if p["port"] == old else p for p in doc["spec"]["ports"]]
        return {**doc, "spec": {**doc["spec"], "ports": ports}}

    releases = [dataclasses.replace(r, docs=tuple(moved(d) for d in r.docs)) for r in model.releases]
    return Cluster(model.target, model.compiled, releases, model.declared, model.covered, model.ranges, model.identity)


def _jaeger_otlp(model: Cluster) -> tuple[str, str, int]:
    """The Service and port the collector's OTLP exporter calls (namespace, name, port)."""
    relay = next(d for (kind, _, _), d in model.configs.items() if kind == "ConfigMap" and "relay" in (d.get("data") or {}))
    exporters = (yaml.safe_load(relay["data"]["relay"]) or {})["exporters"]
    endpoint = next(str(e["endpoint"]) for n, e in exporters.items() if n.startswith("otlp") and e and "endpoint" in e)
    host, port = endpoint.rsplit(":", 1)
    name, namespace = host.split(".")[:2]
    return namespace, name, int(port)


@pytest.mark.parametrize("target", CLUSTERS[:1])
def test_a_chart_moving_a_service_port_fails_with_the_caller_and_the_ports(target: str) -> None:
    model = _model(target)
    namespace, name, port = _jaeger_otlp(model)
    derive(_model(target))  # as committed: resolves
    with pytest.raises(PlatformNetworkError) as failure:
        derive(_with_service_port(model, namespace, name, port, port + 1))
    (line,) = [p for p in failure.value.problems if f"Service {namespace}/{name} has no port {port}" in p]
    assert line.startswith(f"{target}: configuration of {namespace}/") and "(it has " in line and f"={port + 1}" in line


@pytest.mark.parametrize("target", CLUSTERS[:1])
def test_a_monitor_whose_service_lost_its_port_selects_nothing_and_fails(target: str) -> None:
    model = _model(target)
    monitor = next(
        m
        for m in model.of_kind("ServiceMonitor")
        if m["metadata"]["namespace"] in model.covered and m["spec"]["endpoints"][0].get("port")
    )
    renamed = {
        **monitor,
        "spec": {**monitor["spec"], "endpoints": [{**e, "port": "renamed"} for e in monitor["spec"]["endpoints"]]},
    }
    releases = [dataclasses.replace(r, docs=tuple(renamed if d is monitor else d for d in r.docs)) for r in model.releases]
    compiled = [renamed if d is monitor else d for d in model.compiled]
    broken = Cluster(model.target, compiled, releases, model.declared, model.covered, model.ranges, model.identity)
    with pytest.raises(PlatformNetworkError) as failure:
        derive(broken)
    assert any(
        f"ServiceMonitor {monitor['metadata']['namespace']}/{monitor['metadata']['name']}: selects no target" in p
        for p in failure.value.problems
    )


@pytest.mark.slow
def test_the_compile_stops_when_a_render_moves_a_port_and_writes_nothing(tmp_path: Path) -> None:
    """End to end: the cached render of the chart serving the collector's exporter has its Service port
    moved (what a chart upgrade would render); `make compile` names the caller and changes nothing."""
    target = CLUSTERS[0]
    model = _model(target)
    namespace, name, port = _jaeger_otlp(model)
    cache_dir = tmp_path / "cache"
    (cache_dir / "renders").mkdir(parents=True)
    for folder in ("charts", "chart-values"):
        os.symlink(CACHE / folder, cache_dir / folder)
    serving = next(
        c
        for c in _charts(target)
        for d in release_objects(c, CACHE / "netpol")
        if d["kind"] == "Service" and d["metadata"]["name"] == name
    )
    for entry in (CACHE / "renders").iterdir():
        if entry.name.startswith(serving.cache_key):
            text = entry.read_text()
            if entry.suffix == ".yaml":  # the Services' `port:` lines (targetPort and containerPort stay)
                text = text.replace(f"    port: {port}\n", f"    port: {port + 1}\n")
            (cache_dir / "renders" / entry.name).write_text(text)
        else:
            os.symlink(entry, cache_dir / "renders" / entry.name)
    # The other charts' objects as the derivation read them (keyed by their unchanged renders); not the
    # moved chart's, nor any cluster's derived outputs, which are keyed by the render keys the doctored
    # render keeps and would hand back what the unmoved port gave.
    (cache_dir / "netpol").mkdir()
    for entry in (CACHE / "netpol").glob("*.json"):
        if not entry.name.startswith(serving.cache_key) and not entry.name.endswith(".outputs.json"):
            os.symlink(entry, cache_dir / "netpol" / entry.name)
    output = tmp_path / "out" / "compiled"
    (output / target).mkdir(parents=True)
    (output / target / "kept.yaml").write_text("kept: true\n")
    before = tree_snapshot(output.parent)
    run = run_compile(ROOT / "inventory", output, env={"CHART_CACHE": str(cache_dir)})
    assert run.returncode == 1, run.stderr
    assert "platform network error:" in run.stderr and f"Service {namespace}/{name} has no port {port}" in run.stderr
    assert "nothing was written to compiled/" in run.stderr and "Traceback" not in run.stderr
    assert tree_snapshot(output.parent) == before
    shutil.rmtree(cache_dir)


MESH_CLUSTERS = [t for t in CLUSTERS if _clusters()[t]["mesh"]["enabled"]]


@pytest.mark.parametrize("target", MESH_CLUSTERS)
def _mesh_docs(target: str) -> list[dict[str, Any]]:
    """Everything the cluster runs, Istio's PeerAuthentications and AuthorizationPolicies included."""
    docs = load_documents(ROOT / "compiled" / target)
    for chart in _charts(target):
        docs += [dict(d) for d in release_objects(chart, CACHE / "netpol")]
    return docs


def _without_sidecar(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same cluster with the Prometheus objects' injection label taken off."""
    changed = []
    for doc in docs:
        kept = doc
        if doc["kind"] == "Prometheus":
            kept = copy.deepcopy(doc)
            ((kept["spec"].get("podMetadata") or {}).get("labels") or {}).pop("sidecar.istio.io/inject", None)
        changed.append(kept)
    return changed


@pytest.mark.parametrize("target", MESH_CLUSTERS)
def test_with_the_mesh_on_istio_lets_prometheus_scrape_the_services(target: str) -> None:
    """STRICT mTLS and each service's ALLOW rules admit Prometheus, which has an identity through its
    sidecar, on the metrics port: nothing else of a service's is open to it. Without the sidecar
    (as before this was fixed) the evaluator finds no path, so the check can fail."""
    docs = _mesh_docs(target)
    edges = reachability(docs)
    plain = reachability(_without_sidecar(docs))
    model = _model(target)
    for service in build_target(_clusters()[target]).services:
        pod = f"{service.namespace}/{service.name}"
        for prometheus in _prometheus(model):
            assert edges.get((prometheus.name, pod)) == frozenset({f"TCP/{service.metrics_port}"}), (
                f"{target}: Prometheus cannot scrape {pod}, or reaches more than its metrics port"
            )
            assert (prometheus.name, pod) not in plain, f"{target}: {pod} admits Prometheus without mTLS"


@pytest.mark.parametrize("target", MESH_CLUSTERS)
def test_the_services_authorization_policies_admit_prometheus_on_the_metrics_port_and_path_only(target: str) -> None:
    """Every rule of a service's AuthorizationPolicies that Prometheus' identity (or namespace) matches
    allows GET of the metrics path on the metrics port and nothing else; rules without a source would
    admit it too, so they fail here as well."""
    docs = _mesh_docs(target)
    (prometheus, *_) = _prometheus(_model(target))
    principal = f"cluster.local/ns/{prometheus.namespace}/sa/{prometheus.service_account}"
    policies = [d for d in docs if d["kind"] == "AuthorizationPolicy" and d["spec"].get("rules")]
    for service in build_target(_clusters()[target]).services:
        applying = [
            p for p in policies
            if p["metadata"]["namespace"] == service.namespace
            and set(p["spec"].get("selector", {}).get("matchLabels", {}).items()) <= {("app.kubernetes.io/name", service.name)}
        ]  # fmt: skip
        admitting = [
            rule
            for p in applying
            for rule in p["spec"]["rules"]
            if not rule.get("from")
            or any(
                principal in (f.get("source") or {}).get("principals", [])
                or prometheus.namespace in (f.get("source") or {}).get("namespaces", [])
                for f in rule["from"]
            )
        ]
        wanted = {"ports": [str(service.metrics_port)], "paths": [service.metrics_path], "methods": ["GET"]}
        assert [[t.get("operation") for t in rule.get("to") or [{}]] for rule in admitting] == [[wanted]], (
            f"{target}: {service.name}'s AuthorizationPolicies admit Prometheus beyond {wanted}"
        )


@pytest.mark.parametrize("target", CLUSTERS)
def test_every_scrape_class_a_monitor_names_is_defined_by_the_prometheus_object(target: str) -> None:
    """prometheus-operator skips a monitor naming a scrape class its Prometheus lacks: where the mesh
    is on, that would silently drop every service's scrape."""
    model = _model(target)
    defined = {c["name"] for p in model.of_kind("Prometheus") for c in (p.get("spec") or {}).get("scrapeClasses") or []}
    named = {str(m["spec"]["scrapeClass"]) for m in _monitors(model) if (m.get("spec") or {}).get("scrapeClass")}
    assert named <= defined, f"{target}: monitors name undefined scrape classes {sorted(named - defined)}"
    assert bool(named) == _clusters()[target]["mesh"]["enabled"], (
        "the services scrape through the mesh exactly where it runs (ambient mode has no way yet: docs/security.md)"
    )
