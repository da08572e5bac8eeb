"""NetworkPolicies for the platform namespaces (monitoring, logging, tracing), from derived flows.

The namespaces' default deny and DNS come from the security component (mnops.security.network,
the same baseline as every project namespace). This adds one policy per workload running there,
selecting it by its own selector: ingress from exactly the sources of the flows that end at it,
egress to exactly the destinations of the flows that start from it (mnops.security.platform_flows),
each on the flows' ports. Host-network pods get none: NetworkPolicies do not apply to them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mnops.component import identity
from mnops.errors import BuildError
from mnops.inventory import Target
from mnops.k8s.netpol import Peer, Rule, network_policy
from mnops.review.reachability import Pod
from mnops.security.platform_flows import Endpoint, Flow, Port

BASELINE_NAMES = frozenset({"default-deny", "allow-dns"})


def _peers(endpoint: Endpoint, namespace: str) -> list[Peer]:
    if endpoint.cidrs:
        return [Peer(cidr=cidr) for cidr in endpoint.cidrs]
    labels = dict(endpoint.selector)
    own = endpoint.namespace == namespace
    if not labels:
        return [Peer(namespace=endpoint.namespace, all_pods=True)]
    return [Peer(namespace=None if own else endpoint.namespace, pod_labels=labels)]


def _rules(by_peer: Mapping[Endpoint, set[Port]], namespace: str) -> list[Rule]:
    """One rule per distinct set of ports, listing every peer allowed on exactly those ports."""
    grouped: dict[tuple[Port, ...], list[Endpoint]] = defaultdict(list)
    for endpoint, ports in by_peer.items():
        grouped[tuple(sorted(ports, key=Port.key))].append(endpoint)
    rules = []
    for port_set, endpoints in sorted(grouped.items(), key=lambda item: [p.key() for p in item[0]]):
        peers = [peer for endpoint in sorted(endpoints) for peer in _peers(endpoint, namespace)]
        tcp = [p.value for p in port_set if p.protocol == "TCP"]
        udp = [p.value for p in port_set if p.protocol == "UDP"]
        rules.append(Rule(peers, tcp_ports=tcp, udp_ports=udp))
    return rules


def _collect(flows: Iterable[Flow], endpoint: Endpoint, *, incoming: bool) -> dict[Endpoint, set[Port]]:
    found: dict[Endpoint, set[Port]] = defaultdict(set)
    for flow in flows:
        mine, other = (flow.destination, flow.source) if incoming else (flow.source, flow.destination)
        if mine == endpoint:
            found[other] |= flow.ports
    return found


def workload_policies(target: Target, namespaces: Sequence[str], pods: Sequence[Pod], flows: Sequence[Flow],
                      endpoint_of: Mapping[str, Endpoint]) -> list[dict[str, Any]]:  # fmt: skip
    """One NetworkPolicy per workload in `namespaces`, named after it."""
    policies: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for pod in sorted(pods, key=lambda p: p.name):
        if pod.namespace not in namespaces or pod.host_network:
            continue
        name = pod.name.split("/", 1)[1]
        if name in BASELINE_NAMES or (pod.namespace, name) in seen:
            raise BuildError(f"{target.cluster.name}: two network policies named {pod.namespace}/{name}")
        seen.add((pod.namespace, name))
        endpoint = endpoint_of[pod.name]
        ingress = _rules(_collect(flows, endpoint, incoming=True), pod.namespace)
        egress = _rules(_collect(flows, endpoint, incoming=False), pod.namespace)
        if not endpoint.selector:  # an empty selector would give every pod of the namespace this workload's paths
            raise BuildError(f"{target.cluster.name}: {pod.name} has no labels a network policy could select it by")
        selector = {"matchLabels": dict(endpoint.selector)}
        ident = identity(target, name, "network-policy")
        policies.append(network_policy(name, pod.namespace, ident, pod_selector=selector, ingress=ingress, egress=egress))
    return policies
