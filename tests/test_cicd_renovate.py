"""Renovate's regex managers find every pin they are meant to update (and only those)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG: dict[str, Any] = json.loads((ROOT / "renovate.json").read_text())

SAMPLE_CATALOG = """parameters:
  charts:
    argo-rollouts:
      repo_url: https://argoproj.github.io/argo-helm
      chart: argo-rollouts
      version: 2.40.5
      namespace: argo-rollouts
    envoy-gateway:
      repo_url: oci://docker.io/envoyproxy
      chart: gateway-helm
      app_version: v1.5.0
      version: v1.5.0
"""


def manager(description_start: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in CONFIG["customManagers"] if m["description"].startswith(description_start))
    return found


def matches(manager_config: dict[str, Any], text: str) -> list[dict[str, str]]:
    """Renovate uses JavaScript named groups (?<name>); Python spells them (?P<name>)."""
    results = []
    for pattern in manager_config["matchStrings"]:
        python_pattern = pattern.replace("(?<", "(?P<")
        results += [m.groupdict() for m in re.finditer(python_pattern, text)]
    return results


def file_pattern_matches(manager_config: dict[str, Any], path: str) -> bool:
    return any(re.search(p.strip("/"), path) for p in manager_config["managerFilePatterns"])


def test_dev_image_pins_are_found_with_tag_and_digest() -> None:
    dev = manager("Service image pins")
    text = (ROOT / "inventory" / "classes" / "env" / "dev.yml").read_text()
    found = {m["service"]: m["currentValue"] for m in matches(dev, text)}
    pins = yaml.safe_load(text)["parameters"]["images"]
    assert pins and found == {service: pin["tag"] for service, pin in pins.items()}
    pinned = "images:\n    memory-service:\n      tag: 1.0.0\n      digest: sha256:" + "a" * 64 + "\n"
    assert matches(dev, "\n" + pinned)[0]["currentDigest"] == "sha256:" + "a" * 64
    # Staging and prod move only through promotion.
    assert not file_pattern_matches(dev, "inventory/classes/env/prod.yml")
    assert file_pattern_matches(dev, "inventory/classes/env/dev.yml")


def test_local_stack_images_are_found() -> None:
    text = (ROOT / "inventory" / "classes" / "local.yml").read_text()
    found = {m["depName"] for m in matches(manager("Images of the local Compose stack"), text)}
    assert found == {"docker.io/library/redis", "docker.io/library/postgres", "docker.io/prom/prometheus",
                     "docker.io/grafana/grafana", "docker.io/grafana/loki", "docker.io/jaegertracing/jaeger"}  # fmt: skip


def test_dockerfile_base_image_is_found() -> None:
    text = (ROOT / "docker" / "Dockerfile").read_text()
    (found,) = matches(manager("The services' base image"), text)
    assert found["depName"] == "python" and found["currentValue"].startswith("3.11.")


def test_chart_catalog_entries_are_found_for_https_and_oci() -> None:
    https = matches(manager("Helm chart versions"), SAMPLE_CATALOG)
    assert [(m["registryUrl"], m["depName"], m["currentValue"]) for m in https] == [
        ("https://argoproj.github.io/argo-helm", "argo-rollouts", "2.40.5")
    ]
    oci = matches(manager("Helm charts from OCI"), SAMPLE_CATALOG)
    assert [(m["registry"], m["chart"], m["currentValue"]) for m in oci] == [("docker.io/envoyproxy", "gateway-helm", "v1.5.0")]


def test_updates_wait_a_minimum_release_age_and_are_grouped() -> None:
    assert CONFIG["minimumReleaseAge"] == "7 days"
    groups = {rule.get("groupName") for rule in CONFIG["packageRules"]}
    assert {"python dependencies", "helm charts", "github actions", "dev service images", "container images"} <= groups


def test_rollouts_plugin_release_is_found() -> None:
    text = (ROOT / "inventory" / "classes" / "platform" / "progressive-delivery.yml").read_text()
    (found,) = matches(manager("The Argo Rollouts Gateway API plugin"), text)
    assert found == {"depName": "argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi", "currentValue": "v0.15.0"}


def test_opentofu_and_the_bootstrap_provider_pins_are_found() -> None:
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    tofu = manager("The OpenTofu release")
    (found,) = matches(tofu, ci)
    assert found["currentValue"] == yaml.safe_load(ci)["env"]["OPENTOFU_VERSION"]
    assert file_pattern_matches(tofu, ".github/workflows/ci.yml")
    provider = manager("The AWS provider the bootstrap module pins")
    (pin,) = matches(provider, (ROOT / "lib" / "mnops" / "infra" / "bootstrap.py").read_text())
    modules = sorted((ROOT / "compiled").glob("*/bootstrap/versions.tf.json"))
    assert modules
    for versions in modules:
        assert pin["currentValue"] == json.loads(versions.read_text())["terraform"]["required_providers"]["aws"]["version"]
