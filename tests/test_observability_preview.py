"""End to end: real Prometheus and Alertmanager with dev's compiled rules and routes, a tiny
local metrics endpoint, one service driven past its error-rate threshold, and the alert
arriving in Alertmanager with the receiver dev's route tree names for P0.

Test-only shortcuts, stated plainly: every alert's `for` is overridden to 0s and scrape and
evaluation run every second, so the alert fires in seconds rather than after dev's 5m `for`.
Everything listens on 127.0.0.1; loops are bounded."""

from __future__ import annotations

import time
from typing import Any

import pytest
from observability_support import COMPILED, ensure_tools, target

from mnops import units
from mnops.observability.fake_service import FakeServices
from mnops.observability.preview import Preview
from mnops.observability.settings import monitoring_settings

pytestmark = [pytest.mark.slow, pytest.mark.servers]  # real Prometheus and Alertmanager

DEADLINE_SECONDS = 90


def wait_for(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"gave up after {DEADLINE_SECONDS}s waiting for {what}")


@pytest.fixture(scope="module")
def preview() -> Any:
    ensure_tools()
    t = target("dev")
    services = [s.name for s in t.services]
    labels = {"cluster": t.cluster.name, "environment": t.cluster.environment}
    with (
        FakeServices(services) as fake,
        Preview(
            COMPILED / "dev", t.namespaces["apps"], services, fake.address, external_labels=labels, for_override="0s"
        ) as running,
    ):
        yield fake, running


def matching(alerts: list[dict[str, Any]], name: str, service: str) -> list[dict[str, Any]]:
    return [a for a in alerts if a["labels"]["alertname"] == name and a["labels"].get("service") == service]


def test_error_spike_reaches_alertmanager_with_the_p0_receiver(preview: Any) -> None:
    fake, running = preview
    # Healthy first: every service is scraped and nothing about memory-service is firing.
    wait_for(lambda: len(running.firing_rules()) == 0 and running.alerts() == [], "a quiet start")
    assert not matching(running.alerts(), "ServiceDown", "memory-service")

    fake.set_error_share("memory-service", 0.5)
    alerts = wait_for(lambda: matching(running.alerts(), "HighErrorRate", "memory-service"), "HighErrorRate in Alertmanager")
    alert = alerts[0]
    expected = monitoring_settings(target("dev").parameters).alertmanager.routes["P0"]
    assert sorted(r["name"] for r in alert["receivers"]) == sorted(expected)
    assert alert["labels"]["priority"] == "P0"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["cluster"] == "dev"  # Prometheus' external labels reach Alertmanager
    assert alert["annotations"]["runbook_url"].endswith("/docs/runbooks/HighErrorRate.md")
    # Only the service that fails alerts.
    assert not matching(running.alerts(), "HighErrorRate", "configuration-service")


def test_a_page_mutes_its_own_slo_burn_but_not_the_services_warnings(preview: Any) -> None:
    """HighErrorRate (P0) mutes the same service's availability burn alert (same incident) but
    not its HighMemoryUsage warning, which may be the cause and has its own owner.

    Memory, not CPU: a gauge crosses its threshold at the next scrape, while a 5-minute rate
    needs minutes of history before it reflects a new load."""
    fake, running = preview
    svc = target("dev").services[-1]
    fake.set_memory_bytes(svc.name, round(units.memory_bytes(svc.resources.memory_limit) * (svc.alerts.memory_percent + 5) / 100))
    memory = wait_for(lambda: matching(running.alerts(), "HighMemoryUsage", svc.name), "HighMemoryUsage in Alertmanager")
    assert memory[0]["status"]["state"] == "active"

    fake.set_error_share(svc.name, 0.5)

    def muted_burn() -> list[dict[str, Any]]:
        burns = matching(running.alerts(), "SLOErrorBudgetBurnFast", svc.name)
        return [a for a in burns if a["labels"].get("slo") == "availability" and a["status"]["state"] == "suppressed"]

    assert wait_for(muted_burn, "the availability burn muted by HighErrorRate")[0]["status"]["inhibitedBy"]
    error = wait_for(lambda: matching(running.alerts(), "HighErrorRate", svc.name), "HighErrorRate in Alertmanager")[0]
    assert error["status"]["state"] == "active"
    assert all(a["status"]["state"] == "active" for a in matching(running.alerts(), "HighMemoryUsage", svc.name))
