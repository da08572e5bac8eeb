"""Security policy over compiled manifests: the checks `tests/test_security_policy.py` runs on
every object of every target (and on bad fixtures, to prove each check can fail).

    docs = load_documents(Path("compiled/prod"))
    for violation in check_all(docs, Expectations.from_parameters(parameters)):
        print(violation.render())

Each check takes the documents of one target and returns Violations; none of them needs a
cluster. Kyverno enforces the same pod rules at admission (manifests/policies/).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnops import yamlio
from mnops.infra.edge import fronted_by_cloudfront
from mnops.k8s.gatewayapi import ORIGIN_LISTENER, ORIGIN_PORT, ORIGIN_TLS_MIN_VERSION

Doc = dict[str, Any]
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod", "CronJob", "Rollout"}
ISTIO_GROUPS = ("security.istio.io/", "networking.istio.io/", "telemetry.istio.io/")
NAME_LABEL = "app.kubernetes.io/name"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# TLS 1.2 suites with forward secrecy and authenticated encryption (OpenSSL names, as Envoy takes them).
AEAD_ECDHE = re.compile(r"ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)")


@dataclass(frozen=True)
class Violation:
    check: str
    document: str  # kind/namespace/name
    message: str

    def render(self) -> str:
        return f"[{self.check}] {self.document}: {self.message}"


@dataclass(frozen=True)
class Expectations:
    """What the inventory declares, against which the compiled objects are judged."""

    environment: str = "dev"
    project_namespaces: tuple[str, ...] = ()
    apps_namespace: str = ""
    callers: Mapping[str, frozenset[str]] = field(default_factory=dict)  # service -> services that may call it
    public_services: frozenset[str] = frozenset()
    # (namespace, labels) of peers outside the project that may call services: gateway proxies, Prometheus.
    external_callers: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    mesh_enabled: bool = False
    unmanaged_namespaces: tuple[str, ...] = ()  # listed in network.unmanaged_namespaces, with a reason
    cloudfront_origin: bool = False  # CloudFront fronts the gateway: its origin listener may accept TLS 1.2

    @staticmethod
    def from_parameters(parameters: Mapping[str, Any]) -> Expectations:
        services = parameters["services"]
        callers: dict[str, set[str]] = {name: set() for name in services}
        for name, service in services.items():
            for dep in service.get("dependencies", {}).get("services", []):
                callers.setdefault(dep, set()).add(name)
        net = parameters["network"]
        unmanaged = {parameters["namespaces"][r] for r in net.get("unmanaged_namespaces", {}) if r in parameters["namespaces"]}
        external = tuple(
            (peer["namespace"], tuple(sorted(peer["pod_labels"].items()))) for peer in (net["gateway_proxy"], net["prometheus"])
        )
        return Expectations(
            environment=parameters["cluster"]["environment"],
            project_namespaces=tuple(sorted(set(parameters["namespaces"].values()) - unmanaged)),
            unmanaged_namespaces=tuple(sorted(unmanaged)),
            apps_namespace=parameters["namespaces"]["apps"],
            callers={k: frozenset(v) for k, v in callers.items()},
            public_services=frozenset(n for n, s in services.items() if s.get("public_path")),
            external_callers=external,
            mesh_enabled=parameters["mesh"]["enabled"],
            cloudfront_origin=fronted_by_cloudfront(parameters),
        )


def load_documents(target_dir: Path) -> list[Doc]:
    """Every Kubernetes object under manifests/ of one compiled target, in file order."""
    docs: list[Doc] = []
    for path in sorted((target_dir / "manifests").rglob("*.yaml")):
        for doc in yamlio.load_all(path.read_text()):
            if isinstance(doc, dict) and "kind" in doc:
                docs.append(doc)
    return docs


def describe(doc: Doc) -> str:
    meta = doc.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('kind')}/{ns}{meta.get('name')}"


def pod_spec(doc: Doc) -> dict[str, Any] | None:
    kind = doc.get("kind")
    if kind not in WORKLOAD_KINDS:
        return None
    if kind == "Pod":
        spec: dict[str, Any] = doc.get("spec", {})
        return spec
    if kind == "CronJob":
        spec = doc.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
        return spec
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def containers(spec: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


# --- network -------------------------------------------------------------------------------------


def _is_default_deny(doc: Doc) -> bool:
    spec = doc.get("spec", {})
    return (
        spec.get("podSelector") == {}
        and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def namespaces_deny_by_default(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    """Every namespace the project owns has a NetworkPolicy denying all ingress and egress."""
    denied = {d["metadata"].get("namespace") for d in docs if d.get("kind") == "NetworkPolicy" and _is_default_deny(d)}
    declared = {d["metadata"]["name"] for d in docs if d.get("kind") == "Namespace"}
    owned = (set(exp.project_namespaces) | declared) - set(exp.unmanaged_namespaces)
    return [
        Violation("default-deny", f"Namespace/{ns}", "no NetworkPolicy denies all ingress and egress by default")
        for ns in sorted(owned - denied)
    ]


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        op, key, values = expr["operator"], expr["key"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_names(peer: Mapping[str, Any]) -> set[str] | None:
    """Service names a same-namespace pod peer admits, or None if it is not limited to named services."""
    selector = peer.get("podSelector")
    if selector is None or "namespaceSelector" in peer or "ipBlock" in peer:
        return None
    names: set[str] | None = None
    if NAME_LABEL in selector.get("matchLabels", {}):
        names = {selector["matchLabels"][NAME_LABEL]}
    for expr in selector.get("matchExpressions", []):
        if expr["key"] == NAME_LABEL and expr["operator"] == "In":
            names = set(expr["values"]) if names is None else names & set(expr["values"])
    return names


def _external_ok(peer: Mapping[str, Any], exp: Expectations) -> bool:
    ns_labels = peer.get("namespaceSelector", {}).get("matchLabels", {})
    pod_labels = peer.get("podSelector", {}).get("matchLabels", {})
    ns = ns_labels.get(NAMESPACE_NAME_LABEL)
    return any(
        ns == allowed_ns and set(labels) <= set(pod_labels.items()) for allowed_ns, labels in exp.external_callers
    ) and bool(pod_labels)


def reachability_follows_dependencies(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    """A service's pods accept traffic only from declared dependents, the gateway (public services) and Prometheus."""
    violations = []
    workloads = [d for d in docs if d.get("kind") in WORKLOAD_KINDS and d["metadata"].get("namespace") == exp.apps_namespace]
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy" and d["metadata"].get("namespace") == exp.apps_namespace]
    for workload in workloads:
        labels = (
            workload["spec"]["template"]["metadata"]["labels"] if workload["kind"] != "Pod" else workload["metadata"]["labels"]
        )
        name = labels.get(NAME_LABEL, "")
        allowed = exp.callers.get(name, frozenset())
        for policy in policies:
            if not _selects(policy["spec"].get("podSelector", {}), labels):
                continue
            for rule in policy["spec"].get("ingress", []):
                if not rule.get("from"):
                    violations.append(
                        Violation("reachability", describe(policy), f"an ingress rule without `from` opens {name} to everyone")
                    )
                    continue
                if not rule.get("ports"):
                    violations.append(
                        Violation("reachability", describe(policy), f"an ingress rule without ports opens every port of {name}")
                    )
                for peer in rule["from"]:
                    if "ipBlock" in peer:
                        violations.append(
                            Violation("reachability", describe(policy), f"{name} accepts an address block {peer['ipBlock']}")
                        )
                        continue
                    if "namespaceSelector" in peer:
                        gateway_peer = _external_ok(peer, exp)
                        if not gateway_peer:
                            violations.append(
                                Violation("reachability", describe(policy), f"{name} accepts an undeclared peer {peer}")
                            )
                        continue
                    names = _peer_names(peer)
                    if names is None:
                        violations.append(
                            Violation("reachability", describe(policy), f"{name} accepts every pod of its namespace")
                        )
                    elif names - allowed:
                        violations.append(
                            Violation(
                                "reachability",
                                describe(policy),
                                f"{name} is reachable from {', '.join(sorted(names - allowed))} without a declared dependency",
                            )
                        )
    return violations


# --- secrets, TLS, images, pods -------------------------------------------------------------------


def no_secret_data(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    """No Secret with data is committed: values come from the cloud store through ExternalSecrets."""
    return [
        Violation("secret-data", describe(d), "a Secret with data or stringData is committed")
        for d in docs
        if d.get("kind") == "Secret" and (d.get("data") or d.get("stringData"))
    ]


def _listener_policy(policies: Sequence[Doc], gateway: str, listener: str) -> Doc | None:
    """The ClientTrafficPolicy Envoy Gateway applies to one listener: the one naming it, else the Gateway's."""
    for section in (listener, None):
        for policy in policies:
            if any(
                r.get("kind") == "Gateway" and r.get("name") == gateway and r.get("sectionName") == section
                for r in policy["spec"].get("targetRefs", [])
            ):
                return policy
    return None


def _tls_violations(policy: Doc, listener: Doc, exp: Expectations) -> list[str]:
    """1.3 only; on CloudFront's origin listener (where the inventory puts CloudFront in front) 1.2 as well,
    with AEAD ECDHE suites only: CloudFront speaks TLS 1.2 at most to origins."""
    tls = policy["spec"].get("tls", {})
    low, high = tls.get("minVersion", "default"), tls.get("maxVersion", "default")
    if low == "1.3" and high in ("1.3", "default"):
        return []
    origin = exp.cloudfront_origin and listener.get("name") == ORIGIN_LISTENER and listener.get("port") == ORIGIN_PORT
    if not origin or (low, high) != (ORIGIN_TLS_MIN_VERSION, "1.3"):
        where = "" if not exp.cloudfront_origin else f" (1.2 only on CloudFront's listener {ORIGIN_LISTENER}:{ORIGIN_PORT})"
        return [f"allows TLS {low} to {high} on listener {listener.get('name')}; only 1.3{where}"]
    weak = [c for c in tls.get("ciphers", []) if not AEAD_ECDHE.fullmatch(c)]
    if weak or not tls.get("ciphers"):
        ciphers = weak or "of Envoy's choosing"
        return [f"allows TLS 1.2 on listener {listener.get('name')} with ciphers {ciphers}: only ECDHE with AES-GCM or ChaCha20"]
    return []


def listeners_require_tls13(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    """Every HTTPS listener of a Gateway gets a ClientTrafficPolicy pinning TLS to 1.3, except CloudFront's
    origin listener, which may accept 1.2 with AEAD ECDHE suites (docs/security.md)."""
    violations = []
    ctps = [d for d in docs if d.get("kind") == "ClientTrafficPolicy"]
    for gw in (
        d for d in docs if d.get("kind") == "Gateway" and d.get("apiVersion", "").startswith("gateway.networking.k8s.io/")
    ):
        ns, name = gw["metadata"].get("namespace"), gw["metadata"]["name"]
        policies = [p for p in ctps if p["metadata"].get("namespace") == ns]
        for listener in gw["spec"].get("listeners", []):
            if listener.get("protocol") not in ("HTTPS", "TLS"):
                continue
            policy = _listener_policy(policies, name, str(listener.get("name")))
            if policy is None:
                message = f"no ClientTrafficPolicy sets the TLS versions of listener {listener.get('name')} (Envoy allows 1.2)"
                violations.append(Violation("tls13", describe(gw), message))
                continue
            violations += [Violation("tls13", describe(policy), message) for message in _tls_violations(policy, listener, exp)]
    return violations


def images_are_pinned(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    """No `latest`, every image tagged or pinned; production images pinned by digest."""
    violations = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        for c in containers(spec):
            image = c.get("image", "")
            repo_part = image.split("@")[0]
            tagged = ":" in repo_part.rsplit("/", 1)[-1]
            if repo_part.endswith(":latest"):
                violations.append(Violation("image", describe(doc), f"container {c.get('name')} uses the latest tag"))
            elif not tagged and "@" not in image:
                violations.append(
                    Violation("image", describe(doc), f"container {c.get('name')} image {image!r} has no tag or digest")
                )
            elif exp.environment == "prod" and "@sha256:" not in image:
                violations.append(Violation("image", describe(doc), f"container {c.get('name')} is not pinned by digest in prod"))
    return violations


def containers_have_limits_and_probes(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    """Requests and limits everywhere; liveness and readiness probes on long-running pods (not Jobs)."""
    violations = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        long_running = doc.get("kind") not in ("Job", "CronJob") and spec.get("restartPolicy", "Always") == "Always"
        for c in spec.get("containers", []):
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(res.get(kind, {}))
                if missing:
                    violations.append(
                        Violation(
                            "resources",
                            describe(doc),
                            f"container {c.get('name')} has no {kind} for {', '.join(sorted(missing))}",
                        )
                    )
            for probe in ("livenessProbe", "readinessProbe"):
                if long_running and probe not in c:
                    violations.append(Violation("probes", describe(doc), f"container {c.get('name')} has no {probe}"))
    return violations


def _container_violations(where: str, c: Mapping[str, Any], pod_sc: Mapping[str, Any]) -> Iterator[Violation]:
    sc = c.get("securityContext", {})
    name = c.get("name")
    problems = {
        "is privileged": bool(sc.get("privileged")),
        "may escalate privileges": sc.get("allowPrivilegeEscalation") is not False,
        "may run as root": not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")),
        "does not drop ALL capabilities": "ALL" not in sc.get("capabilities", {}).get("drop", []),
        "adds capabilities": bool(sc.get("capabilities", {}).get("add")),
        "has no seccomp profile": sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        not in ("RuntimeDefault", "Localhost"),
        "has a writable root filesystem": sc.get("readOnlyRootFilesystem") is not True,
    }
    for message, found in problems.items():
        if found:
            yield Violation("pod-security", where, f"container {name} {message}")


def _mounts_token(spec: Mapping[str, Any], doc: Doc, docs: Sequence[Doc]) -> bool:
    """The pod's own setting wins; without one, its ServiceAccount's (Kubernetes' default is to mount)."""
    if "automountServiceAccountToken" in spec:
        return spec["automountServiceAccountToken"] is not False
    namespace = doc["metadata"].get("namespace")
    name = spec.get("serviceAccountName", "default")
    accounts = [
        d
        for d in docs
        if d.get("kind") == "ServiceAccount" and d["metadata"].get("namespace") == namespace and d["metadata"]["name"] == name
    ]
    return not accounts or accounts[0].get("automountServiceAccountToken") is not False


def pods_are_restricted(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    """Pod Security "restricted" plus a read-only root filesystem, checked on the spec itself."""
    violations = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        where = describe(doc)
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key):
                violations.append(Violation("pod-security", where, f"{key} is set"))
        if any("hostPath" in v for v in spec.get("volumes", [])):
            violations.append(Violation("pod-security", where, "mounts a hostPath volume"))
        if _mounts_token(spec, doc, docs):
            violations.append(Violation("pod-security", where, "mounts a service account token"))
        for c in containers(spec):
            violations.extend(_container_violations(where, c, spec.get("securityContext", {})))
    return violations


def service_accounts_do_not_automount(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    return [
        Violation("rbac", describe(d), "automountServiceAccountToken is not false")
        for d in docs
        if d.get("kind") == "ServiceAccount" and d.get("automountServiceAccountToken") is not False
    ]


def roles_are_least_privilege(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    """No wildcard grants, no access to Secrets, no cluster-wide roles from this repository."""
    violations = []
    for doc in docs:
        kind = doc.get("kind")
        if kind in ("ClusterRole", "ClusterRoleBinding"):
            violations.append(Violation("rbac", describe(doc), "cluster-wide RBAC; use a namespaced Role"))
        if kind not in ("Role", "ClusterRole"):
            continue
        for rule in doc.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                if "*" in rule.get(key, []):
                    violations.append(Violation("rbac", describe(doc), f"wildcard in {key}"))
            if "secrets" in rule.get("resources", []):
                violations.append(Violation("rbac", describe(doc), "grants access to Secrets"))
    return violations


def routes_are_protected(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    """Every HTTPRoute to a Service has a rate limit, requires a JWT and sets HSTS on its responses."""
    violations = []

    def targets(kind: str) -> dict[tuple[str, str], Doc]:
        return {
            (d["metadata"].get("namespace", ""), ref["name"]): d
            for d in docs
            if d.get("kind") == kind
            for ref in d["spec"].get("targetRefs", [])
            if ref.get("kind") == "HTTPRoute"
        }

    btps, sps = targets("BackendTrafficPolicy"), targets("SecurityPolicy")
    for route in (d for d in docs if d.get("kind") == "HTTPRoute"):
        backends = [b for rule in route["spec"].get("rules", []) for b in rule.get("backendRefs", [])]
        if not backends:
            continue  # the HTTP->HTTPS redirect
        key = (route["metadata"].get("namespace", ""), route["metadata"]["name"])
        if "rateLimit" not in btps.get(key, {}).get("spec", {}):
            violations.append(Violation("routes", describe(route), "no BackendTrafficPolicy rate-limits this route"))
        if "jwt" not in sps.get(key, {}).get("spec", {}):
            violations.append(Violation("routes", describe(route), "no SecurityPolicy requires a JWT on this route"))
        set_headers = {
            h["name"].lower()
            for rule in route["spec"].get("rules", [])
            for f in rule.get("filters", [])
            for h in f.get("responseHeaderModifier", {}).get("set", [])
        }
        if "strict-transport-security" not in set_headers:
            violations.append(Violation("routes", describe(route), "responses do not carry Strict-Transport-Security"))
    return violations


def mesh_matches_inventory(docs: Sequence[Doc], exp: Expectations) -> list[Violation]:
    istio = [d for d in docs if str(d.get("apiVersion", "")).startswith(ISTIO_GROUPS)]
    if not exp.mesh_enabled:
        return [Violation("mesh", describe(d), "an Istio object while the mesh is disabled") for d in istio]
    strict = [
        d
        for d in istio
        if d.get("kind") == "PeerAuthentication"
        and d["spec"].get("mtls", {}).get("mode") == "STRICT"
        and not d["spec"].get("selector")
    ]
    covered = {d["metadata"].get("namespace") for d in strict}
    if exp.apps_namespace not in covered:
        return [Violation("mesh", f"Namespace/{exp.apps_namespace}", "the mesh is on but mutual TLS is not STRICT")]
    return []


Check = Callable[[Sequence[Doc], Expectations], list[Violation]]
CHECKS: dict[str, Check] = {
    "default-deny": namespaces_deny_by_default,
    "reachability": reachability_follows_dependencies,
    "secret-data": no_secret_data,
    "tls13": listeners_require_tls13,
    "image": images_are_pinned,
    "resources-probes": containers_have_limits_and_probes,
    "pod-security": pods_are_restricted,
    "service-accounts": service_accounts_do_not_automount,
    "roles": roles_are_least_privilege,
    "routes": routes_are_protected,
    "mesh": mesh_matches_inventory,
}


def check_all(docs: Iterable[Doc], exp: Expectations) -> list[Violation]:
    documents = list(docs)
    return [v for check in CHECKS.values() for v in check(documents, exp)]
