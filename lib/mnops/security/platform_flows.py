"""The connections the platform makes, derived from the objects a cluster runs: our compiled
manifests plus every chart as rendered for that cluster (lib/mnops/charts/render.py).

Nothing here lists a chart's ports. Each flow comes from an object that causes it:

  scrape     Prometheus -> every target of each ServiceMonitor/PodMonitor its Prometheus object
             selects (the Service's port and targetPort, resolved on the selected pods)
  alerting   Prometheus -> the Alertmanager Service named in its `alerting` section
  gossip     Alertmanager replicas -> each other (prometheus-operator's cluster port)
  config     a pod -> every in-cluster Service address in its configuration (container args and
             env, the ConfigMaps and Secrets it mounts or reads, and those a k8s-sidecar container
             loads by label, such as Grafana's datasources); external http(s) URLs in its own
             configuration -> the internet on the URL's port
  peers      the pods a chart's headless Service, or a Service spanning several of its workloads,
             selects -> each other, on the ports the chart's Services expose on the callee (ring
             and cluster members, Loki's for one, find each other through such a Service and then
             call pod addresses directly)
  analysis   the controller of Argo Rollouts (the pods of the chart that installs the AnalysisTemplate
             CRD) -> each metric provider's address in every AnalysisTemplate (Prometheus queries)
  api        pods whose ServiceAccount a RoleBinding or ClusterRoleBinding names -> the API server
  webhook    the API server -> the pods behind every admission webhook, APIService and CRD
             conversion webhook
  cloud      pods whose ServiceAccount carries the cloud's workload identity annotation
             (cloud.workload_identity) -> the cloud's APIs (HTTPS) and the node-local credential
             endpoints the cloud class lists (EKS Pod Identity's agent)
  receivers  Alertmanager -> each receiver of its configuration (the URL's port, the smarthost's,
             or 443 where the URL is a secret file)
  mesh       a pod istiod's webhook gives a sidecar (review.reachability.sidecar_injected) -> the
             discovery address of the mesh configuration (istiod: configuration and certificates)

Prometheus' own targets that are not pods (the kubelet Service prometheus-operator maintains and
the API server's `default/kubernetes`) are modelled as Services whose endpoints are the node range
and the API server ranges. A reference that cannot be resolved (a Service in a namespace we
declare that no object defines, a port the Service does not have, a monitor that selects nothing)
is an error naming the object: a chart upgrade that moves a port fails the compile instead of
silently cutting a flow. Only flows with an end in a covered namespace are derived (and only their
references checked): the others are not ours to write policies for here.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from mnops.review.reachability import Pod, matches, namespace_labels, pods, sidecar_injected

Doc = dict[str, Any]

HTTPS_PORT = 443
SCHEME_PORTS = {"http": 80, "https": 443, "grpc": 80, "grpcs": 443}
# Where prometheus-operator writes the kubelet's endpoints (every node) and their ports, as its
# --kubelet-service Service carries them; the kubelet listens on these on each node.
KUBELET_PORTS = (("https-metrics", 10250), ("http-metrics", 10255), ("cadvisor", 4194))
KUBELET_LABELS = {
    "app.kubernetes.io/managed-by": "prometheus-operator",
    "app.kubernetes.io/name": "kubelet",
    "k8s-app": "kubelet",
}
# The API server's own Service, in every cluster.
API_SERVICE = ("default", "kubernetes")
API_LABELS = {"component": "apiserver", "provider": "kubernetes"}
NODES, API = "nodes", "api-server"
NAME = "app.kubernetes.io/name"
# Hosts a configuration names that are not destinations (listen addresses, the pod itself).
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::", "0.0.0.0"}  # noqa: S104 - compared with, never bound


class PlatformNetworkError(Exception):
    """One line per reference that cannot be resolved."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


@dataclass(frozen=True, order=True)
class Port:
    protocol: str
    value: int | str  # a number, or a container port name resolved by the CNI on the destination pod

    def key(self) -> tuple[str, int, str]:
        return (self.protocol, self.value if isinstance(self.value, int) else 0, str(self.value))


@dataclass(frozen=True, order=True)
class Endpoint:
    """Pods (a namespace and the labels selecting them) or an address range outside the pod network."""

    label: str  # how messages and tests name it: "monitoring/prometheus-x", "nodes", "internet"
    namespace: str = ""
    selector: tuple[tuple[str, str], ...] = ()
    cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flow:
    source: Endpoint
    destination: Endpoint
    ports: frozenset[Port]
    why: str  # the rule and the object that causes it


@dataclass(frozen=True)
class Release:
    """One chart release on one cluster: its key (the release name), namespace and objects."""

    key: str
    namespace: str
    docs: tuple[Doc, ...]
    provides: frozenset[tuple[str, str]] = frozenset()  # (group, kind) of every CRD it installs


@dataclass(frozen=True)
class Ranges:
    """Addresses outside the pod network: the nodes, the API server, the internet."""

    nodes: tuple[str, ...]
    api: tuple[str, ...]
    internet: tuple[str, ...] = ("0.0.0.0/0",)


@dataclass(frozen=True)
class Identity:
    """How a ServiceAccount is bound to a cloud identity (cloud.workload_identity of the inventory)."""

    annotation: str
    credential_endpoints: tuple[tuple[str, int], ...] = ()  # (CIDR, TCP port)


@dataclass
class Cluster:
    """Every object of one cluster, indexed for the derivation."""

    target: str
    compiled: Sequence[Doc]
    releases: Sequence[Release]
    declared: frozenset[str]  # namespaces we create: a Service missing there is an error
    covered: frozenset[str]  # namespaces whose policies are derived: flows with an end there matter
    ranges: Ranges
    identity: Identity | None = None
    pods: list[Pod] = field(default_factory=list)
    release_of: dict[str, str] = field(default_factory=dict)  # pod name -> chart key
    services: dict[tuple[str, str], Doc] = field(default_factory=dict)
    configs: dict[tuple[str, str, str], Doc] = field(default_factory=dict)  # (kind, namespace, name)
    problems: list[str] = field(default_factory=list)
    mentions: re.Pattern[str] = field(default=re.compile("(?!)"))  # `.namespace` of any namespace here
    selectors: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # pod name -> policy selector
    with_label: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)  # (namespace, key, value) -> pods

    def __post_init__(self) -> None:
        self.pods = pods(list(self.compiled))
        for release in self.releases:
            for pod in pods(list(release.docs)):
                self.pods.append(pod)
                self.release_of[pod.name] = release.key
        self.pods.sort(key=lambda p: p.name)
        for pod in self.pods:
            for key, value in pod.labels.items():
                self.with_label.setdefault((pod.namespace, key, value), set()).add(pod.name)
        for doc in self.all_docs():
            meta = doc["metadata"]
            where = (str(meta.get("namespace", "")), str(meta["name"]))
            if doc["kind"] == "Service":
                self.services[where] = doc
            elif doc["kind"] in {"ConfigMap", "Secret"}:
                self.configs[(doc["kind"], *where)] = doc
        self._add_operator_services()
        known = sorted({ns for ns, _ in self.services} | set(self.declared), key=len, reverse=True)
        alternatives = "|".join(re.escape(ns) for ns in known)
        self.mentions = re.compile(rf"\.(?:{alternatives})(?![A-Za-z0-9-])")

    def all_docs(self) -> Iterator[Doc]:
        yield from self.compiled
        for release in self.releases:
            yield from release.docs

    def relevant(self, *namespaces: str) -> bool:
        return any(ns in self.covered for ns in namespaces)

    def of_kind(self, *kinds: str) -> list[Doc]:
        return [doc for doc in self.all_docs() if doc["kind"] in kinds]

    def _add_operator_services(self) -> None:
        """Services no manifest holds: the kubelet Service prometheus-operator maintains (from its
        --kubelet-service argument) and the API server's own."""
        for pod in self.pods:
            for container in pod.spec.get("containers") or []:
                for arg in container.get("args") or []:
                    if str(arg).startswith("--kubelet-service="):
                        namespace, name = str(arg).split("=", 1)[1].split("/", 1)
                        ports = [{"name": n, "port": p, "targetPort": p} for n, p in KUBELET_PORTS]
                        self.services[(namespace, name)] = _service(namespace, name, KUBELET_LABELS, ports, NODES)
        self.services[API_SERVICE] = _service(*API_SERVICE, API_LABELS, [{"name": "https", "port": HTTPS_PORT}], API)

    # --- endpoints -------------------------------------------------------------------------------

    def pod_endpoint(self, pod: Pod) -> Endpoint:
        if pod.host_network:
            return self.nodes()
        return Endpoint(pod.name, pod.namespace, self._selector(pod))

    def _selector(self, pod: Pod) -> tuple[tuple[str, str], ...]:
        """The pod's own selector, narrowed by its other stable labels where it also selects another
        workload's pods (velero's selector takes in its node-agent), so a policy names only this one."""
        if pod.name not in self.selectors:
            chosen = dict(pod.selector)
            by_label = [self.with_label.get((pod.namespace, k, v), set()) for k, v in chosen.items()]
            selected = set.intersection(*by_label) if by_label else {p.name for p in self.pods if p.namespace == pod.namespace}
            if selected - {pod.name}:
                chosen |= {k: v for k, v in pod.labels.items() if k not in VOLATILE_LABELS}
            self.selectors[pod.name] = tuple(sorted(chosen.items()))
        return self.selectors[pod.name]

    def nodes(self) -> Endpoint:
        return Endpoint(NODES, cidrs=self.ranges.nodes)

    def api_server(self) -> Endpoint:
        return Endpoint(API, cidrs=self.ranges.api)

    def internet(self) -> Endpoint:
        return Endpoint("internet", cidrs=self.ranges.internet)

    def pods_selected(self, namespace: str, selector: Mapping[str, Any]) -> list[Pod]:
        return [p for p in self.pods if p.namespace == namespace and matches(selector, p.labels)]

    def service_backends(self, service: Doc, port: Mapping[str, Any], why: str) -> list[tuple[Endpoint, Port]]:
        """Where a Service port leads: each selected pod on its target port (a host-network pod:
        the node range on the resolved number), or the selector itself for pods no object here
        creates (kube-dns, kube-proxy)."""
        meta, spec = service["metadata"], service.get("spec") or {}
        namespace, protocol = str(meta.get("namespace", "")), str(port.get("protocol", "TCP"))
        target = port.get("targetPort", port.get("port"))
        backends = (meta.get("annotations") or {}).get(BACKENDS)
        if backends == NODES:
            return [(self.nodes(), Port(protocol, int(target)))]
        if backends == API:
            return [(self.api_server(), Port(protocol, int(target)))]
        selector = spec.get("selector") or {}
        if not selector:
            self.problems.append(f"{why}: Service {namespace}/{meta['name']} has no selector, so its endpoints are unknown here")
            return []
        selected = self.pods_selected(namespace, {"matchLabels": selector})
        if not selected:
            peer = Endpoint(
                f"{namespace}/{meta['name']} pods", namespace, tuple(sorted((str(k), str(v)) for k, v in selector.items()))
            )
            return [(peer, Port(protocol, _port_value(target)))]
        found = []
        for pod in selected:
            value = _resolve(target, pod)
            if pod.host_network and not isinstance(value, int):
                self.problems.append(f"{why}: host-network pod {pod.name} has no container port named {value!r}")
                continue
            found.append((self.pod_endpoint(pod), Port(protocol, value)))
        return found


# Labels that change with every chart release: never part of a selector we write.
VOLATILE_LABELS = frozenset({"helm.sh/chart", "app.kubernetes.io/version", "chart", "heritage", "pod-template-hash"})
BACKENDS = "mnops/backends"  # marks the modelled Services whose endpoints are not pods


def _service(namespace: str, name: str, labels: Mapping[str, str], ports: list[dict[str, Any]], backends: str) -> Doc:
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels), "annotations": {BACKENDS: backends}},
        "spec": {"ports": ports},
    }


def _port_value(value: object) -> int | str:
    if isinstance(value, int):
        return value
    return int(str(value)) if str(value).isdigit() else str(value)


def _resolve(target: object, pod: Pod) -> int | str:
    """A target port on a pod: numbers stay, names become the pod's number where the pod is known."""
    value = _port_value(target)
    return pod.ports.get(value, value) if isinstance(value, str) else value


def _service_port(service: Doc, wanted: int | str) -> Mapping[str, Any] | None:
    for port in (service.get("spec") or {}).get("ports") or []:
        if wanted in (port.get("name"), port.get("port")):
            return dict(port)
    return None


def _ports_of(service: Doc) -> str:
    listed = [f"{p.get('name') or '-'}={p.get('port')}" for p in (service.get("spec") or {}).get("ports") or []]
    return ", ".join(listed) or "none"


def _describe(doc: Doc) -> str:
    meta = doc["metadata"]
    return f"{doc['kind']} {meta.get('namespace', '')}/{meta['name']}".replace(" /", " ")


def _flows_to_service(
    cluster: Cluster, source: Endpoint, service: Doc, ports: Iterable[Mapping[str, Any]], why: str
) -> list[Flow]:
    flows = []
    for port in ports:
        for destination, resolved in cluster.service_backends(service, port, why):
            flows.append(Flow(source, destination, frozenset({resolved}), why))
    return flows


# --- scrape and alerting ---------------------------------------------------------------------------


def _namespaces(cluster: Cluster) -> dict[str, dict[str, str]]:
    names = {p.namespace for p in cluster.pods} | {ns for ns, _ in cluster.services} | set(cluster.declared)
    return namespace_labels(list(cluster.compiled), names)


def _selected_namespaces(selector: Mapping[str, Any] | None, own: str, labels: Mapping[str, Mapping[str, str]]) -> list[str]:
    """A Prometheus object's monitor namespace selector: unset means its own namespace only."""
    if selector is None:
        return [own]
    return sorted(ns for ns, ns_labels in labels.items() if matches(selector, ns_labels))


def _monitor_namespaces(monitor: Doc, labels: Mapping[str, Mapping[str, str]]) -> list[str]:
    chosen = (monitor.get("spec") or {}).get("namespaceSelector") or {}
    if chosen.get("any"):
        return sorted(labels)
    return sorted(chosen.get("matchNames") or [monitor["metadata"].get("namespace", "")])


def scrape_flows(cluster: Cluster) -> list[Flow]:
    flows: list[Flow] = []
    ns_labels = _namespaces(cluster)
    for prometheus in cluster.of_kind("Prometheus"):
        spec, own = prometheus.get("spec") or {}, str(prometheus["metadata"].get("namespace", ""))
        scrapers = [p for p in cluster.pods if p.name == f"{own}/prometheus-{prometheus['metadata']['name']}"]
        for kind, selector_key in (("ServiceMonitor", "serviceMonitor"), ("PodMonitor", "podMonitor")):
            selector = spec.get(f"{selector_key}Selector")
            if selector is None:  # unset selects no monitor at all (prometheus-operator's rule)
                continue
            watched = set(_selected_namespaces(spec.get(f"{selector_key}NamespaceSelector"), own, ns_labels))
            for monitor in cluster.of_kind(kind):
                meta = monitor["metadata"]
                if meta.get("namespace", "") not in watched or not matches(selector, meta.get("labels") or {}):
                    continue
                targets = _monitor_targets(cluster, monitor, ns_labels)
                for scraper in scrapers:
                    source = cluster.pod_endpoint(scraper)
                    flows += [Flow(source, dest, frozenset({port}), f"scrape {_describe(monitor)}") for dest, port in targets]
        for kind in ("Probe", "ScrapeConfig"):
            if spec.get(f"{kind[0].lower()}{kind[1:]}Selector") is not None and cluster.of_kind(kind):
                cluster.problems.append(
                    f"{_describe(prometheus)}: {kind} objects are not modelled; their targets would be blocked"
                )
    return flows


def _monitor_targets(cluster: Cluster, monitor: Doc, ns_labels: Mapping[str, Mapping[str, str]]) -> list[tuple[Endpoint, Port]]:
    spec, why = monitor.get("spec") or {}, f"scrape {_describe(monitor)}"
    selector = spec.get("selector") or {}
    namespaces = _monitor_namespaces(monitor, ns_labels)
    found: list[tuple[Endpoint, Port]] = []
    if monitor["kind"] == "ServiceMonitor":
        services = [
            svc for (ns, _), svc in sorted(cluster.services.items())
            if ns in namespaces and matches(selector, svc["metadata"].get("labels") or {})
        ]  # fmt: skip
        for endpoint in spec.get("endpoints") or []:
            for svc in services:
                if "port" in endpoint:
                    port = _service_port(svc, str(endpoint["port"]))
                    if port is None:
                        continue  # prometheus-operator skips Services without the named port
                else:
                    port = {"port": endpoint.get("targetPort"), "targetPort": endpoint.get("targetPort")}
                found += cluster.service_backends(svc, port, why)
    else:
        selected = [p for ns in namespaces for p in cluster.pods_selected(ns, selector)]
        for endpoint in spec.get("podMetricsEndpoints") or []:
            wanted = endpoint.get("portNumber") or endpoint.get("port") or endpoint.get("targetPort")
            for pod in selected:
                value = _resolve(wanted, pod)
                if pod.host_network and not isinstance(value, int):
                    cluster.problems.append(f"{why}: host-network pod {pod.name} has no container port named {value!r}")
                    continue
                found.append((cluster.pod_endpoint(pod), Port("TCP", value)))
    if not found:
        cluster.problems.append(f"{why}: selects no target in namespace(s) {', '.join(namespaces)} (selector {selector})")
    return found


def alerting_flows(cluster: Cluster) -> list[Flow]:
    flows: list[Flow] = []
    for prometheus in cluster.of_kind("Prometheus"):
        meta = prometheus["metadata"]
        scrapers = [p for p in cluster.pods if p.name == f"{meta.get('namespace', '')}/prometheus-{meta['name']}"]
        for target in ((prometheus.get("spec") or {}).get("alerting") or {}).get("alertmanagers") or []:
            namespace = str(target.get("namespace") or meta.get("namespace", ""))
            why = f"alerting {_describe(prometheus)}"
            service = cluster.services.get((namespace, str(target["name"])))
            port = _service_port(service, _port_value(target.get("port"))) if service else None
            if service is None or port is None:
                cluster.problems.append(
                    f"{why}: sends alerts to {namespace}/{target['name']}:{target.get('port')}, which no Service serves"
                )
                continue
            for scraper in scrapers:
                flows += _flows_to_service(cluster, cluster.pod_endpoint(scraper), service, [port], why)
    return flows


def gossip_flows(cluster: Cluster) -> list[Flow]:
    """Alertmanager replicas share silences and notification state on the cluster port (TCP and UDP)."""
    flows = []
    for pod in cluster.pods:
        if pod.labels.get("app.kubernetes.io/managed-by") == "prometheus-operator" and "mesh-tcp" in pod.ports:
            endpoint = cluster.pod_endpoint(pod)
            ports = frozenset({Port("TCP", pod.ports["mesh-tcp"]), Port("UDP", pod.ports["mesh-udp"])})
            flows.append(Flow(endpoint, endpoint, ports, f"gossip between the replicas of {pod.name}"))
    return flows


# --- configuration ---------------------------------------------------------------------------------

# An in-cluster address: [scheme://][dns+|dnssrv+|dnssrvnoa+][_port._tcp.]name.namespace[.svc[.cluster.local]][.][:port]
_ADDRESS = re.compile(
    r"(?<![A-Za-z0-9_.-])(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?:dns(?:srv(?:noa)?)?\+)?"
    r"(?:_(?P<portname>[a-z0-9-]+)\._(?:tcp|udp)\.)?"
    r"(?P<name>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.(?P<namespace>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)"
    r"(?P<svc>\.svc(?:\.cluster\.local)?)?\.?(?::(?P<port>\d+))?(?![A-Za-z0-9_-])"
)
_URL = re.compile(r"\bhttps?://[A-Za-z0-9.-]+(?::\d+)?")


def _decoded(doc: Doc, keys: Iterable[str] | None = None) -> list[str]:
    """The text values of a ConfigMap or Secret (Secret data base64-decoded), optionally only some keys."""
    texts: list[str] = []
    for field_name in ("data", "stringData"):
        for key, raw in sorted((doc.get(field_name) or {}).items()):
            if keys is not None and key not in keys:
                continue
            if doc["kind"] == "Secret" and field_name == "data":
                try:
                    texts.append(base64.b64decode(str(raw)).decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    continue
            else:
                texts.append(str(raw))
    return texts


Wanted = tuple[str, str, tuple[str, ...] | None]  # (kind, name, the keys read or None for all)


def _volume_configs(spec: Mapping[str, Any]) -> list[Wanted]:
    wanted: list[Wanted] = []
    for volume in spec.get("volumes") or []:
        sources = [volume, *((volume.get("projected") or {}).get("sources") or [])]
        for source in sources:
            if source.get("configMap"):
                wanted.append(("ConfigMap", str(source["configMap"].get("name")), None))
            if source.get("secret"):  # a volume names it secretName, a projected source name
                secret = source["secret"]
                wanted.append(("Secret", str(secret.get("secretName") or secret.get("name")), None))
    return wanted


def _container_configs(container: Mapping[str, Any]) -> list[Wanted]:
    wanted: list[Wanted] = []
    for env in container.get("env") or []:
        ref = env.get("valueFrom") or {}
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if ref.get(key):
                wanted.append((kind, str(ref[key].get("name")), (str(ref[key].get("key")),)))
    for source in container.get("envFrom") or []:
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if source.get(key):
                wanted.append((kind, str(source[key].get("name")), None))
    return wanted


def _own_texts(cluster: Cluster, pod: Pod) -> list[str]:
    """Container args, commands and env values, and the ConfigMaps and Secrets the pod mounts or reads."""
    texts: list[str] = []
    wanted = _volume_configs(pod.spec)
    for container in [*(pod.spec.get("initContainers") or []), *(pod.spec.get("containers") or [])]:
        texts += [str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])]]
        texts += [str(env["value"]) for env in container.get("env") or [] if "value" in env]
        wanted += _container_configs(container)
    if pod.labels.get("app.kubernetes.io/managed-by") == "prometheus-operator" and pod.labels.get(NAME) == "alertmanager":
        wanted.append(("Secret", _alertmanager_config(pod), None))  # the operator mounts it
    for kind, name, keys in wanted:
        doc = cluster.configs.get((kind, pod.namespace, name))
        if doc is not None:
            texts += _decoded(doc, keys)
    return texts


def _alertmanager_config(pod: Pod) -> str:
    """The Secret holding an Alertmanager's configuration: spec.configSecret, default alertmanager-<name>."""
    return str(pod.spec.get("configSecret") or f"alertmanager-{pod.labels['app.kubernetes.io/instance']}")


def _sidecar_texts(cluster: Cluster, pod: Pod) -> list[str]:
    """What a k8s-sidecar container (Grafana's datasources and dashboards) loads: every ConfigMap
    and/or Secret carrying its LABEL (with LABEL_VALUE), in NAMESPACE (ALL, a list, or its own)."""
    texts: list[str] = []
    for container in pod.spec.get("containers") or []:
        env = {str(e["name"]): str(e.get("value", "")) for e in container.get("env") or [] if "value" in e}
        if "LABEL" not in env or "FOLDER" not in env:
            continue
        resource = env.get("RESOURCE", "configmap")
        kinds = {"ConfigMap", "Secret"} if resource == "both" else {"Secret" if resource == "secret" else "ConfigMap"}
        scope = env.get("NAMESPACE", pod.namespace)
        namespaces = None if scope == "ALL" else {ns.strip() for ns in scope.split(",")}
        for (kind, namespace, _), doc in sorted(cluster.configs.items()):
            labels = doc["metadata"].get("labels") or {}
            if kind not in kinds or (namespaces is not None and namespace not in namespaces) or env["LABEL"] not in labels:
                continue
            if "LABEL_VALUE" in env and str(labels[env["LABEL"]]) != env["LABEL_VALUE"]:
                continue
            texts += _decoded(doc)
    return texts


def _addresses(cluster: Cluster, text: str) -> list[re.Match[str]]:
    """The addresses in a text. The full pattern is slow on megabytes of dashboards, so it only runs
    around each `.namespace` a quick scan finds."""
    found: dict[tuple[int, int], re.Match[str]] = {}
    for hit in cluster.mentions.finditer(text):
        start, end = max(0, hit.start() - 256), min(len(text), hit.end() + 64)
        for match in _ADDRESS.finditer(text, start, end):
            if match.start("namespace") == hit.start() + 1:
                found[match.span()] = match
    return [found[span] for span in sorted(found)]


def _address_flows(cluster: Cluster, pod: Pod, text: str, why: str) -> list[Flow]:
    flows: list[Flow] = []
    for found in _addresses(cluster, text):
        namespace, name = found["namespace"], found["name"]
        if not cluster.relevant(pod.namespace, namespace):
            continue
        service = cluster.services.get((namespace, name))
        if service is None:
            if found["svc"] and namespace in cluster.declared:
                cluster.problems.append(f"{why}: calls {found.group(0)}, but no Service {namespace}/{name} exists")
            continue
        reference = found.group(0)
        if found["portname"]:
            wanted: int | str | None = found["portname"]
        elif found["port"]:
            wanted = int(found["port"])
        else:
            wanted = SCHEME_PORTS.get(found["scheme"] or "")
        if wanted is None:  # no port given: the Service is called on whichever of its ports
            ports = list((service.get("spec") or {}).get("ports") or [])
        else:
            port = _service_port(service, wanted)
            if port is None:
                cluster.problems.append(
                    f"{why}: calls {reference}, but Service {namespace}/{name} has no port {wanted} (it has {_ports_of(service)})"
                )
                continue
            ports = [port]
        flows += _flows_to_service(cluster, cluster.pod_endpoint(pod), service, ports, f"{why} calls {reference}")
    return flows


def _external_flows(cluster: Cluster, pod: Pod, text: str, why: str) -> list[Flow]:
    flows = []
    for url in _URL.findall(text):
        parts = urlsplit(url)
        host = parts.hostname or ""
        if "." not in host or host in LOCAL_HOSTS or ".svc" in host or _known(cluster, host):
            continue
        port = parts.port or SCHEME_PORTS[parts.scheme]
        flows.append(Flow(cluster.pod_endpoint(pod), cluster.internet(), frozenset({Port("TCP", port)}), f"{why} calls {url}"))
    return flows


def _known(cluster: Cluster, host: str) -> bool:
    name, _, namespace = host.partition(".")
    return (namespace.split(".")[0], name) in cluster.services


def config_flows(cluster: Cluster) -> list[Flow]:
    flows: list[Flow] = []
    for pod in cluster.pods:
        if pod.host_network:
            continue
        why = f"configuration of {pod.name}"
        for text in _own_texts(cluster, pod):
            flows += _address_flows(cluster, pod, text, why)
            if cluster.relevant(pod.namespace):
                flows += _external_flows(cluster, pod, text, why)
        for text in _sidecar_texts(cluster, pod):
            flows += _address_flows(cluster, pod, text, f"{why} (loaded by its sidecar)")
    return flows


# --- releases, API server, webhooks, cloud -------------------------------------------------------------


def _selected(service: Doc, pods: Iterable[Pod]) -> list[Pod]:
    namespace, selector = service["metadata"].get("namespace"), {"matchLabels": service["spec"]["selector"]}
    return [p for p in pods if p.namespace == namespace and matches(selector, p.labels)]


def _peer_ports(cluster: Cluster, callee: Pod, services: Sequence[Doc]) -> list[tuple[Endpoint, Port]]:
    """Every port the chart's Services expose on this pod, resolved on it."""
    return [
        (
            cluster.pod_endpoint(callee),
            Port(str(port.get("protocol", "TCP")), _resolve(port.get("targetPort", port["port"]), callee)),
        )
        for service in services
        if callee in _selected(service, [callee])
        for port in service["spec"].get("ports") or []
    ]


def peer_flows(cluster: Cluster) -> list[Flow]:
    flows: list[Flow] = []
    for release in cluster.releases:
        services = [d for d in release.docs if d["kind"] == "Service" and (d.get("spec") or {}).get("selector")]
        members = [p for p in cluster.pods if cluster.release_of.get(p.name) == release.key and not p.host_network]
        for service in services:
            group = _selected(service, members)
            headless = service["spec"].get("clusterIP") == "None"
            if not (headless or len(group) > 1) or not cluster.relevant(service["metadata"].get("namespace", "")):
                continue
            why = f"peers of chart {release.key} through {_describe(service)}"
            for callee in group:
                ports = _peer_ports(cluster, callee, services)
                for caller in group:
                    flows += [Flow(cluster.pod_endpoint(caller), dest, frozenset({port}), why) for dest, port in ports]
    return flows


ANALYSIS_KINDS = (("argoproj.io", "AnalysisTemplate"), ("argoproj.io", "ClusterAnalysisTemplate"))


def analysis_flows(cluster: Cluster) -> list[Flow]:
    """Argo Rollouts' controller runs each analysis: it queries the address of every metric provider."""
    flows: list[Flow] = []
    for group, kind in ANALYSIS_KINDS:
        controllers = [
            pod
            for release in cluster.releases
            if (group, kind) in release.provides
            for pod in cluster.pods
            if cluster.release_of.get(pod.name) == release.key and not pod.host_network
        ]
        for template in cluster.of_kind(kind):
            for metric in (template.get("spec") or {}).get("metrics") or []:
                for provider in (metric.get("provider") or {}).values():
                    address = str((provider or {}).get("address") or (provider or {}).get("url") or "")
                    for pod in controllers if address else []:
                        flows += _address_flows(cluster, pod, address, f"{pod.name} runs the analysis of {_describe(template)}")
    return flows


def _bound_accounts(cluster: Cluster) -> set[tuple[str, str]]:
    bound: set[tuple[str, str]] = set()
    for binding in cluster.of_kind("RoleBinding", "ClusterRoleBinding"):
        for subject in binding.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount":
                bound.add((str(subject.get("namespace") or binding["metadata"].get("namespace", "")), str(subject["name"])))
    return bound


def api_flows(cluster: Cluster) -> list[Flow]:
    bound = _bound_accounts(cluster)
    api = cluster.api_server()
    return [
        Flow(
            cluster.pod_endpoint(pod), api, frozenset({Port("TCP", HTTPS_PORT)}), f"{pod.name} has RBAC as {pod.service_account}"
        )
        for pod in cluster.pods
        if (pod.namespace, pod.service_account) in bound and not pod.host_network and cluster.relevant(pod.namespace)
    ]


def _webhook_services(cluster: Cluster) -> Iterator[tuple[Doc, Mapping[str, Any]]]:
    for doc in cluster.of_kind("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        for webhook in doc.get("webhooks") or []:
            yield doc, (webhook.get("clientConfig") or {}).get("service") or {}
    for doc in cluster.of_kind("APIService"):
        yield doc, (doc.get("spec") or {}).get("service") or {}
    for doc in cluster.of_kind("CustomResourceDefinition"):
        conversion = (doc.get("spec") or {}).get("conversion") or {}
        yield doc, ((conversion.get("webhook") or {}).get("clientConfig") or {}).get("service") or {}


def webhook_flows(cluster: Cluster) -> list[Flow]:
    flows: list[Flow] = []
    for doc, reference in _webhook_services(cluster):
        if not reference.get("name") or not cluster.relevant(str(reference.get("namespace", ""))):
            continue
        why = f"the API server calls {_describe(doc)}"
        service = cluster.services.get((str(reference.get("namespace", "")), str(reference["name"])))
        wanted = int(reference.get("port") or HTTPS_PORT)
        port = _service_port(service, wanted) if service else None
        if service is None or port is None:
            cluster.problems.append(f"{why}: no Service {reference.get('namespace')}/{reference['name']} with port {wanted}")
            continue
        flows += _flows_to_service(cluster, cluster.api_server(), service, [port], why)
    return flows


def cloud_flows(cluster: Cluster) -> list[Flow]:
    if cluster.identity is None:
        return []
    annotation = cluster.identity.annotation
    identities = {
        (str(sa["metadata"].get("namespace", "")), str(sa["metadata"]["name"]))
        for sa in cluster.of_kind("ServiceAccount")
        if annotation in (sa["metadata"].get("annotations") or {})
    }
    destinations = [(cluster.internet(), Port("TCP", HTTPS_PORT))] + [
        (Endpoint(f"credentials {cidr}", cidrs=(cidr,)), Port("TCP", port))
        for cidr, port in cluster.identity.credential_endpoints
    ]
    return [
        Flow(cluster.pod_endpoint(pod), destination, frozenset({port}), f"{pod.name} has a cloud identity ({annotation})")
        for pod in cluster.pods
        if (pod.namespace, pod.service_account) in identities and not pod.host_network and cluster.relevant(pod.namespace)
        for destination, port in destinations
    ]


def receiver_flows(cluster: Cluster) -> list[Flow]:
    flows: list[Flow] = []
    for pod in cluster.pods:
        if (
            pod.labels.get("app.kubernetes.io/name") != "alertmanager"
            or "mesh-tcp" not in pod.ports
            or not cluster.relevant(pod.namespace)
        ):
            continue
        secret_name = _alertmanager_config(pod)
        secret = cluster.configs.get(("Secret", pod.namespace, secret_name))
        if secret is None:
            cluster.problems.append(f"{pod.name}: its configuration Secret {pod.namespace}/{secret_name} is not rendered")
            continue
        config = yaml.safe_load("\n".join(_decoded(secret, ["alertmanager.yaml"]))) or {}
        smarthost = str((config.get("global") or {}).get("smtp_smarthost") or "")
        for receiver in config.get("receivers") or []:
            why = f"{pod.name} notifies receiver {receiver.get('name')}"
            for key, entries in sorted(receiver.items()):
                if not key.endswith("_configs"):
                    continue
                for entry in entries or []:
                    flows += _receiver_flows(cluster, pod, entry, smarthost, why)
    return flows


def _receiver_flows(cluster: Cluster, pod: Pod, entry: Mapping[str, Any], smarthost: str, why: str) -> list[Flow]:
    url = str(entry.get("url") or entry.get("api_url") or "")
    if url and _ADDRESS.search(url) and _known(cluster, urlsplit(url).hostname or ""):
        return _address_flows(cluster, pod, url, why)
    if url:
        port = urlsplit(url).port or SCHEME_PORTS.get(urlsplit(url).scheme, HTTPS_PORT)
    elif entry.get("smarthost") or ("to" in entry and smarthost):
        port = int(str(entry.get("smarthost") or smarthost).rsplit(":", 1)[1])
    else:
        port = HTTPS_PORT  # the URL is in a secret file (or the integration's default): HTTPS
    return [Flow(cluster.pod_endpoint(pod), cluster.internet(), frozenset({Port("TCP", port)}), why)]


def _discovery_addresses(cluster: Cluster) -> list[str]:
    """istiod's address as each mesh configuration names it (a ConfigMap's `mesh` key:
    defaultConfig.discoveryAddress, which the sidecars are given)."""
    found: set[str] = set()
    for (kind, _, _), doc in cluster.configs.items():
        text = (doc.get("data") or {}).get("mesh") if kind == "ConfigMap" else None
        mesh = yaml.safe_load(text) if isinstance(text, str) else None
        address = ((mesh.get("defaultConfig") or {}) if isinstance(mesh, dict) else {}).get("discoveryAddress")
        if address:
            found.add(str(address))
    return sorted(found)


def mesh_flows(cluster: Cluster) -> list[Flow]:
    """A sidecar fetches its configuration and workload certificate from istiod: Prometheus, where it
    scrapes through the mesh (observability/mesh_scrape.py), is one such pod in our namespaces."""
    labels = _namespaces(cluster)
    injected = [p for p in cluster.pods if cluster.relevant(p.namespace) and sidecar_injected(p, labels)]
    addresses = _discovery_addresses(cluster) if injected else []
    if injected and not addresses:
        cluster.problems.append(f"{injected[0].name} gets an Istio sidecar, but no mesh configuration names istiod's address")
    flows: list[Flow] = []
    for pod in injected:
        for address in addresses:
            flows += _address_flows(cluster, pod, address, f"the Istio sidecar of {pod.name}")
    return flows


RULES = (scrape_flows, alerting_flows, gossip_flows, config_flows, peer_flows, analysis_flows, api_flows, webhook_flows,
         cloud_flows, receiver_flows, mesh_flows)  # fmt: skip


def derive(cluster: Cluster) -> list[Flow]:
    """Every flow of the cluster, or PlatformNetworkError with every reference that does not resolve."""
    flows = [f for rule in RULES for f in rule(cluster) if cluster.relevant(f.source.namespace, f.destination.namespace)]
    if cluster.problems:
        raise PlatformNetworkError([f"{cluster.target}: {p}" for p in sorted(set(cluster.problems))])
    return flows
