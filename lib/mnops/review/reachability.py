"""Who can call whom: the reachability that compiled NetworkPolicies (and Istio AuthorizationPolicies)
allow between workloads, data stores and the internet, before and after a change.

NetworkPolicy semantics as the API server documents them: a pod is isolated for a direction once
any policy selecting it lists that policyType (Ingress always, Egress when an egress section is
present); an isolated pod allows only what the union of its policies' rules allow. A rule without
`from`/`to` allows every peer, without `ports` every port. A peer is a podSelector (pods of the
policy's namespace), a namespaceSelector (every pod of those namespaces), both (those pods in those
namespaces) or an ipBlock (addresses outside the cluster here: pod IPs in ipBlocks are
implementation-defined, so they only reach external nodes). A connection needs the source's egress
and the destination's ingress to allow the same port.

Pods are modelled from what creates them: Deployments, Rollouts, StatefulSets, DaemonSets, Jobs and
CronJobs (template labels), CloudNativePG Clusters and Poolers, Redis operator resources, Envoy
Gateway's proxies and prometheus-operator's Prometheus and Alertmanager (the labels and ports those
operators set). Peers no given object creates (kube-dns, or chart pods when only compiled/ is read)
become nodes named after their selector. Host-network pods (node-exporter) are left out: their
traffic is the node's, which NetworkPolicies do not govern; a policy reaches them through an
ipBlock of the node range.
Where a namespace has Istio AuthorizationPolicies, its pods also need an ALLOW rule (and no DENY
rule) matching the source's namespace or service-account principal and the port (a rule's paths
and methods narrow requests, not ports: it counts as its ports). A source has a mesh identity only
if it is in the mesh: a sidecar injected by istiod's webhook (the pod label
sidecar.istio.io/inject=true, or the namespace label istio-injection=enabled unless the pod opts
out) or ambient enrolment (istio.io/dataplane-mode=ambient on the pod or its namespace). A pod in
the mesh under a STRICT PeerAuthentication (its namespace's, or the root namespace's) refuses
every source outside the mesh, except on ports a portLevelMtls entry relaxes.

On AWS the cloud has its own layer: the security groups the management cluster creates for the
cluster (compiled/<management>/infra/infra-<cluster>/). Each SecurityGroupIngressRule is an edge
from a group, an address range or a prefix list to a group; a group that an RDS instance or an
ElastiCache replication group sits in is a data store. So a change there alone (RDS opened to an
address range) is this cluster's, and risky like a NetworkPolicy that opens a data store.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mnops.review import ReviewInput, RiskItem, Section
from mnops.review.compiled import Doc, documents, managed_objects

TITLE = "Who can call whom"  # the section's heading; also named when the section finds no change

INTERNET = "internet"
ALL_PORTS: frozenset[str] = frozenset({"*"})
DATA_STORE_KINDS = frozenset({"Cluster", "Pooler", "RedisReplication", "RedisSentinel", "Redis", "RedisCluster"})


@dataclass(frozen=True)
class Pod:
    """A group of identical pods: one node of the graph."""

    name: str  # "namespace/workload"
    namespace: str
    labels: Mapping[str, str]
    service_account: str = "default"
    ports: Mapping[str, int] = field(default_factory=dict)  # container port names -> numbers
    data_store: bool = False
    # The labels a NetworkPolicy selects this group by: the workload's own selector (template labels
    # carry versions that change with every release); the operator's guaranteed labels otherwise.
    selector: Mapping[str, str] = field(default_factory=dict, compare=False)
    host_network: bool = False
    spec: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the pod spec, if known


@dataclass(frozen=True)
class External:
    """Something outside our manifests: the internet, a private range, or a peer chosen by selector."""

    name: str
    internet: bool = False


Node = Pod | External


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A Kubernetes LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != str(value):
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], [str(v) for v in expression.get("values") or []]
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(operator, False)
        if not ok:
            return False
    return True


def _template_pod(doc: Doc) -> Pod:
    meta, spec = doc["metadata"], doc.get("spec") or {}
    if doc["kind"] == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") or {}
    pod_spec = template.get("spec") or {}
    ports = {
        str(p["name"]): int(p["containerPort"])
        for c in pod_spec.get("containers") or []
        for p in c.get("ports") or []
        if p.get("name")
    }
    namespace = str(meta.get("namespace", "default"))
    labels = {str(k): str(v) for k, v in ((template.get("metadata") or {}).get("labels") or {}).items()}
    selector = {str(k): str(v) for k, v in ((spec.get("selector") or {}).get("matchLabels") or {}).items()}
    return Pod(
        f"{namespace}/{meta['name']}",
        namespace,
        labels,
        str(pod_spec.get("serviceAccountName", "default")),
        ports,
        selector=selector or labels,
        host_network=bool(pod_spec.get("hostNetwork")),
        spec=pod_spec,
    )


# prometheus-operator: the labels it gives the pods of a Prometheus or Alertmanager (the chart's own
# Services select them by these) and the ports of its containers: the web port under `portName`,
# the config reloader's, and Alertmanager's cluster gossip.
PROMETHEUS_PORTS = {"reloader-web": 8080}
ALERTMANAGER_PORTS = {"reloader-web": 8080, "mesh-tcp": 9094, "mesh-udp": 9094}
WEB_PORTS = {"Prometheus": 9090, "Alertmanager": 9093}


def _monitoring_pod(doc: Doc) -> Pod:
    meta, spec = doc["metadata"], doc.get("spec") or {}
    kind, name = str(doc["kind"]), str(meta["name"])
    namespace = str(meta.get("namespace", "default"))
    app = kind.lower()
    if kind == "Prometheus":
        selector = {"app.kubernetes.io/name": app, "operator.prometheus.io/name": name}
        extra, ports = {"prometheus": name}, dict(PROMETHEUS_PORTS)
    else:
        selector = {"app.kubernetes.io/name": app, app: name}
        extra, ports = {}, dict(ALERTMANAGER_PORTS)
    ports[str(spec.get("portName") or "web")] = WEB_PORTS[kind]
    own = {str(k): str(v) for k, v in ((spec.get("podMetadata") or {}).get("labels") or {}).items()}
    labels = {
        **own,
        **selector,
        **extra,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "prometheus-operator",
    }
    account = str(spec.get("serviceAccountName") or "default")
    return Pod(f"{namespace}/{app}-{name}", namespace, labels, account, ports, selector=selector,
               host_network=bool(spec.get("hostNetwork")), spec=spec)  # fmt: skip


# CloudNativePG's container ports on instance and pooler pods (a PodMonitor names them).
CNPG_INSTANCE_PORTS = {"postgresql": 5432, "metrics": 9187, "status": 8000}
CNPG_POOLER_PORTS = {"pgbouncer": 5432, "metrics": 9127}


def _operator_pod(doc: Doc, extra: Mapping[str, str], data_store: bool, ports: Mapping[str, int] | None = None) -> Pod:
    meta = doc["metadata"]
    namespace = str(meta.get("namespace", "default"))
    labels = {**{str(k): str(v) for k, v in (meta.get("labels") or {}).items()}, **extra}
    return Pod(f"{namespace}/{meta['name']}", namespace, labels, str(meta["name"]), dict(ports or {}), data_store,
               selector=dict(extra))  # fmt: skip


def _envoy_pod_labels(docs: list[Doc], gateway: Doc) -> dict[str, str]:
    """The pod labels of the EnvoyProxy a Gateway's class (or the Gateway itself) points at: Envoy
    Gateway puts them on the proxies it creates (the mesh's injection label, for one)."""
    proxies = {
        (str(d["metadata"].get("namespace", "")), str(d["metadata"]["name"])): d
        for d in docs
        if d["kind"] == "EnvoyProxy" and str(d.get("apiVersion", "")).startswith("gateway.envoyproxy.io/")
    }
    spec = gateway.get("spec") or {}
    refs = [((spec.get("infrastructure") or {}).get("parametersRef") or {}) | {"namespace": gateway["metadata"].get("namespace")}]
    refs += [
        (d.get("spec") or {}).get("parametersRef") or {}
        for d in docs
        if d["kind"] == "GatewayClass" and d["metadata"]["name"] == spec.get("gatewayClassName")
    ]
    for ref in refs:
        proxy = proxies.get((str(ref.get("namespace", "")), str(ref.get("name", ""))))
        if ref.get("kind") == "EnvoyProxy" and proxy is not None:
            pod = ((((proxy.get("spec") or {}).get("provider") or {}).get("kubernetes") or {}).get("envoyDeployment") or {}).get(
                "pod"
            )
            return {str(k): str(v) for k, v in ((pod or {}).get("labels") or {}).items()}
    return {}


def pods(docs: list[Doc]) -> list[Pod]:
    """Every group of pods the compiled objects create, with the labels their controllers give them."""
    found: list[Pod] = []
    for doc in docs:
        kind, api = doc["kind"], str(doc.get("apiVersion", ""))
        name = str(doc["metadata"]["name"])
        if kind in {"Deployment", "Rollout", "StatefulSet", "DaemonSet", "Job", "CronJob"}:
            found.append(_template_pod(doc))
        elif kind in WEB_PORTS and api.startswith("monitoring.coreos.com/"):
            found.append(_monitoring_pod(doc))
        elif kind == "Cluster" and api.startswith("postgresql.cnpg.io/"):
            found.append(_operator_pod(doc, {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"}, True, CNPG_INSTANCE_PORTS))
        elif kind == "Pooler" and api.startswith("postgresql.cnpg.io/"):
            cluster = str(((doc.get("spec") or {}).get("cluster") or {}).get("name", ""))
            found.append(_operator_pod(doc, {"cnpg.io/poolerName": name, "cnpg.io/cluster": cluster}, True, CNPG_POOLER_PORTS))
        elif kind in DATA_STORE_KINDS and api.startswith("redis.redis.opstreelabs.in/"):
            found.append(_operator_pod(doc, {"app": name}, True))
        elif kind == "Gateway" and api.startswith("gateway.networking.k8s.io/"):
            namespace = str(doc["metadata"].get("namespace", "default"))
            labels = {
                "app.kubernetes.io/name": "envoy",
                "app.kubernetes.io/component": "proxy",
                "app.kubernetes.io/managed-by": "envoy-gateway",
                "gateway.envoyproxy.io/owning-gateway-name": name,
                "gateway.envoyproxy.io/owning-gateway-namespace": namespace,
            }
            # Envoy Gateway runs a Gateway's proxies in its own namespace, not the Gateway's.
            found.append(
                Pod(
                    f"envoy-gateway-system/envoy-{name}",
                    "envoy-gateway-system",
                    {**_envoy_pod_labels(docs, doc), **labels},
                    f"envoy-{name}",
                    selector=labels,
                )
            )
    return sorted(found, key=lambda p: p.name)


def namespace_labels(docs: list[Doc], namespaces: Iterable[str]) -> dict[str, dict[str, str]]:
    """Labels of each namespace: the compiled Namespace's, plus kubernetes.io/metadata.name (set by the API server)."""
    labels = {ns: {"kubernetes.io/metadata.name": ns} for ns in namespaces}
    for doc in docs:
        if doc["kind"] == "Namespace":
            name = str(doc["metadata"]["name"])
            labels[name] = {**{str(k): str(v) for k, v in (doc["metadata"].get("labels") or {}).items()},
                            "kubernetes.io/metadata.name": name}  # fmt: skip
    return labels


def _ports(rule: Mapping[str, Any], destination: Pod | None) -> frozenset[str]:
    """The rule's ports as `PROTO/number` (named ports resolved on the destination), or ALL_PORTS."""
    if not rule.get("ports"):
        return ALL_PORTS
    result: set[str] = set()
    for port in rule["ports"]:
        protocol = str(port.get("protocol", "TCP"))
        value = port.get("port")
        if value is None:
            return ALL_PORTS if protocol == "TCP" else frozenset({f"{protocol}/*"})
        if isinstance(value, str) and not value.isdigit():
            number = destination.ports.get(value) if destination else None
            result.add(f"{protocol}/{number if number is not None else value}")
            continue
        end = int(port.get("endPort", value))
        result.update(f"{protocol}/{n}" for n in range(int(value), end + 1))
    return frozenset(result)


def _intersect(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    if a == ALL_PORTS:
        return b
    if b == ALL_PORTS:
        return a
    return a & b


@dataclass(frozen=True)
class Policies:
    """The NetworkPolicies, AuthorizationPolicies and PeerAuthentications of one side of one cluster."""

    network: tuple[Doc, ...]
    authorization: tuple[Doc, ...]
    namespaces: Mapping[str, Mapping[str, str]]
    peer_authentication: tuple[Doc, ...] = ()


ISTIO_ROOT_NAMESPACE = "istio-system"  # istiod's default rootNamespace: its PeerAuthentication is mesh-wide
INJECT = "sidecar.istio.io/inject"
AMBIENT = ("istio.io/dataplane-mode", "ambient")


def in_mesh(pod: Pod, namespaces: Mapping[str, Mapping[str, str]]) -> bool:
    """Whether the pod has a mesh identity: istiod's injection webhook for the default revision
    (istiod chart, templates/mutatingwebhook.yaml: a namespace labelled istio-injection=enabled
    unless the pod says inject=false; in an unlabelled namespace, a pod labelled inject=true), or
    ambient enrolment. Revision labels (istio.io/rev) are not used here and count as not injected."""
    if pod.host_network:
        return False
    ns = namespaces.get(pod.namespace, {})
    key, value = AMBIENT
    if pod.labels.get(key) == value or (ns.get(key) == value and key not in pod.labels):
        return True
    return sidecar_injected(pod, namespaces)


def sidecar_injected(pod: Pod, namespaces: Mapping[str, Mapping[str, str]]) -> bool:
    """Whether istiod's webhook gives the pod a sidecar (see in_mesh)."""
    ns = namespaces.get(pod.namespace, {})
    if pod.host_network:
        return False
    if ns.get("istio-injection") == "enabled":
        return pod.labels.get(INJECT) != "false"
    return "istio-injection" not in ns and "istio.io/rev" not in ns and pod.labels.get(INJECT) == "true"


def _plaintext_ports(policies: Policies, destination: Pod) -> frozenset[str] | None:
    """Ports on which the destination accepts sources outside the mesh: None for all of them, the
    ports a portLevelMtls entry relaxes where a STRICT PeerAuthentication applies. The most
    specific applies: the workload's, then its namespace's, then the root namespace's."""
    if not in_mesh(destination, policies.namespaces):
        return None
    candidates = [
        p for p in policies.peer_authentication
        if (p["metadata"].get("namespace") == destination.namespace
            and matches((p.get("spec") or {}).get("selector") or {}, destination.labels))
        or (p["metadata"].get("namespace") == ISTIO_ROOT_NAMESPACE and "selector" not in (p.get("spec") or {}))
    ]  # fmt: skip

    def rank(p: Doc) -> int:
        return 0 if "selector" in (p.get("spec") or {}) else 1 if p["metadata"].get("namespace") == destination.namespace else 2

    for policy in sorted(candidates, key=rank)[:1]:
        spec = policy.get("spec") or {}
        if ((spec.get("mtls") or {}).get("mode")) != "STRICT":
            return None
        relaxed = {
            f"TCP/{port}" for port, mtls in (spec.get("portLevelMtls") or {}).items() if (mtls or {}).get("mode") != "STRICT"
        }
        return frozenset(relaxed)
    return None


def _selects(policy: Doc, pod: Pod) -> bool:
    return policy["metadata"].get("namespace", "default") == pod.namespace and matches(
        policy["spec"].get("podSelector") or {}, pod.labels
    )


def _types(policy: Doc) -> set[str]:
    spec = policy["spec"]
    # Unset policyTypes: Ingress always, Egress only if the policy has egress rules (an empty list has none).
    return set(spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]))


def _peer_matches(
    peer: Mapping[str, Any], policy_namespace: str, other: Node, namespaces: Mapping[str, Mapping[str, str]]
) -> bool:
    if "ipBlock" in peer:
        return isinstance(other, External) and other.name == _ip_node(peer["ipBlock"]).name
    if isinstance(other, External):
        return other.name == _selector_node(peer, policy_namespace).name
    if "namespaceSelector" in peer:
        if not matches(
            peer["namespaceSelector"], namespaces.get(other.namespace, {"kubernetes.io/metadata.name": other.namespace})
        ):
            return False
    elif other.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or matches(peer["podSelector"], other.labels)


def _isolated(policies: Policies, pod: Pod) -> bool:
    return any(_selects(p, pod) and "Ingress" in _types(p) for p in policies.network)


def _allowed(policies: Policies, pod: Pod, other: Node, direction: str) -> frozenset[str]:
    """Ports on which `pod` lets `other` in (direction Ingress) or may reach `other` (Egress)."""
    selecting = [p for p in policies.network if _selects(p, pod) and direction in _types(p)]
    if not selecting:
        return ALL_PORTS  # not isolated in this direction
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    destination = pod if direction == "Ingress" else (other if isinstance(other, Pod) else None)
    ports: set[str] = set()
    for policy in selecting:
        namespace = str(policy["metadata"].get("namespace", "default"))
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(peer, namespace, other, policies.namespaces) for peer in peers):
                continue
            allowed = _ports(rule, destination)
            if allowed == ALL_PORTS:
                return ALL_PORTS
            ports |= allowed
    return frozenset(ports)


def _mesh_allows(policies: Policies, source: Node, destination: Pod, ports: frozenset[str]) -> frozenset[str]:
    """Istio: DENY first, then an ALLOW rule must match, where the destination's namespace has policies."""
    applying = [
        p for p in policies.authorization
        if p["metadata"].get("namespace") == destination.namespace
        and ("selector" not in (p.get("spec") or {}) or matches(p["spec"]["selector"], destination.labels))
    ]  # fmt: skip
    plaintext = _plaintext_ports(policies, destination)
    meshed = isinstance(source, Pod) and in_mesh(source, policies.namespaces)
    if plaintext is not None and not meshed:
        ports = _intersect(ports, plaintext)  # STRICT mTLS: a source without an identity gets no further
    if not any(p["metadata"].get("namespace") == destination.namespace for p in policies.authorization):
        return ports

    def rule_ports(rule: Mapping[str, Any]) -> frozenset[str] | None:
        sources = [f.get("source") or {} for f in rule.get("from") or []]
        if sources and not any(_source_matches(s, source, meshed) for s in sources):
            return None
        operations = [t.get("operation") or {} for t in rule.get("to") or []]
        if not operations or any("ports" not in o for o in operations):
            return ALL_PORTS
        return frozenset(f"TCP/{port}" for o in operations for port in o["ports"])

    for policy in (p for p in applying if (p.get("spec") or {}).get("action") == "DENY"):
        for rule in policy["spec"].get("rules") or [{}]:
            denied = rule_ports(rule)
            if denied is not None:
                ports = frozenset() if denied == ALL_PORTS else (ports - denied if ports != ALL_PORTS else ports)
    allow = [p for p in applying if (p.get("spec") or {}).get("action", "ALLOW") == "ALLOW"]
    if not allow:
        return ports
    granted: set[str] = set()
    for policy in allow:
        for rule in policy["spec"].get("rules") or []:
            matched = rule_ports(rule)
            if matched is not None:
                granted |= matched if matched != ALL_PORTS else {"*"}
    return ports if "*" in granted else _intersect(ports, frozenset(granted))


def _source_matches(source: Mapping[str, Any], node: Node, meshed: bool) -> bool:
    if not isinstance(node, Pod) or not meshed:
        return not source  # a caller outside the mesh has no identity: principals and namespaces never match
    principal = f"cluster.local/ns/{node.namespace}/sa/{node.service_account}"
    if "principals" in source and principal not in source["principals"]:
        return False
    return "namespaces" not in source or node.namespace in source["namespaces"]


def _ip_node(block: Mapping[str, Any]) -> External:
    network = ipaddress.ip_network(str(block["cidr"]), strict=False)
    if network.is_private:
        return External(f"private {network}")
    return External(INTERNET, internet=True)


def _selector_node(peer: Mapping[str, Any], policy_namespace: str) -> External:
    def show(selector: Mapping[str, Any]) -> str:
        parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
        parts += [
            f"{e['key']} {e['operator']} {','.join(e.get('values') or [])}".strip()
            for e in selector.get("matchExpressions") or []
        ]
        return ",".join(parts) or "*"

    namespace = (
        show(peer["namespaceSelector"]).removeprefix("kubernetes.io/metadata.name=")
        if "namespaceSelector" in peer
        else policy_namespace
    )
    return External(f"{namespace}/{show(peer['podSelector']) if 'podSelector' in peer else '*'}")


def _externals(policies: Policies, pod_list: list[Pod]) -> list[External]:
    """The internet, plus every peer of a rule that selects no modelled pod (kube-dns, Loki, ...)."""
    found = {INTERNET: External(INTERNET, internet=True)}
    for policy in policies.network:
        namespace = str(policy["metadata"].get("namespace", "default"))
        for rules_key, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"].get(rules_key) or []:
                for peer in rule.get(peers_key) or []:
                    if "ipBlock" in peer:
                        node = _ip_node(peer["ipBlock"])
                    elif any(_peer_matches(peer, namespace, pod, policies.namespaces) for pod in pod_list):
                        continue
                    else:
                        node = _selector_node(peer, namespace)
                    found.setdefault(node.name, node)
    return [found[name] for name in sorted(found)]


Edge = tuple[str, str]


def reachability(docs: list[Doc], *, between_replicas: bool = False) -> dict[Edge, frozenset[str]]:
    """(source, destination) -> ports, for every pair that can connect, across the whole cluster.

    With between_replicas, a pod group's edge to itself too: what one replica may open to another
    (Prometheus scraping its own replicas, ring members); the review leaves these out.
    """
    pod_list = [pod for pod in pods(docs) if not pod.host_network]
    policies = Policies(
        tuple(d for d in docs if d["kind"] == "NetworkPolicy"),
        tuple(d for d in docs if d["kind"] == "AuthorizationPolicy"),
        namespace_labels(docs, {p.namespace for p in pod_list}),
        tuple(d for d in docs if d["kind"] == "PeerAuthentication"),
    )
    nodes: list[Node] = [*pod_list, *_externals(policies, pod_list)]
    edges: dict[Edge, frozenset[str]] = {}
    for source in nodes:
        for destination in nodes:
            if (source is destination and not between_replicas) or (
                isinstance(source, External) and isinstance(destination, External)
            ):
                continue
            egress = _allowed(policies, source, destination, "Egress") if isinstance(source, Pod) else ALL_PORTS
            ingress = _allowed(policies, destination, source, "Ingress") if isinstance(destination, Pod) else ALL_PORTS
            if (
                isinstance(source, External)
                and not source.internet
                and isinstance(destination, Pod)
                and not _isolated(policies, destination)
            ):
                continue  # a peer outside our manifests calls in only where a rule names it, not wherever nothing is isolated
            ports = _intersect(egress, ingress)
            if isinstance(destination, Pod):
                ports = _mesh_allows(policies, source, destination, ports)
            if ports:
                edges[(source.name, destination.name)] = ports
    return edges


def data_stores(docs: list[Doc]) -> set[str]:
    return {p.name for p in pods(docs) if p.data_store}


SECURITY_GROUP_FILES = ("securitygroupingressrule", "instance", "replicationgroup")


def _group(ref: Mapping[str, Any] | None) -> str:
    return f"security group {(ref or {}).get('name', '?')}"


def _rule_source(rule: Mapping[str, Any]) -> str:
    if rule.get("referencedSecurityGroupIdRef"):
        return _group(rule["referencedSecurityGroupIdRef"])
    if rule.get("cidrIpv4") or rule.get("cidrIpv6"):
        return _ip_node({"cidr": rule.get("cidrIpv4") or rule.get("cidrIpv6")}).name
    return f"prefix list {rule.get('prefixListId', '?')}"


def _rule_ports(rule: Mapping[str, Any]) -> frozenset[str]:
    """`PROTO/number` like NetworkPolicy ports; protocol -1 (every protocol) is any port."""
    protocol = str(rule.get("ipProtocol", "-1"))
    if protocol == "-1":
        return ALL_PORTS
    low, high = int(rule.get("fromPort", 0)), int(rule.get("toPort", rule.get("fromPort", 0)))
    return frozenset(f"{protocol.upper()}/{n}" for n in range(low, high + 1))


def security_group_edges(docs: list[Doc]) -> dict[Edge, frozenset[str]]:
    """(source, security group) -> ports, from the AWS SecurityGroupIngressRules among docs."""
    edges: dict[Edge, frozenset[str]] = {}
    for doc in docs:
        if doc["kind"] == "SecurityGroupIngressRule" and str(doc.get("apiVersion", "")).startswith("ec2.aws."):
            rule = (doc.get("spec") or {}).get("forProvider") or {}
            edge = (_rule_source(rule), _group(rule.get("securityGroupIdRef")))
            ports = _rule_ports(rule)
            edges[edge] = ALL_PORTS if ALL_PORTS in (ports, edges.get(edge)) else ports | edges.get(edge, frozenset())
    return edges


def security_group_stores(docs: list[Doc]) -> set[str]:
    """The security groups an RDS instance or an ElastiCache replication group is in."""
    refs = ("vpcSecurityGroupIdRefs", "securityGroupIdRefs")
    return {
        _group(ref)
        for doc in docs
        if doc["kind"] in {"Instance", "ReplicationGroup"} and ".aws." in str(doc.get("apiVersion", ""))
        for key in refs
        for ref in ((doc.get("spec") or {}).get("forProvider") or {}).get(key) or []
    }


def _show_ports(ports: frozenset[str]) -> str:
    return "any port" if ports == ALL_PORTS else ", ".join(sorted(ports, key=lambda p: (len(p), p)))


def _mermaid(base: Mapping[Edge, frozenset[str]], head: Mapping[Edge, frozenset[str]], stores: set[str]) -> str:
    """The changed edges and every edge of the nodes they touch: the neighbourhood a reviewer needs."""
    changed = {edge for edge in set(base) | set(head) if base.get(edge) != head.get(edge)}
    touched = {n for edge in changed for n in edge}
    base = {e: p for e, p in base.items() if set(e) & touched}
    head = {e: p for e, p in head.items() if set(e) & touched}
    names = sorted({n for edge in [*base, *head] for n in edge})
    ids = {name: f"n{i}" for i, name in enumerate(names)}
    lines = ["```mermaid", "graph LR"]
    for name in names:
        shape = (
            f'{ids[name]}[("{name}")]'
            if name in stores
            else f'{ids[name]}(("{name}"))'
            if name == INTERNET
            else f'{ids[name]}["{name}"]'
        )
        lines.append(f"  {shape}")
    styles: list[str] = []
    for index, edge in enumerate(sorted(set(base) | set(head))):
        source, destination = ids[edge[0]], ids[edge[1]]
        if edge not in base:
            lines.append(f"  {source} ==>|added| {destination}")
            styles.append(f"  linkStyle {index} stroke:#2da44e,stroke-width:3px")
        elif edge not in head:
            lines.append(f"  {source} -.->|removed| {destination}")
            styles.append(f"  linkStyle {index} stroke:#cf222e,stroke-dasharray:4")
        else:
            lines.append(f"  {source} --> {destination}")
    return "\n".join([*lines, *styles, "```"])


def build(review: ReviewInput) -> Section | None:
    text: list[str] = []
    markdown: list[str] = []
    risks: list[RiskItem] = []
    for cluster in review.touched_clusters:
        base_docs, head_docs = documents(review.base_root, cluster), documents(review.head_root, cluster)
        manager = review.manager_of.get(cluster)
        base_cloud = managed_objects(review.base_root, cluster, manager, *SECURITY_GROUP_FILES)
        head_cloud = managed_objects(review.head_root, cluster, manager, *SECURITY_GROUP_FILES)
        base = reachability(base_docs) | security_group_edges(base_cloud)
        head = reachability(head_docs) | security_group_edges(head_cloud)
        if base == head:
            continue
        stores = data_stores(base_docs) | data_stores(head_docs) | security_group_stores(base_cloud + head_cloud)
        rows = ["| change | from | to | ports |", "| --- | --- | --- | --- |"]
        text.append(f"{cluster}:")
        for edge in sorted(set(base) | set(head)):
            before, after = base.get(edge), head.get(edge)
            if before == after:
                continue
            change = "added" if before is None else "removed" if after is None else "ports changed"
            ports = _show_ports(after or before or frozenset()) if change != "ports changed" else (
                f"{_show_ports(before or frozenset())} -> {_show_ports(after or frozenset())}")  # fmt: skip
            text.append(f"  {change}: {edge[0]} -> {edge[1]} ({ports})")
            rows.append(f"| {change} | {edge[0]} | {edge[1]} | {ports} |")
            widened = after is not None and (before is None or (before != ALL_PORTS and (after == ALL_PORTS or after - before)))
            if widened and (edge[1] in stores or edge[1] == INTERNET):
                what = "the internet" if edge[1] == INTERNET else f"data store {edge[1]}"
                risks.append(
                    RiskItem("network", cluster, f"{edge[0]} can now reach {what} ({_show_ports(after or frozenset())})")
                )
        markdown += [f"**{cluster}**", "", _mermaid(base, head, stores), "", *rows, ""]
    if not text:
        return None
    return Section("reachability", TITLE, "\n".join(text) + "\n", "\n".join(markdown), tuple(risks))
