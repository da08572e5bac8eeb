"""The Kyverno admission rules (manifests/policies/) evaluated offline with a CEL interpreter:
every compiled pod is admitted, and each rule rejects a pod that breaks it."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import celpy
import pytest
from security_support import TARGETS, documents, kinds

from mnops.security.policy import pod_spec


@cache
def rules(target: str) -> dict[str, dict[str, Any]]:
    (policy,) = kinds(target, "ClusterPolicy")
    return {rule["name"]: rule for rule in policy["spec"]["rules"]}


def admitted(rule: dict[str, Any], pod: dict[str, Any]) -> bool:
    """True if every CEL expression of the rule holds for the pod (Kyverno's `object`)."""
    env = celpy.Environment()
    activation = {"object": celpy.json_to_cel(pod)}
    results = [env.program(env.compile(e["expression"])).evaluate(activation) for e in rule["validate"]["cel"]["expressions"]]
    for result in results:
        assert isinstance(result, celpy.celtypes.BoolType), f"expression did not evaluate to a bool: {result!r}"
    return all(results)


def pods(target: str) -> list[tuple[str, dict[str, Any]]]:
    """The pods each compiled workload would create, as Kyverno sees them."""
    found = []
    for doc in documents(target):
        spec = pod_spec(doc)
        if spec is not None:
            namespace = doc["metadata"]["namespace"]
            found.append((namespace, {"metadata": {"namespace": namespace}, "spec": copy.deepcopy(spec)}))
    return found


def applies(rule: dict[str, Any], namespace: str) -> bool:
    return any(namespace in m["resources"]["namespaces"] for m in rule["match"]["any"])


CEL_RULES = ["disallow-latest-tag", "require-requests-and-limits", "require-probes", "allowed-registries-apps"]


@pytest.mark.parametrize("target", TARGETS)
def test_every_compiled_pod_is_admitted(target: str) -> None:
    workloads = pods(target)
    assert workloads
    for namespace, pod in workloads:
        for name, rule in rules(target).items():
            if "cel" in rule["validate"] and applies(rule, namespace):
                assert admitted(rule, pod), f"{name} rejects a compiled pod in {namespace}"


@pytest.mark.parametrize("target", TARGETS)
def test_admission_covers_the_baseline(target: str) -> None:
    assert set(CEL_RULES) | {"restricted-pod-security", "allowed-registries-data"} == set(rules(target))
    assert rules(target)["restricted-pod-security"]["validate"]["podSecurity"] == {"level": "restricted", "version": "latest"}


def test_prod_enforces_and_dev_audits() -> None:
    assert {r["validate"]["failureAction"] for r in rules("prod").values()} == {"Enforce"}
    assert {r["validate"]["failureAction"] for r in rules("dev").values()} == {"Audit"}


def a_compiled_pod() -> dict[str, Any]:
    ((_, pod), *_) = [p for p in pods("prod") if p[1]["spec"]["containers"][0]["name"] == "memory-service"]
    return pod


BREAKS = [
    ("disallow-latest-tag", lambda c: c.update(image="ghcr.io/machinenativeops/memory-service:latest")),
    ("disallow-latest-tag", lambda c: c.update(image="ghcr.io/machinenativeops/memory-service")),
    ("disallow-latest-tag", lambda c: c.update(image="registry.local:5000/memory-service")),
    ("require-requests-and-limits", lambda c: c["resources"].pop("limits")),
    ("require-requests-and-limits", lambda c: c["resources"]["requests"].pop("memory")),
    ("require-probes", lambda c: c.pop("livenessProbe")),
    ("require-probes", lambda c: c.pop("readinessProbe")),
    ("allowed-registries-apps", lambda c: c.update(image="docker.io/library/busybox:1.37")),
    ("allowed-registries-apps", lambda c: c.update(image="ghcr.io/machinenativeops-evil/memory-service:1.0.0")),
]


@pytest.mark.parametrize(("rule_name", "breaks"), BREAKS, ids=[f"{r}-{i}" for i, (r, _) in enumerate(BREAKS)])
def test_each_admission_rule_rejects_a_pod_that_breaks_it(rule_name: str, breaks: Any) -> None:
    pod = a_compiled_pod()
    rule = rules("prod")[rule_name]
    assert admitted(rule, pod)
    breaks(pod["spec"]["containers"][0])
    assert not admitted(rule, pod)


def test_data_registries_accept_their_images_and_reject_others() -> None:
    rule = rules("prod")["allowed-registries-data"]

    def pod(image: str) -> dict[str, Any]:
        return {"spec": {"containers": [{"name": "db", "image": image}]}}

    assert admitted(rule, pod("ghcr.io/cloudnative-pg/postgresql:17.6@sha256:" + "a" * 64))
    assert admitted(rule, pod("docker.io/library/redis:8.2"))
    assert not admitted(rule, pod("docker.io/library/redis-evil:8.2"))
    assert not admitted(rule, pod("redis:8.2"))


def test_probe_rule_exempts_run_to_completion_pods() -> None:
    rule = rules("prod")["require-probes"]
    job_pod = {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "upload", "image": "x:1"}]}}
    long_running = {"spec": {"containers": [{"name": "api", "image": "x:1"}]}}
    assert admitted(rule, job_pod)
    assert not admitted(rule, long_running)
