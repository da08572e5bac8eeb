"""Builder for networking.k8s.io/v1 NetworkPolicy and its peer and port pieces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, drop_empty_fields, k8s_object, metadata

# The label Kubernetes puts on every namespace (since 1.22): select namespaces by name with it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Peer:
    """Pods a policy allows traffic from or to: by namespace name and/or pod labels, or by CIDR."""

    namespace: str | None = None  # None: the policy's own namespace
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    pod_expressions: Sequence[Mapping[str, Any]] = ()
    cidr: str | None = None
    all_pods: bool = False  # every pod of `namespace` (or of the own namespace)

    def as_k8s(self) -> dict[str, Any]:
        if self.cidr:
            if self.namespace or self.pod_labels or self.pod_expressions:
                raise BuildError("a CIDR peer cannot also select namespaces or pods")
            return {"ipBlock": {"cidr": self.cidr}}
        if not (self.pod_labels or self.pod_expressions or self.all_pods):
            raise BuildError("a peer must select pods by labels, expressions or all_pods=True")
        if self.all_pods and not self.namespace:
            raise BuildError("all_pods needs a namespace (every pod of the own namespace is never a peer here)")
        peer: dict[str, Any] = {}
        if self.namespace:
            peer["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: self.namespace}}
        selector = drop_empty_fields(
            {"matchLabels": dict(sorted(self.pod_labels.items())), "matchExpressions": [dict(e) for e in self.pod_expressions]}
        )
        peer["podSelector"] = selector  # {} selects every pod of the namespace
        return peer


def _port_order(port: int | str) -> tuple[bool, int, str]:
    """Numbers first, in order, then names."""
    return (isinstance(port, str), port if isinstance(port, int) else 0, str(port))


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule: these peers, on these ports."""

    peers: Sequence[Peer]
    tcp_ports: Sequence[int | str] = ()  # numbers, or container port names of the destination pods
    udp_ports: Sequence[int | str] = ()

    def as_k8s(self, direction: str) -> dict[str, Any]:
        if not self.peers:
            raise BuildError("a network policy rule needs at least one peer (an empty list would allow everyone)")
        if not (self.tcp_ports or self.udp_ports):
            raise BuildError("a network policy rule needs at least one port (none would allow every port)")
        ports = [{"protocol": "TCP", "port": p} for p in sorted(set(self.tcp_ports), key=_port_order)]
        ports += [{"protocol": "UDP", "port": p} for p in sorted(set(self.udp_ports), key=_port_order)]
        key = "from" if direction == "ingress" else "to"
        return {key: [p.as_k8s() for p in self.peers], "ports": ports}


def network_policy(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    pod_selector: Mapping[str, Any],
    ingress: Sequence[Rule] | None = None,
    egress: Sequence[Rule] | None = None,
) -> dict[str, Any]:
    """ingress/egress None: that direction is not governed; an empty list: deny all of it."""
    if ingress is None and egress is None:
        raise BuildError(f"network policy {name} governs neither ingress nor egress")
    policy_types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
    spec: dict[str, Any] = {"podSelector": dict(pod_selector), "policyTypes": policy_types}
    if ingress:
        spec["ingress"] = [r.as_k8s("ingress") for r in ingress]
    if egress:
        spec["egress"] = [r.as_k8s("egress") for r in egress]
    # Built without drop_empty: an empty podSelector ({}) means "every pod" here and must stay.
    obj = k8s_object("networking.k8s.io/v1", "NetworkPolicy", metadata(name, identity, namespace))
    obj["spec"] = spec
    return obj
