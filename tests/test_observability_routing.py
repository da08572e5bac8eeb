"""Alertmanager: amtool accepts every target's config and each priority reaches the receivers
the environment's inventory names; credentials appear only as file references."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import pytest
import yaml
from observability_support import COMPILED, TARGETS, ensure_tools, for_local_alertmanager, run, target

from mnops.errors import BuildError
from mnops.observability.alertmanager import HEARTBEAT_FILE, HEARTBEAT_RECEIVER, alertmanager_config
from mnops.observability.settings import ROUTE_KEYS, Receiver, monitoring_settings

pytestmark = [pytest.mark.slow, pytest.mark.servers]  # real amtool

# Labels an alert of each route key carries (info events are P3 with severity info).
ALERT_LABELS = {
    "P0": ["priority=P0", "severity=critical"],
    "P1": ["priority=P1", "severity=critical"],
    "P2": ["priority=P2", "severity=warning"],
    "P3": ["priority=P3", "severity=warning"],
    "info": ["priority=P3", "severity=info"],
}
# The issue's route tree in production.
PROD_ROUTES = {"P0": "chat,pager", "P1": "pager", "P2": "chat", "P3": "ticket", "info": "info"}


@pytest.fixture(scope="session", autouse=True)
def tools() -> None:
    ensure_tools()


def compiled_config(name: str) -> Path:
    return COMPILED / name / "alertmanager" / "alertmanager.yaml"


# The local copies amtool reads; removed when the test process exits.
LOCAL_CONFIGS = tempfile.TemporaryDirectory(prefix="mnops-am-")


@cache
def config_path(name: str) -> Path:
    """The compiled config as amtool 0.25 reads it (webhook url_file -> url, nothing else)."""
    return for_local_alertmanager(compiled_config(name), Path(LOCAL_CONFIGS.name) / f"{name}.yaml")


def routes_test(config: Path, expected: str, labels: list[str]) -> int:
    args = ["amtool", "config", "routes", "test", f"--config.file={config}", f"--verify.receivers={expected}", *labels]
    return run(args).returncode


@pytest.mark.parametrize("name", TARGETS)
def test_amtool_accepts_the_config(name: str) -> None:
    result = run(["amtool", "check-config", str(config_path(name))])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", TARGETS)
def test_the_local_copy_differs_from_the_compiled_config_only_in_the_heartbeat_url(name: str) -> None:
    compiled = yaml.safe_load(compiled_config(name).read_text())
    local = yaml.safe_load(config_path(name).read_text())
    heartbeat = next(r for r in compiled["receivers"] if r["name"] == HEARTBEAT_RECEIVER)
    assert heartbeat["webhook_configs"][0]["url_file"].endswith(f"/{HEARTBEAT_FILE}")
    for content in (compiled, local):
        content["receivers"] = [r for r in content["receivers"] if r["name"] != HEARTBEAT_RECEIVER]
    assert compiled == local


@pytest.mark.parametrize("name", TARGETS)
def test_watchdog_reaches_the_heartbeat_at_least_every_five_minutes(name: str) -> None:
    assert routes_test(config_path(name), HEARTBEAT_RECEIVER, ["alertname=Watchdog", "severity=none"]) == 0
    route = next(
        r for r in yaml.safe_load(compiled_config(name).read_text())["route"]["routes"] if r["receiver"] == HEARTBEAT_RECEIVER
    )
    seconds = {"s": 1, "m": 60, "h": 3600}
    assert int(route["repeat_interval"][:-1]) * seconds[route["repeat_interval"][-1]] <= 300


@pytest.mark.parametrize("name", TARGETS)
def test_info_events_are_delivered_at_any_hour_and_tickets_wait_for_business_hours(name: str) -> None:
    routes = yaml.safe_load(compiled_config(name).read_text())["route"]["routes"]
    info = [r for r in routes if r["matchers"] == ['severity="info"']]
    tickets = [r for r in routes if r["matchers"] == ['priority="P3"']]
    assert info and tickets
    assert all("active_time_intervals" not in r for r in info)
    assert all(r.get("active_time_intervals") == ["business-hours"] for r in tickets)


def test_amtool_rejects_a_route_to_an_undeclared_receiver(tmp_path: Path) -> None:
    config = yaml.safe_load(config_path("prod").read_text())
    config["route"]["routes"][0]["receiver"] = "nobody"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    assert run(["amtool", "check-config", str(bad)]).returncode != 0


@pytest.mark.parametrize("key", ROUTE_KEYS)
@pytest.mark.parametrize("name", TARGETS)
def test_each_priority_reaches_the_intended_receivers(name: str, key: str) -> None:
    expected = ",".join(monitoring_settings(target(name).parameters).alertmanager.routes[key])
    labels = [*ALERT_LABELS[key], "alertname=Test", "service=memory-service"]
    assert routes_test(config_path(name), expected, labels) == 0, f"{name} {key} should reach {expected}"
    assert routes_test(config_path(name), "somebody-else", labels) != 0  # the check can fail


def environment_targets(production: bool) -> list[str]:
    """Clusters of the production environment, or all others, from the inventory."""
    return [n for n in TARGETS if (target(n).cluster.environment == "prod") == production]


@pytest.mark.parametrize("name", environment_targets(production=True))
def test_production_follows_the_issue_route_tree(name: str) -> None:
    for key, expected in PROD_ROUTES.items():
        assert routes_test(config_path(name), expected, ALERT_LABELS[key]) == 0, key


@pytest.mark.parametrize("name", TARGETS)
def test_platform_alerts_without_priority_are_routed(name: str) -> None:
    routes = monitoring_settings(target(name).parameters).alertmanager.routes
    config = config_path(name)
    assert routes_test(config, "null", ["alertname=InfoInhibitor", "severity=none"]) == 0
    assert routes_test(config, ",".join(routes["P1"]), ["alertname=KubePodCrashLooping", "severity=critical"]) == 0
    assert routes_test(config, routes["P2"][0], ["alertname=KubeCPUOvercommit", "severity=warning"]) == 0


@pytest.mark.parametrize("name", environment_targets(production=False))
def test_nobody_is_paged_outside_production(name: str) -> None:
    config = config_path(name).read_text()
    assert "pagerduty" not in config
    for key in ("P0", "P1"):
        assert routes_test(config_path(name), "chat", ALERT_LABELS[key]) == 0


@pytest.mark.parametrize("name", TARGETS)
def test_first_notification_meets_the_response_target(name: str) -> None:
    config = yaml.safe_load(config_path(name).read_text())
    seconds = {"s": 1, "m": 60, "h": 3600}
    for route in config["route"]["routes"]:
        if any(m in route["matchers"] for m in ('priority="P0"', 'priority="P1"')):
            wait = route["group_wait"]
            assert int(wait[:-1]) * seconds[wait[-1]] <= 60, route


def test_credentials_are_only_file_references() -> None:
    for name in TARGETS:
        config = yaml.safe_load(compiled_config(name).read_text())
        for receiver in config["receivers"]:
            for kind, entries in receiver.items():
                if kind == "name":
                    continue
                for entry in entries:
                    assert not {"api_url", "routing_key", "service_key", "auth_password", "url"} & set(entry), receiver
                    files = [v for k, v in entry.items() if k.endswith("_file")]
                    assert files and all(f.startswith("/etc/alertmanager/secrets/") for f in files), receiver


def test_builder_rejects_a_route_to_an_undeclared_receiver() -> None:
    settings = monitoring_settings(target("prod").parameters).alertmanager
    broken = type(settings)(**{**settings.__dict__, "routes": {**settings.routes, "P2": ("nobody",)}})
    with pytest.raises(BuildError, match="undeclared receivers"):
        alertmanager_config(broken)


def test_slack_receiver_needs_a_channel() -> None:
    from mnops.observability.alertmanager import receiver_config

    with pytest.raises(BuildError, match="needs a channel"):
        receiver_config(Receiver(name="chat", type="slack"), "/etc/alertmanager/secrets/x")
