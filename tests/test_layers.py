"""Which value wins: common -> cloud -> services -> platform -> env -> target (layers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import ROOT

from mnops.inventory import load_target
from mnops.inventory.layers import deep_merge
from mnops.inventory.model import Target
from mnops.kapitan_inventory import render_inventory


def targets(inventory: Path = ROOT / "inventory") -> dict[str, Target]:
    return {name: load_target(name, params) for name, params in render_inventory(inventory).items()}


def test_deep_merge_merges_mappings_and_replaces_lists() -> None:
    base = {"a": {"x": 1, "y": 2}, "l": [1, 2]}
    assert deep_merge(base, {"a": {"y": 3}, "l": [9]}) == {"a": {"x": 1, "y": 3}, "l": [9]}
    assert base == {"a": {"x": 1, "y": 2}, "l": [1, 2]}, "merging must not modify its input"


def test_common_default_applies_where_nothing_overrides_it() -> None:
    prod = targets()["prod"].service("configuration-service")
    assert (prod.resources.cpu_request, prod.resources.memory_request) == ("500m", "512Mi")
    assert (prod.resources.cpu_limit, prod.resources.memory_limit) == ("1", "1Gi")
    assert prod.autoscaling.min_replicas == 3


def test_environment_default_overrides_common() -> None:
    dev = targets()["dev"].service("configuration-service")
    assert dev.replicas == 1 and not dev.autoscaling.enabled
    assert dev.resources.cpu_request == "100m"


def test_service_class_overrides_environment_default() -> None:
    staging = targets()["staging"].service("reporting-service")
    assert staging.resources.memory_limit == "2Gi", "reporting-service sets its own limit"
    assert staging.resources.memory_request == "256Mi", "and keeps the environment's request"


def test_environment_can_override_one_service() -> None:
    loaded = targets()
    assert loaded["prod"].service("memory-service").autoscaling.max_replicas == 20
    assert loaded["prod"].service("configuration-service").autoscaling.max_replicas == 10
    assert loaded["staging"].service("memory-service").autoscaling.max_replicas == 4


def test_target_value_overrides_environment(inventory_copy: Any) -> None:
    inventory = inventory_copy(
        [{"file": "targets/prod.yml", "set": {"parameters.services.memory-service.autoscaling.max_replicas": 30}}]
    )
    loaded = targets(inventory)
    assert loaded["prod"].service("memory-service").autoscaling.max_replicas == 30
    assert loaded["prod-dr"].service("memory-service").autoscaling.max_replicas == 20, "other prod targets keep prod's value"


def test_environment_image_pin_completes_the_service_image() -> None:
    loaded = targets()
    assert loaded["dev"].service("memory-service").image.reference == "ghcr.io/machinenativeops/memory-service:1.5.0-rc.1"
    assert loaded["prod"].service("memory-service").image.digest is not None


def test_config_merges_defaults_environment_and_service() -> None:
    config = targets()["dev"].service("memory-service").config
    assert config["LOG_FORMAT"] == "json"  # common
    assert config["LOG_LEVEL"] == "debug"  # env
    assert config["SERVICE_NAME"] == "memory-service"  # service
