"""Cross-field rules for progressive delivery (listed in mnops.inventory.RULE_MODULES)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mnops import units
from mnops.errors import Problem
from mnops.inventory.layers import effective_service
from mnops.inventory.rules import Params, Rule

PROGRESSIVE = ("canary", "bluegreen")


def _deliveries(params: Params) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in sorted(params["services"]):
        yield name, effective_service(params, name)["delivery"]


def prod_rolls_back_automatically(target: str, params: Params) -> Iterator[Problem]:
    if params["cluster"]["environment"] != "prod":
        return
    for name, delivery in _deliveries(params):
        if delivery["strategy"] not in PROGRESSIVE:
            yield Problem(target, f"parameters.services.{name}.delivery.strategy", repr(delivery["strategy"]),
                          "canary or bluegreen in prod", "only a Rollout with analysis rolls back by itself")  # fmt: skip


def canary_steps_increase(target: str, params: Params) -> Iterator[Problem]:
    for name, delivery in _deliveries(params):
        steps = list(delivery["canary_steps"])
        if delivery["strategy"] == "canary" and steps != sorted(steps):
            yield Problem(target, f"parameters.services.{name}.delivery.canary_steps", str(steps),
                          "weights in increasing order", "traffic only ever moves towards the new version")  # fmt: skip


def analysis_can_fail(target: str, params: Params) -> Iterator[Problem]:
    for name, delivery in _deliveries(params):
        analysis = delivery["analysis"]
        path = f"parameters.services.{name}.delivery"
        if delivery["strategy"] == "bluegreen" and analysis["failure_limit"] >= analysis["measurements"]:
            yield Problem(target, f"{path}.analysis.failure_limit", str(analysis["failure_limit"]),
                          f"fewer than the {analysis['measurements']} measurements",
                          "otherwise a blue-green analysis can never fail")  # fmt: skip
        if delivery["strategy"] == "canary":
            pause = units.duration_seconds(delivery["pause"])
            interval = units.duration_seconds(analysis["interval"])
            if pause < interval:
                yield Problem(target, f"{path}.pause", repr(delivery["pause"]),
                              f"at least the analysis interval ({analysis['interval']})",
                              "each canary step must be measured at least once")  # fmt: skip
        if delivery["strategy"] == "bluegreen" and units.duration_seconds(delivery["scale_down_delay"]) < 30:
            yield Problem(target, f"{path}.scale_down_delay", repr(delivery["scale_down_delay"]), "at least 30s",
                          "the old version must still run when post-promotion analysis fails")  # fmt: skip


def analysis_has_prometheus(target: str, params: Params) -> Iterator[Problem]:
    progressive = [name for name, d in _deliveries(params) if d["strategy"] in PROGRESSIVE]
    if progressive and "progressive_delivery" not in params:
        yield Problem(target, "parameters.progressive_delivery", "nothing", "the Prometheus address for Rollouts analysis",
                      f"used by {', '.join(progressive)}; include the class platform.progressive-delivery")  # fmt: skip


RULES: tuple[Rule, ...] = (
    prod_rolls_back_automatically,
    canary_steps_increase,
    analysis_can_fail,
    analysis_has_prometheus,
)
