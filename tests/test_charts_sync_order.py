"""First sync on an empty cluster: every object's kind exists by the time its wave is applied."""

from __future__ import annotations

import dataclasses

import pytest
from charts_support import NEEDS_HELM, ONE_WORKER
from charts_support import clusters as _clusters
from charts_support import rendered as _rendered
from conftest import ROOT

from mnops.charts.sync_order import AppObjects, cluster_apps, first_sync_problems, group_kind

pytestmark = [NEEDS_HELM, ONE_WORKER]


def _apps(target: str) -> list[AppObjects]:
    return cluster_apps(_clusters()[target], ROOT / "compiled", _rendered())


def _versions(target: str) -> list[str]:
    return list(_clusters()[target]["kubernetes"]["supported_versions"])


@pytest.mark.parametrize("target", sorted(_clusters()))
def test_every_object_can_be_created_in_wave_order_on_an_empty_cluster(target: str) -> None:
    apps = _apps(target)
    assert sum(len(a.objects) for a in apps) > 0
    assert first_sync_problems(target, apps, _versions(target)) == []


def test_a_custom_resource_in_a_wave_before_its_crd_is_reported() -> None:
    target = sorted(_clusters())[0]
    apps = _apps(target)
    # Take a custom resource from a folder Application and put it in a wave before its CRD's chart.
    providers = {provided: a for a in apps if not a.installed_before_sync for provided in a.provided()}
    victim, obj = next(
        (a, o) for a in apps for o in a.objects if group_kind(o) in providers and providers[group_kind(o)] is not a
    )
    provider = providers[group_kind(obj)]
    moved = [dataclasses.replace(a, wave=provider.wave - 1) if a is victim else a for a in apps]
    problems = first_sync_problems(target, moved, _versions(target))
    assert any(
        f"Application {victim.name} (wave {provider.wave - 1}): {obj['kind']}" in p and provider.name in p for p in problems
    )


def test_a_kind_no_application_installs_is_reported() -> None:
    target = sorted(_clusters())[0]
    stray = {"apiVersion": "example.invalid/v1", "kind": "Widget", "metadata": {"name": "w"}}
    apps = [*_apps(target), AppObjects("stray", 99, (stray,))]
    assert first_sync_problems(target, apps, _versions(target)) == [
        f"{target}: Application stray (wave 99): Widget w: no Application installs the CRD for example.invalid/Widget"
    ]
