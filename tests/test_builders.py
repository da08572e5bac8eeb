"""The per-kind builders: valid objects for good input, plain errors for impossible input."""

from __future__ import annotations

import pytest

from mnops.errors import BuildError
from mnops.k8s.core import config_map, namespace, service
from mnops.k8s.meta import Identity, drop_empty
from mnops.k8s.scaling import horizontal_pod_autoscaler, pod_disruption_budget
from mnops.k8s.workloads import Container, HttpProbes, PodSpec, deployment

IDENT = Identity("memory-service", "api", "machine-native-ops", "dev", "dev", "1.0.0")
RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def container(**overrides: object) -> Container:
    args: dict[str, object] = {"name": "app", "image": "ghcr.io/x/app:1.0.0", "ports": {"http": 8000}, "resources": RESOURCES}
    args.update(overrides)
    return Container(**args)  # type: ignore[arg-type]


def test_drop_empty_removes_nothing_that_means_something() -> None:
    assert drop_empty({"a": None, "b": {}, "c": [], "d": False, "e": 0, "f": {"g": None}, "h": [{}]}) == {"d": False, "e": 0}


def test_service_needs_a_port() -> None:
    with pytest.raises(BuildError, match="needs at least one port"):
        service("memory-service", "ns", IDENT, {})


def test_selector_never_includes_the_version() -> None:
    svc = service("memory-service", "ns", IDENT, {"http": 8000})
    assert "app.kubernetes.io/version" not in svc["spec"]["selector"]
    assert svc["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0.0"


def test_config_map_name_changes_exactly_when_content_changes() -> None:
    first = config_map("app-config", "ns", IDENT, {"A": "1"})
    same = config_map("app-config", "ns", IDENT, {"A": "1"})
    other = config_map("app-config", "ns", IDENT, {"A": "2"})
    assert first["metadata"]["name"] == same["metadata"]["name"] != other["metadata"]["name"]
    assert first["immutable"] is True


def test_config_map_rejects_non_string_values() -> None:
    with pytest.raises(BuildError, match="must be a string"):
        config_map("app-config", "ns", IDENT, {"PORT": 8000})  # type: ignore[dict-item]


def test_namespace_enforces_a_known_pod_security_level() -> None:
    labels = namespace("apps", IDENT)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    with pytest.raises(BuildError, match="pod security level"):
        namespace("apps", IDENT, pod_security="strict")


def test_container_refuses_latest_and_untagged_images() -> None:
    with pytest.raises(BuildError, match="latest"):
        container(image="ghcr.io/x/app:latest").as_k8s()
    with pytest.raises(BuildError, match="neither tag nor digest"):
        container(image="ghcr.io/x/app").as_k8s()


def test_container_requires_requests_and_limits() -> None:
    with pytest.raises(BuildError, match="requests and limits"):
        container(resources={"requests": RESOURCES["requests"]}).as_k8s()


def test_container_is_hardened_by_default() -> None:
    sc = container().as_k8s()["securityContext"]
    assert sc["readOnlyRootFilesystem"] and sc["runAsNonRoot"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}


def test_startup_probe_covers_the_startup_timeout() -> None:
    probes = HttpProbes("http", "/healthz", "/readyz", startup_timeout_seconds=65, period_seconds=10).as_k8s()
    assert probes["startupProbe"]["failureThreshold"] * probes["startupProbe"]["periodSeconds"] >= 65
    with pytest.raises(BuildError, match="at least one probe period"):
        HttpProbes("http", "/healthz", "/readyz", startup_timeout_seconds=5, period_seconds=10).as_k8s()


def test_deployment_leaves_replicas_to_the_autoscaler() -> None:
    pod = PodSpec(service_account="app", containers=[container()])
    assert "replicas" not in deployment("app", "ns", IDENT, pod=pod, replicas=None)["spec"]
    assert deployment("app", "ns", IDENT, pod=pod, replicas=2)["spec"]["replicas"] == 2
    with pytest.raises(BuildError, match="replicas must be at least 1"):
        deployment("app", "ns", IDENT, pod=pod, replicas=0)


def test_pod_needs_a_container_and_mounts_writable_paths_as_empty_dirs() -> None:
    with pytest.raises(BuildError, match="at least one container"):
        PodSpec(service_account="app", containers=[]).template(IDENT)
    spec = PodSpec(service_account="app", containers=[container(writable_paths={"tmp": "/tmp"})]).template(IDENT)["spec"]
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]


def test_autoscaler_bounds_must_be_ordered() -> None:
    with pytest.raises(BuildError, match="min_replicas"):
        horizontal_pod_autoscaler("app", "ns", IDENT, min_replicas=5, max_replicas=3, cpu_percent=70, memory_percent=80)


def test_disruption_budget_takes_exactly_one_bound() -> None:
    with pytest.raises(BuildError, match="exactly one"):
        pod_disruption_budget("app", "ns", IDENT)
    with pytest.raises(BuildError, match="exactly one"):
        pod_disruption_budget("app", "ns", IDENT, max_unavailable=1, min_available=1)
    assert pod_disruption_budget("app", "ns", IDENT, max_unavailable=1)["spec"]["maxUnavailable"] == 1
