"""Walk every object of every compiled target and assert the baseline every workload must meet.

Each policy is a function from a compiled tree to a list of problems. The real tree must give
none; a copy with one deliberate flaw must give at least one, so no policy can pass vacuously.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Rollout"}
REQUIRED_LABELS = {
    "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
    "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "cluster", "environment",
}  # fmt: skip
Doc = dict[str, Any]


@cache
def parsed(text: str) -> tuple[Doc, ...]:
    """A manifest file's documents, parsed once per distinct content: each policy walks the whole
    tree, and a flawed copy differs from the tree in one file. Policies only read them."""
    return tuple(doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc)


def documents(tree: Path) -> Iterator[tuple[str, Doc]]:
    for path in sorted(tree.glob("*/manifests/**/*.yaml")):
        target = path.relative_to(tree).parts[0]
        for doc in parsed(path.read_text()):
            yield target, doc


def pod_spec(doc: Doc) -> Doc | None:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    template = spec.get("template")
    return template["spec"] if template else None


def workloads(tree: Path) -> Iterator[tuple[str, Doc, Doc]]:
    for target, doc in documents(tree):
        spec = pod_spec(doc) if doc["kind"] in WORKLOAD_KINDS else None
        if spec:
            yield target, doc, spec


def containers(tree: Path) -> Iterator[tuple[str, Doc, Doc]]:
    for target, doc, spec in workloads(tree):
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield f"{target}: {doc['kind']}/{doc['metadata']['name']}/{container['name']}", doc, container


def label_problems(tree: Path) -> list[str]:
    problems = []
    for target, doc in documents(tree):
        labels = doc["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/managed-by") != "kapitan":
            problems.append(f"{target}: {doc['kind']}/{doc['metadata']['name']} is not labelled as ours")
        elif missing := REQUIRED_LABELS - set(labels):
            problems.append(f"{target}: {doc['kind']}/{doc['metadata']['name']} lacks {sorted(missing)}")
        elif labels["cluster"] != target:
            problems.append(f"{target}: {doc['kind']}/{doc['metadata']['name']} has cluster label {labels['cluster']}")
    return problems


def hardening_problems(tree: Path) -> list[str]:
    problems = []
    for target, doc, spec in workloads(tree):
        if spec.get("securityContext", {}).get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{target}: {doc['kind']}/{doc['metadata']['name']}: pod seccompProfile is not RuntimeDefault")
    expected = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False}
    for where, _, container in containers(tree):
        sc = container.get("securityContext", {})
        problems += [f"{where}: {key} is not {value}" for key, value in expected.items() if sc.get(key) != value]
        if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"):
            problems.append(f"{where}: capabilities are not all dropped")
        if sc.get("privileged"):
            problems.append(f"{where}: privileged")
    return problems


def resource_problems(tree: Path) -> list[str]:
    problems = []
    for where, _, container in containers(tree):
        resources = container.get("resources", {})
        problems += [
            f"{where}: {section} incomplete"
            for section in ("requests", "limits")
            if not {"cpu", "memory"} <= set(resources.get(section, {}))
        ]
    return problems


def image_problems(tree: Path) -> list[str]:
    problems = []
    for where, _, container in containers(tree):
        image = container["image"]
        if image.split("@")[0].endswith(":latest") or (":" not in image.rsplit("/", 1)[-1] and "@" not in image):
            problems.append(f"{where}: image {image} is not pinned")
        elif where.startswith("prod") and "@sha256:" not in image:
            problems.append(f"{where}: production image {image} has no digest")
    return problems


def probe_problems(tree: Path) -> list[str]:
    return [
        f"{where}: missing {sorted(missing)}"
        for where, doc, container in containers(tree)
        if doc["kind"] not in {"Job", "CronJob"}
        and (missing := {"livenessProbe", "readinessProbe", "startupProbe"} - set(container))
    ]


def token_problems(tree: Path) -> list[str]:
    return [
        f"{t}: ServiceAccount/{d['metadata']['name']} mounts an API token by default"
        for t, d in documents(tree)
        if d["kind"] == "ServiceAccount" and d.get("automountServiceAccountToken") is not False
    ]


def pod_security_problems(tree: Path) -> list[str]:
    problems = []
    for target, doc in documents(tree):
        if doc["kind"] != "Namespace":
            continue
        level = doc["metadata"]["labels"].get("pod-security.kubernetes.io/enforce")
        reason = doc["metadata"].get("annotations", {}).get("mnops/pod-security-reason")
        if level != "restricted" and not reason:
            problems.append(f"{target}: Namespace/{doc['metadata']['name']} enforces {level!r} without a stated reason")
    return problems


def zone_spread_problems(tree: Path) -> list[str]:
    problems = []
    for target, doc, spec in workloads(tree):
        if target == "dev" or doc["kind"] not in {"Deployment", "Rollout"}:
            continue
        keys = [c["topologyKey"] for c in spec.get("topologySpreadConstraints", [])]
        if "topology.kubernetes.io/zone" not in keys:
            problems.append(f"{target}: {doc['kind']}/{doc['metadata']['name']} is not spread across zones")
    return problems


def autoscaler_problems(tree: Path) -> list[str]:
    scaled = {(t, d["spec"]["scaleTargetRef"]["name"]) for t, d in documents(tree) if d["kind"] == "HorizontalPodAutoscaler"}
    return [
        f"{t}: {d['kind']}/{d['metadata']['name']} sets replicas although an HPA owns them"
        for t, d in documents(tree)
        if d["kind"] in {"Deployment", "Rollout"} and (t, d["metadata"]["name"]) in scaled and "replicas" in d["spec"]
    ]


POLICIES: dict[str, Callable[[Path], list[str]]] = {
    "labels": label_problems,
    "hardening": hardening_problems,
    "resources": resource_problems,
    "images": image_problems,
    "probes": probe_problems,
    "service-account-tokens": token_problems,
    "pod-security": pod_security_problems,
    "zone-spread": zone_spread_problems,
    "autoscaler-owns-replicas": autoscaler_problems,
}


def first_deployment(tree: Path, target: str = "prod") -> Path:
    """The first service workload: a Deployment, or the Rollout that replaces it (progressive delivery)."""
    manifests = tree / target / "manifests"
    return sorted([*manifests.glob("*/deployment.yaml"), *manifests.glob("*/rollout.yaml")])[0]


def edit_yaml(path: Path, change: Callable[[Doc], None]) -> None:
    """Apply `change` to the first document of a (possibly multi-document) file."""
    docs = list(yaml.safe_load_all(path.read_text()))
    change(docs[0])
    path.write_text(yaml.safe_dump_all(docs))


def container0(doc: Doc) -> Doc:
    return doc["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


FLAWS: dict[str, Callable[[Path], None]] = {
    "labels": lambda t: edit_yaml(first_deployment(t), lambda d: d["metadata"]["labels"].pop("environment")),
    "hardening": lambda t: edit_yaml(first_deployment(t), lambda d: container0(d)["securityContext"].update(privileged=True)),
    "resources": lambda t: edit_yaml(first_deployment(t), lambda d: container0(d)["resources"].pop("limits")),
    "images": lambda t: edit_yaml(first_deployment(t), lambda d: container0(d).update(image="ghcr.io/x/y:1.0.0")),
    "probes": lambda t: edit_yaml(first_deployment(t), lambda d: container0(d).pop("readinessProbe")),
    "service-account-tokens": lambda t: edit_yaml(
        sorted(t.glob("prod/manifests/*/serviceaccount.yaml"))[0], lambda d: d.pop("automountServiceAccountToken")
    ),
    "pod-security": lambda t: edit_yaml(
        t / "prod/manifests/namespaces/namespace.yaml",
        lambda d: d.__setitem__(
            "metadata", {**d["metadata"], "labels": {"pod-security.kubernetes.io/enforce": "baseline"}, "annotations": {}}
        ),
    ),
    "zone-spread": lambda t: edit_yaml(
        first_deployment(t), lambda d: d["spec"]["template"]["spec"].pop("topologySpreadConstraints")
    ),
    "autoscaler-owns-replicas": lambda t: edit_yaml(first_deployment(t), lambda d: d["spec"].__setitem__("replicas", 3)),
}


def test_every_policy_has_a_flaw_that_proves_it_can_fail() -> None:
    assert set(POLICIES) == set(FLAWS)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_compiled_tree_meets_policy(compiled_tree: Path, policy: str) -> None:
    assert list(workloads(compiled_tree)), "no workloads found: the walk itself is broken"
    problems = POLICIES[policy](compiled_tree)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_policy_catches_its_flaw(compiled_tree: Path, tmp_path: Path, policy: str) -> None:
    flawed = tmp_path / "compiled"
    shutil.copytree(compiled_tree, flawed)
    FLAWS[policy](flawed)
    assert POLICIES[policy](flawed), f"policy {policy} did not notice the flaw"
