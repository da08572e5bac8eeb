"""Cross-field rules for the local Compose stack (listed in mnops.inventory.RULE_MODULES).

Every container of the stack publishes on 127.0.0.1: two on one host port and `docker compose up`
fails on whichever starts second. The compile names the clash and the key to change instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from mnops.compose import app_host_port
from mnops.errors import Problem
from mnops.inventory.rules import Params, Rule


def pinned_ports_name_services(target: str, params: Params) -> Iterator[Problem]:
    pinned = params.get("compose", {}).get("app_host_ports", {})
    for name in sorted(set(pinned) - set(params["services"])):
        yield Problem(target, f"parameters.compose.app_host_ports.{name}", "unknown service",
                      "", f"services are {', '.join(sorted(params['services']))}")  # fmt: skip


def host_ports_are_distinct(target: str, params: Params) -> Iterator[Problem]:
    compose = params.get("compose")
    if not compose:
        return
    pinned = compose.get("app_host_ports", {})
    claims = [(f"parameters.compose.host_ports.{name}", name, str(port), port) for name, port in compose["host_ports"].items()]
    for name in sorted(params["services"]):
        port = app_host_port(name, compose["first_host_port"], pinned)
        how = str(port) if name in pinned else f"{port} (derived from its name and first_host_port)"
        claims.append((f"parameters.compose.app_host_ports.{name}", name, how, port))
    owners: dict[int, str] = {}
    for path, name, how, port in claims:
        if port in owners:
            yield Problem(target, path, f"{how}, which {owners[port]} publishes too", "a host port no other container publishes",
                          "Docker starts only one of them; pin a service's under compose.app_host_ports")  # fmt: skip
        else:
            owners[port] = name


def services_are_not_named_like_backing_services(target: str, params: Params) -> Iterator[Problem]:
    """The stack's containers are named after the services and the backing services alike."""
    backing = list(params.get("compose", {}).get("host_ports", {}))
    for name in sorted(set(params["services"]) & set(backing)):
        yield Problem(target, f"parameters.services.{name}", f"a service named {name!r}",
                      "a name no backing service of the local stack uses", f"backing services: {', '.join(backing)}")  # fmt: skip


RULES: tuple[Rule, ...] = (pinned_ports_name_services, host_ports_are_distinct, services_are_not_named_like_backing_services)
