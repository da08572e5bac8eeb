"""Cross-field rules: what one key alone cannot say, checked after the schema passed.

Each rule is a small function taking (target name, parameters) and returning problems, so a
rule can be read, tested and listed on its own. RULES is the ordered list the compile runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mnops import api_limits, units
from mnops.errors import Problem
from mnops.images import IMMUTABLE_TAG, is_moving_tag
from mnops.inventory.layers import effective_service
from mnops.security.secret_scan import credential_in_setting

Params = Mapping[str, Any]
Rule = Callable[[str, Params], Iterator[Problem]]


def _services(params: Params) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in sorted(params["services"]):
        yield name, effective_service(params, name)


def cluster_matches_target(target: str, params: Params) -> Iterator[Problem]:
    name = params["cluster"]["name"]
    if name != target:
        yield Problem(target, "parameters.cluster.name", repr(name), f"the target file name '{target}'",
                      "one name drives the folder, the Argo CD app and the cluster label")  # fmt: skip
    cloud, provider = params["cluster"]["cloud"], params["cloud"]["provider"]
    if cloud != provider:
        yield Problem(target, "parameters.cloud.provider", repr(provider), f"'{cloud}' like parameters.cluster.cloud",
                      f"include the class cloud.{cloud}, not cloud.{provider}")  # fmt: skip


def limits_cover_requests(target: str, params: Params) -> Iterator[Problem]:
    for name, service in _services(params):
        requests, limits = service["resources"]["requests"], service["resources"]["limits"]
        base = f"parameters.services.{name}.resources.limits"
        if units.cpu_millicores(limits["cpu"]) < units.cpu_millicores(requests["cpu"]):
            yield Problem(target, f"{base}.cpu", repr(limits["cpu"]), f"at least the request {requests['cpu']!r}")
        if units.memory_bytes(limits["memory"]) < units.memory_bytes(requests["memory"]):
            yield Problem(target, f"{base}.memory", repr(limits["memory"]), f"at least the request {requests['memory']!r}")


def replica_bounds(target: str, params: Params) -> Iterator[Problem]:
    prod = params["cluster"]["environment"] == "prod"
    for name, service in _services(params):
        base = f"parameters.services.{name}"
        auto = service["autoscaling"]
        if auto["min_replicas"] > auto["max_replicas"]:
            yield Problem(target, f"{base}.autoscaling.min_replicas", str(auto["min_replicas"]),
                          f"at most max_replicas ({auto['max_replicas']})")  # fmt: skip
        if prod and service["replicas"] < 2:
            yield Problem(target, f"{base}.replicas", str(service["replicas"]), "at least 2 in prod",
                          "one pod cannot survive a node drain or a zone loss")  # fmt: skip
        if prod and auto["enabled"] and auto["min_replicas"] < 2:
            yield Problem(target, f"{base}.autoscaling.min_replicas", str(auto["min_replicas"]), "at least 2 in prod",
                          "the autoscaler must not scale production down to one pod")  # fmt: skip


def disruption_budget_is_satisfiable(target: str, params: Params) -> Iterator[Problem]:
    for name, service in _services(params):
        budget = service["disruption_budget"]
        path = f"parameters.services.{name}.disruption_budget"
        if ("max_unavailable" in budget) == ("min_available" in budget):
            yield Problem(target, path, ", ".join(sorted(budget)) or "neither", "exactly one of max_unavailable or min_available")
            continue
        lowest = service["autoscaling"]["min_replicas"] if service["autoscaling"]["enabled"] else service["replicas"]
        if budget.get("min_available", 0) >= lowest:
            yield Problem(target, f"{path}.min_available", str(budget["min_available"]), f"fewer than the {lowest} replicas",
                          "otherwise no node could ever be drained")  # fmt: skip


def dependencies_exist(target: str, params: Params) -> Iterator[Problem]:
    known = sorted(params["services"])
    for name, service in _services(params):
        deps = service["dependencies"]
        for index, other in enumerate(deps.get("services", [])):
            path = f"parameters.services.{name}.dependencies.services[{index}]"
            if other == name:
                yield Problem(target, path, repr(other), "another service", "a service cannot depend on itself")
            elif other not in known:
                yield Problem(target, path, repr(other), "the name of a declared service", "declared: " + ", ".join(known))
        if (deps.get("redis") or deps.get("postgres")) and "data" not in params["namespaces"]:
            yield Problem(target, "parameters.namespaces.data", "nothing", "a namespace for Redis and PostgreSQL",
                          f"{name} depends on a data store")  # fmt: skip


def images_are_pinned(target: str, params: Params) -> Iterator[Problem]:
    env = params["cluster"]["environment"]
    registries = params["project"]["allowed_registries"]
    for name, service in _services(params):
        image = service["image"]
        path = f"parameters.images.{name}"
        repository = image.get("repository", "")
        if not repository:
            yield Problem(target, f"parameters.services.{name}.image.repository", "nothing", "the image repository")
        elif not any(repository == r or repository.startswith(r.rstrip("/") + "/") for r in registries):
            yield Problem(target, f"parameters.services.{name}.image.repository", repr(repository),
                          "an image from an allowed registry", "allowed: " + ", ".join(registries))  # fmt: skip
        tag, digest = image.get("tag"), image.get("digest")
        if tag is None and digest is None:
            yield Problem(target, path, "nothing", "a tag or a digest for this service's image")
        elif tag is not None and is_moving_tag(tag):
            yield Problem(target, f"{path}.tag", repr(tag), "a release tag, never a moving one like 'latest'",
                          "a moving tag makes rollouts and rollbacks unpredictable")  # fmt: skip
        elif env == "prod" and digest is None:
            yield Problem(target, f"{path}.digest", "nothing", "a sha256 digest in prod",
                          "production runs exactly the bytes that were tested")  # fmt: skip
        elif env == "staging" and digest is None and not IMMUTABLE_TAG.match(tag or ""):
            yield Problem(target, f"{path}.tag", repr(tag), "a version tag such as 1.4.2, or a digest, in staging")
    for name in sorted(set(params.get("images", {})) - set(params["services"])):
        yield Problem(target, f"parameters.images.{name}", "an image for an unknown service",
                      "a key naming a declared service", "declared: " + ", ".join(sorted(params["services"])))  # fmt: skip


def config_and_secrets_do_not_collide(target: str, params: Params) -> Iterator[Problem]:
    for name, service in _services(params):
        secret_keys = {key for ref in service.get("secret_refs", []) for key in ref["keys"]}
        for key in sorted(secret_keys & set(service.get("config", {}))):
            yield Problem(target, f"parameters.services.{name}.config.{key}", "a plain value",
                          "no plain config for a key that comes from a secret", "the secret would be shadowed")  # fmt: skip


def config_port_matches_the_container_port(target: str, params: Params) -> Iterator[Problem]:
    """The process listens where config.PORT says; the container port, probes and Service use `port`.

    Changing one without the other compiles into pods that never become ready.
    """
    for name, service in _services(params):
        listens = service.get("config", {}).get("PORT")
        if listens is not None and listens != str(service["port"]):
            yield Problem(target, f"parameters.services.{name}.port", f"{service['port']} while config.PORT is {listens!r}",
                          "the port the process listens on (config.PORT)",
                          f"set services.{name}.config.PORT: \"{service['port']}\" with it, and metrics.port if /metrics "
                          "is served there")  # fmt: skip


def slo_is_consistent(target: str, params: Params) -> Iterator[Problem]:
    for name, service in _services(params):
        slo = service["slo"]
        if slo["latency_p95_ms"] > slo["latency_p99_ms"]:
            yield Problem(target, f"parameters.services.{name}.slo.latency_p95_ms", str(slo["latency_p95_ms"]),
                          f"at most latency_p99_ms ({slo['latency_p99_ms']})")  # fmt: skip


def zones_allow_spread(target: str, params: Params) -> Iterator[Problem]:
    zones = params["cluster"]["zones"]
    if params["cluster"]["environment"] == "prod" and len(zones) < 3:
        yield Problem(target, "parameters.cluster.zones", f"{len(zones)} zone(s)", "at least 3 zones in prod",
                      "losing one zone must leave a majority of replicas and database instances")  # fmt: skip


# Namespaces Kubernetes itself owns: declaring ours there would put Pod Security "restricted" and
# default-deny network policies on the cluster's own components.
RESERVED_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
CONFIGMAP_DATA_LIMIT = api_limits.DATA_LIMIT
ANNOTATIONS_LIMIT = api_limits.ANNOTATIONS_LIMIT


def namespaces_are_our_own(target: str, params: Params) -> Iterator[Problem]:
    owned = {f"parameters.namespaces.{role}": ns for role, ns in params["namespaces"].items()}
    owned |= {
        f"parameters.charts.{chart}.namespace": c.get("namespace")
        for chart, c in params.get("charts", {}).items()
        if not c.get("cluster_addon")  # add-ons that upstream installs beside the cluster's own components
    }
    for section in ("argocd", "backup"):
        owned[f"parameters.{section}.namespace"] = params.get(section, {}).get("namespace")
    for path, namespace in sorted(owned.items()):
        if namespace in RESERVED_NAMESPACES:
            yield Problem(target, path, repr(namespace), "a namespace of our own, not one Kubernetes reserves",
                          "reserved: " + ", ".join(RESERVED_NAMESPACES))  # fmt: skip


def config_holds_no_credentials(target: str, params: Params) -> Iterator[Problem]:
    for name, service in _services(params):
        for key, value in sorted(service.get("config", {}).items()):
            reason = credential_in_setting(key, value)
            if reason:
                yield Problem(target, f"parameters.services.{name}.config.{key}", f"a plain value ({reason})",
                              "no credential in config: it becomes a ConfigMap anyone in the namespace can read",
                              f"store it in the secret store and list it under services.{name}.secret_refs")  # fmt: skip


def _size(mapping: Mapping[str, Any]) -> int:
    return sum(len(str(k).encode()) + len(str(v).encode()) for k, v in mapping.items())


def objects_fit_the_api_server(target: str, params: Params) -> Iterator[Problem]:
    """A ConfigMap over 1 MiB or annotations over 256 KiB compile fine and are refused by every cluster."""
    for name, service in _services(params):
        config = service.get("config", {})
        if _size(config) > CONFIGMAP_DATA_LIMIT:
            largest = max(config, key=lambda key: len(str(config[key])))
            yield Problem(target, f"parameters.services.{name}.config.{largest}",
                          f"{_size(config)} bytes of config (this key: {len(str(config[largest]).encode())})",
                          f"at most {CONFIGMAP_DATA_LIMIT} bytes (1 MiB) in {name}'s ConfigMap",
                          "the API server refuses larger ConfigMaps; mount big files from an image or a volume")  # fmt: skip
    for path, found in _annotation_maps(params, "parameters"):
        if _size(found) > ANNOTATIONS_LIMIT:
            yield Problem(target, path, f"{_size(found)} bytes of annotations", f"at most {ANNOTATIONS_LIMIT} bytes (256 KiB)",
                          "the API server refuses larger annotations")  # fmt: skip


def _annotation_maps(value: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).endswith("annotations") and isinstance(item, Mapping):
                yield f"{path}.{key}", item
            else:
                yield from _annotation_maps(item, f"{path}.{key}")


RULES: tuple[Rule, ...] = (
    cluster_matches_target,
    limits_cover_requests,
    replica_bounds,
    disruption_budget_is_satisfiable,
    dependencies_exist,
    images_are_pinned,
    config_and_secrets_do_not_collide,
    config_port_matches_the_container_port,
    slo_is_consistent,
    zones_allow_spread,
    namespaces_are_our_own,
    config_holds_no_credentials,
    objects_fit_the_api_server,
)


def check_rules(target: str, params: Params, rules: tuple[Rule, ...]) -> list[Problem]:
    return [problem for rule in rules for problem in rule(target, params)]
