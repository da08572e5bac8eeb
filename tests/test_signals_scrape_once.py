"""Every metrics endpoint is scraped by exactly one monitor, so no dashboard sum or rule counts a
pod twice.

The pods each cluster will run are derived from the compiled objects, as their controllers create
them: Deployments and Rollouts (the pod template), CloudNativePG Clusters (instance pods labelled
`cnpg.io/cluster` and `cnpg.io/podRole=instance`, metrics on 9187) and Poolers (PgBouncer pods,
`cnpg.io/poolerName`, `cnpg.io/podRole=pooler` and `cnpg.io/cluster`, metrics on 9127), and the
Redis operator's RedisReplication (pods carry the CR's labels plus `app`, the exporter on its
port). The monitors are the compiled ServiceMonitors and PodMonitors plus those the CloudNativePG
operator makes itself (`monitoring.enablePodMonitor` on a Cluster or Pooler). An endpoint is
(namespace, pod kind, container port); each must be selected at most once.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

COMPILED = ROOT / "compiled"
CNPG_INSTANCE_METRICS_PORT = 9187  # the instance manager's exporter (CloudNativePG docs, "Monitoring")
PGBOUNCER_METRICS_PORT = 9127  # the Pooler pods' exporter


@dataclass(frozen=True)
class Pod:
    """One kind of pod (all replicas of a workload look alike to a selector)."""

    owner: str  # kind/name of what creates it
    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int] = field(default_factory=dict)  # container port name -> number
    unnamed_ports: tuple[int, ...] = ()


def cluster_targets() -> list[Path]:
    return sorted(p.parent for p in COMPILED.glob("*/manifests"))


@cache
def _documents(folder: Path) -> tuple[dict[str, Any], ...]:
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        found += [d for d in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if isinstance(d, dict) and "kind" in d]
    return tuple(found)


def documents(folder: Path) -> list[dict[str, Any]]:
    return copy.deepcopy(list(_documents(folder)))


def pods_of(doc: Mapping[str, Any]) -> list[Pod]:
    kind, meta, spec = doc["kind"], doc["metadata"], doc.get("spec", {})
    owner, namespace = f"{kind}/{meta['name']}", meta.get("namespace", "")
    if kind in ("Deployment", "Rollout", "StatefulSet", "DaemonSet"):
        template = spec["template"]
        ports = {
            p["name"]: p["containerPort"]
            for c in template["spec"].get("containers", [])
            for p in c.get("ports", [])
            if "name" in p
        }
        return [Pod(owner, namespace, template["metadata"].get("labels", {}), ports)]
    if kind == "Cluster" and doc["apiVersion"].startswith("postgresql.cnpg.io"):
        labels = {
            "cnpg.io/cluster": meta["name"],
            "cnpg.io/podRole": "instance",
            **spec.get("inheritedMetadata", {}).get("labels", {}),
        }
        return [Pod(owner, namespace, labels, {"metrics": CNPG_INSTANCE_METRICS_PORT})]
    if kind == "Pooler":
        labels = {"cnpg.io/cluster": spec["cluster"]["name"], "cnpg.io/poolerName": meta["name"], "cnpg.io/podRole": "pooler"}
        return [Pod(owner, namespace, labels, {"metrics": PGBOUNCER_METRICS_PORT})]
    if kind == "RedisReplication":
        exporter = spec.get("redisExporter", {})
        ports = (exporter.get("port", 9121),) if exporter.get("enabled") else ()
        labels = {**meta.get("labels", {}), "app": meta["name"], "redis_setup_type": "replication"}
        return [Pod(owner, namespace, labels, {}, ports)]
    return []


def operator_monitors(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The PodMonitors CloudNativePG creates when a Cluster or Pooler asks for one."""
    kind, meta, spec = doc["kind"], doc["metadata"], doc.get("spec", {})
    if not spec.get("monitoring", {}).get("enablePodMonitor"):
        return []
    if kind == "Pooler":
        selector = {"cnpg.io/poolerName": meta["name"], "cnpg.io/podRole": "pooler"}
    elif kind == "Cluster" and doc["apiVersion"].startswith("postgresql.cnpg.io"):
        selector = {"cnpg.io/cluster": meta["name"], "cnpg.io/podRole": "instance"}
    else:
        return []
    return [
        {
            "kind": "PodMonitor",
            "metadata": {"name": f"{meta['name']} (made by the CloudNativePG operator)", "namespace": meta["namespace"]},
            "spec": {"selector": {"matchLabels": selector}, "podMetricsEndpoints": [{"port": "metrics"}]},
        }
    ]


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions); empty selects all."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        holds = {
            "Exists": present,
            "DoesNotExist": not present,
            "In": present and labels[key] in values,
            "NotIn": not present or labels[key] not in values,
        }[operator]
        if not holds:
            return False
    return True


def in_namespaces(monitor: Mapping[str, Any], namespace: str) -> bool:
    chosen = monitor["spec"].get("namespaceSelector", {})
    if chosen.get("any"):
        return True
    return namespace in (chosen.get("matchNames") or [monitor["metadata"].get("namespace")])


def container_port(pod: Pod, port: str | int) -> int | None:
    if isinstance(port, int) or str(port).isdigit():
        number = int(port)
        return number if number in pod.ports.values() or number in pod.unnamed_ports else None
    return pod.ports.get(str(port))


Endpoint = tuple[str, str, int]  # namespace, pod owner, container port


def pod_monitor_endpoints(monitor: Mapping[str, Any], pods: list[Pod]) -> list[Endpoint]:
    selector = monitor["spec"].get("selector", {})
    found = []
    for endpoint in monitor["spec"]["podMetricsEndpoints"]:
        for pod in pods:
            if in_namespaces(monitor, pod.namespace) and selects(selector, pod.labels):
                number = container_port(pod, endpoint.get("portNumber", endpoint.get("port", "")))
                if number is not None:
                    found.append((pod.namespace, pod.owner, number))
    return found


def service_monitor_endpoints(monitor: Mapping[str, Any], services: list[dict[str, Any]], pods: list[Pod]) -> list[Endpoint]:
    """Through each selected Service's named port to the pods behind it (its `targetPort`)."""
    found = []
    for service in services:
        namespace = service["metadata"].get("namespace", "")
        if not (
            in_namespaces(monitor, namespace)
            and selects(monitor["spec"].get("selector", {}), service["metadata"].get("labels", {}))
        ):
            continue
        names = {endpoint.get("port") for endpoint in monitor["spec"]["endpoints"]}
        for port in (p for p in service["spec"].get("ports", []) if p.get("name") in names):
            backing = {"matchLabels": service["spec"].get("selector", {})}
            for pod in (p for p in pods if p.namespace == namespace and selects(backing, p.labels)):
                number = container_port(pod, port.get("targetPort", port["port"]))
                if number is not None:
                    found.append((namespace, pod.owner, number))
    return found


def scraped_endpoints(docs: list[dict[str, Any]]) -> dict[Endpoint, list[str]]:
    """(namespace, pod owner, container port) -> the monitors that scrape it."""
    pods = [pod for doc in docs for pod in pods_of(doc)]
    services = [d for d in docs if d["kind"] == "Service"]
    monitors = [d for d in docs if d["kind"] in ("ServiceMonitor", "PodMonitor")]
    monitors += [m for d in docs for m in operator_monitors(d)]
    found: dict[Endpoint, list[str]] = defaultdict(list)
    for monitor in monitors:
        name = f"{monitor['kind']} {monitor['metadata'].get('namespace')}/{monitor['metadata']['name']}"
        if monitor["kind"] == "PodMonitor":
            endpoints = pod_monitor_endpoints(monitor, pods)
        else:
            endpoints = service_monitor_endpoints(monitor, services, pods)
        for endpoint in endpoints:
            found[endpoint].append(name)
    return found


def doubles(docs: list[dict[str, Any]]) -> dict[Endpoint, list[str]]:
    return {endpoint: names for endpoint, names in scraped_endpoints(docs).items() if len(names) > 1}


TARGETS = cluster_targets()


@pytest.mark.parametrize("target", TARGETS, ids=lambda p: p.name)
def test_no_endpoint_is_scraped_twice(target: Path) -> None:
    docs = list(documents(target / "manifests"))
    assert doubles(docs) == {}


@pytest.mark.parametrize("target", TARGETS, ids=lambda p: p.name)
def test_every_service_and_data_store_is_scraped(target: Path) -> None:
    """The other half of "once": each service's pods and each data store with an exporter are
    scraped at all (so removing a duplicate did not remove the only monitor)."""
    docs = list(documents(target / "manifests"))
    owners = {owner for (_, owner, _) in scraped_endpoints(docs)}
    expected = {pod.owner for doc in docs for pod in pods_of(doc) if pod.ports.get("metrics") or pod.unnamed_ports}
    expected |= {f"{d['kind']}/{d['metadata']['name']}" for d in docs if d["kind"] in ("Deployment", "Rollout")}
    assert expected, "every cluster target runs at least one service"
    assert expected <= owners, sorted(expected - owners)


def test_a_second_monitor_on_the_same_pods_and_port_is_caught() -> None:
    """The bad fixture: the PostgreSQL PodMonitor this tree used to have beside the Cluster's own
    (cnpg.io/cluster Exists, port metrics), and a ServiceMonitor on a canary Service."""
    target = TARGETS[0]
    docs = list(documents(target / "manifests"))
    clusters = [d for d in docs if d["kind"] == "Cluster" and d["apiVersion"].startswith("postgresql")]
    extra: list[dict[str, Any]] = []
    if clusters:
        extra.append(
            {
                "kind": "PodMonitor",
                "metadata": {"name": "postgresql", "namespace": "monitoring"},
                "spec": {
                    "namespaceSelector": {"matchNames": [clusters[0]["metadata"]["namespace"]]},
                    "selector": {"matchExpressions": [{"key": "cnpg.io/cluster", "operator": "Exists"}]},
                    "podMetricsEndpoints": [{"port": "metrics"}],
                },
            }
        )
    workload = next(d for d in docs if d["kind"] in ("Deployment", "Rollout"))
    (monitor,) = [d for d in docs if d["kind"] == "PodMonitor" and d["metadata"]["name"] == workload["metadata"]["name"]]
    duplicate = copy.deepcopy(monitor)
    duplicate["metadata"]["name"] += "-again"
    extra.append(duplicate)
    found = doubles(docs + extra)
    assert any(owner == f"{workload['kind']}/{workload['metadata']['name']}" for (_, owner, _) in found), found
    if clusters:
        assert any(owner.startswith(("Cluster/", "Pooler/")) for (_, owner, _) in found), found


def test_label_selectors_follow_kubernetes_semantics() -> None:
    labels = {"a": "1", "b": "2"}
    assert selects({}, labels)
    assert selects({"matchLabels": {"a": "1"}}, labels)
    assert not selects({"matchLabels": {"a": "2"}}, labels)
    assert selects({"matchExpressions": [{"key": "b", "operator": "Exists"}]}, labels)
    assert not selects({"matchExpressions": [{"key": "c", "operator": "Exists"}]}, labels)
    assert selects({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "3"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, labels)
