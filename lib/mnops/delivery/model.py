"""Typed view of a service's `delivery` settings, merged like every other service field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnops import units
from mnops.inventory.layers import effective_service
from mnops.inventory.model import Service, Target

PROGRESSIVE = ("canary", "bluegreen")


@dataclass(frozen=True)
class Analysis:
    interval_seconds: int
    window_seconds: int
    failure_limit: int
    measurements: int


@dataclass(frozen=True)
class Delivery:
    strategy: str  # rolling, canary or bluegreen
    canary_steps: tuple[int, ...]
    pause_seconds: int
    scale_down_delay_seconds: int
    analysis: Analysis
    traffic_router: str | None  # "istio", the Gateway API plugin name, or None (replica-weighted canary)
    prometheus_address: str | None

    @property
    def progressive(self) -> bool:
        return self.strategy in PROGRESSIVE


def traffic_router(parameters: Mapping[str, Any], svc: Service) -> str | None:
    """Istio when the mesh is on (it sees east-west traffic too); else the Gateway API plugin for
    services behind the gateway (their HTTPRoute is named after the service); else none."""
    if parameters.get("mesh", {}).get("enabled", False):
        return "istio"
    if svc.public_path:
        name: str = parameters["progressive_delivery"]["gateway_api_plugin"]
        return name
    return None


def delivery_plan(target: Target, svc: Service) -> Delivery:
    """The service's delivery settings; call only on a validated target."""
    raw = effective_service(target.parameters, svc.name)["delivery"]
    analysis = raw["analysis"]
    progressive = raw["strategy"] in PROGRESSIVE
    settings = target.parameters.get("progressive_delivery", {})
    return Delivery(
        strategy=raw["strategy"],
        canary_steps=tuple(raw["canary_steps"]),
        pause_seconds=units.duration_seconds(raw["pause"]),
        scale_down_delay_seconds=units.duration_seconds(raw["scale_down_delay"]),
        analysis=Analysis(
            interval_seconds=units.duration_seconds(analysis["interval"]),
            window_seconds=units.duration_seconds(analysis["window"]),
            failure_limit=analysis["failure_limit"],
            measurements=analysis["measurements"],
        ),
        traffic_router=traffic_router(target.parameters, svc) if progressive and raw["strategy"] == "canary" else None,
        prometheus_address=settings.get("prometheus_address"),
    )
