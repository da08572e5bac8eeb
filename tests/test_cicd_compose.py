"""The local Compose stack: schema-valid, built from the dev settings, no real secrets."""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import real_parameters

from mnops.compose import APP_PORT_SPAN, app_host_port, app_host_ports, compose_files, compose_memory, secret_value
from mnops.errors import BuildError
from mnops.inventory import problems_in
from mnops.inventory.model import build_target

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / "compiled" / "local" / "compose"
CHECK_JSONSCHEMA = ROOT / ".venv" / "bin" / "check-jsonschema"
BACKING = {"redis", "postgres", "prometheus", "grafana", "loki", "jaeger"}
# Values that differ from the cluster on purpose: traces go to the local Jaeger, and the resource
# attributes name the `local` cluster.
LOCAL_OVERRIDES = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_RESOURCE_ATTRIBUTES"}


@pytest.fixture(scope="module")
def inventory() -> dict[str, Any]:
    return real_parameters()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((STACK / "compose.yaml").read_text())
    return data


def compose_spec_errors(path: Path) -> subprocess.CompletedProcess[str]:
    # check-jsonschema ships the Compose Specification schema (vendor.compose-spec).
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)], check=False, capture_output=True, text=True
    )


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any], tmp_path: Path) -> None:
    result = compose_spec_errors(STACK / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    broken = copy.deepcopy(compose)
    broken["services"]["redis"]["helthcheck"] = broken["services"]["redis"].pop("healthcheck")
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(broken))
    assert compose_spec_errors(tmp_path / "compose.yaml").returncode != 0, "a misspelt key must be rejected"


def test_stack_runs_every_service_and_the_backing_services(compose: dict[str, Any], inventory: dict[str, Any]) -> None:
    assert set(compose["services"]) == set(inventory["local"]["services"]) | BACKING


def dev_manifest(service: str) -> tuple[dict[str, str], str]:
    """The dev cluster's ConfigMap data and container image for a service."""
    folder = ROOT / "compiled" / "dev" / "manifests" / service
    config = yaml.safe_load((folder / "configmap.yaml").read_text())["data"]
    workload = folder / "deployment.yaml" if (folder / "deployment.yaml").exists() else folder / "rollout.yaml"
    image = yaml.safe_load(workload.read_text())["spec"]["template"]["spec"]["containers"][0]["image"]
    return config, image


def test_services_run_the_dev_image_and_config(compose: dict[str, Any], inventory: dict[str, Any]) -> None:
    """Local and cluster settings cannot drift: both are compiled from the same values."""
    for name in inventory["dev"]["services"]:
        config, image = dev_manifest(name)
        local = compose["services"][name]
        assert local["image"] == image
        plain = {k: v for k, v in local["environment"].items() if k in config and k not in LOCAL_OVERRIDES}
        assert plain == {k: v for k, v in config.items() if k not in LOCAL_OVERRIDES}, name
        assert set(config) <= set(local["environment"]), f"{name}: ConfigMap keys missing locally"
        assert set(local["environment"]) - set(config), f"{name}: secret keys missing"
        assert local["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317"
        assert "k8s.cluster.name=local" in local["environment"]["OTEL_RESOURCE_ATTRIBUTES"]


def test_no_real_secrets_in_the_stack(compose: dict[str, Any], inventory: dict[str, Any]) -> None:
    target = build_target(inventory["local"])
    for svc in target.services:
        env = compose["services"][svc.name]["environment"]
        for ref in svc.secret_refs:
            for key in ref.keys:
                value = env[key]
                assert "${" in value or value.startswith("redis://redis:"), f"{svc.name}.{key} looks like a literal secret"
    passwords = [compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"],
                 compose["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]]  # fmt: skip
    assert all(p.startswith("${") and "local-dev-only" in p for p in passwords)
    assert "local development only" in compose["x-generated"].lower()


def test_unknown_secret_keys_must_come_from_the_shell() -> None:
    assert secret_value("API_TOKEN") == "${API_TOKEN:?set API_TOKEN in your shell for the local stack}"
    assert "local-dev-only" in secret_value("DATABASE_URL")


def test_containers_are_hardened_like_their_pods(compose: dict[str, Any], inventory: dict[str, Any]) -> None:
    for name in inventory["local"]["services"]:
        svc = compose["services"][name]
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"] and svc["user"] == "10001:10001"
        assert all(port.startswith("127.0.0.1:") for port in svc["ports"])


def _published_host_ports(files: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: svc["ports"][0].split(":")[1] for name, svc in files["compose"]["services"].items()}


def test_host_ports_do_not_clash(inventory: dict[str, Any]) -> None:
    params = copy.deepcopy(inventory["local"])
    some_service = sorted(params["services"])[0]
    params["compose"]["host_ports"]["grafana"] = int(_published_host_ports(compose_files(build_target(params)))[some_service])
    with pytest.raises(BuildError, match="same host port"):
        compose_files(build_target(params))


def test_adding_or_removing_a_service_keeps_every_other_services_host_port(inventory: dict[str, Any]) -> None:
    params = copy.deepcopy(inventory["local"])
    before = _published_host_ports(compose_files(build_target(params)))
    first = sorted(params["services"])[0]
    params["services"]["aaa-new-service"] = copy.deepcopy(params["services"][first])
    added = _published_host_ports(compose_files(build_target(params)))
    del params["services"]["aaa-new-service"], params["services"][first]
    removed = _published_host_ports(compose_files(build_target(params)))
    assert {k: v for k, v in added.items() if k != "aaa-new-service"} == before
    assert removed == {k: v for k, v in before.items() if k != first}


def test_app_host_port_is_derived_from_the_name_alone() -> None:
    port = app_host_port("memory-service", 8001, {})
    assert 8001 <= port < 8001 + APP_PORT_SPAN
    assert app_host_port("memory-service", 8001, {"other-service": 9999}) == port
    assert app_host_port("memory-service", 8001, {"memory-service": 9999}) == 9999


def test_two_services_deriving_one_port_is_an_error_naming_both_and_the_pin() -> None:
    names = ["memory-service", "reporting-service"]
    colliding = {"reporting-service": app_host_port("memory-service", 8001, {})}
    with pytest.raises(BuildError, match=r"'memory-service' and 'reporting-service'.*compose\.app_host_ports\.reporting-service"):
        app_host_ports(names, 8001, colliding)
    assert len(set(app_host_ports(names, 8001, {}).values())) == 2


def test_memory_converts_to_docker_units() -> None:
    assert compose_memory("512Mi") == "512m"
    assert compose_memory("2Gi") == "2g"


def test_a_decimal_memory_quantity_kubernetes_accepts_is_given_to_docker_in_bytes() -> None:
    assert compose_memory("600M") == "600000000b"
    assert compose_memory("1000") == "1000b"


def test_local_target_is_valid_and_rejects_latest_images(inventory: dict[str, Any]) -> None:
    assert problems_in("local", inventory["local"]) == []
    params = copy.deepcopy(inventory["local"])
    params["compose"]["images"]["redis"] = "docker.io/library/redis:latest"
    assert [p.path for p in problems_in("local", params)] == ["parameters.compose.images.redis"]


def test_local_target_compiles_no_kubernetes_objects() -> None:
    assert not (ROOT / "compiled" / "local" / "manifests").exists()
    assert sorted(p.name for p in STACK.iterdir()) == [
        "compose.yaml",
        "grafana-dashboards.yaml",
        "grafana-datasources.yaml",
        "prometheus.yaml",
    ]


def test_local_grafana_serves_the_dev_dashboards_with_their_datasources(compose: dict[str, Any]) -> None:
    """The dashboards refer to datasources by UID; the local Grafana provides every UID they use."""
    dashboards = ROOT / "compiled" / "dev" / "dashboards"
    mount = next(v for v in compose["services"]["grafana"]["volumes"] if v.endswith(":/var/lib/grafana/dashboards:ro"))
    assert (STACK / mount.split(":")[0]).resolve() == dashboards.resolve()
    used = {
        m for path in dashboards.glob("*.json") for m in re.findall(r'"datasource": \{[^}]*"uid": "([^"]+)"', path.read_text())
    }
    provided = {d["uid"] for d in yaml.safe_load((STACK / "grafana-datasources.yaml").read_text())["datasources"]}
    assert used and used <= provided, used - provided


@pytest.fixture(scope="session")
def promtool() -> str:
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), "promtool=prometheus"], check=True)
    return "promtool"


def test_local_prometheus_config_is_valid_and_scrapes_every_service(promtool: str, inventory: dict[str, Any]) -> None:
    command = [promtool, "check", "config", str(STACK / "prometheus.yaml")]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((STACK / "prometheus.yaml").read_text())
    assert {job["job_name"] for job in config["scrape_configs"]} == set(inventory["local"]["services"])


def depends_on_cycle(services: dict[str, Any]) -> list[str]:
    """A depends_on cycle Compose would refuse ("dependency cycle detected"), or []."""

    def walk(name: str, path: list[str]) -> list[str]:
        if name in path:
            return [*path[path.index(name) :], name]
        for other in sorted(services.get(name, {}).get("depends_on", {})):
            found = walk(other, [*path, name])
            if found:
                return found
        return []

    return next((cycle for name in sorted(services) if (cycle := walk(name, []))), [])


def test_services_that_call_each_other_start_without_waiting_for_each_other(inventory: dict[str, Any]) -> None:
    target, params = next((n, copy.deepcopy(p)) for n, p in sorted(inventory.items()) if p.get("compose"))
    caller, callee = next(
        (name, svc["dependencies"]["services"][0])
        for name, svc in sorted(params["services"].items())
        if svc.get("dependencies", {}).get("services")
    )
    callee_deps = params["services"][callee].setdefault("dependencies", {})
    callee_deps["services"] = [*callee_deps.get("services", []), caller]  # now they call each other
    assert problems_in(target, params) == [], "a call cycle is a valid cluster topology"
    services = compose_files(build_target(params))["compose"]["services"]
    assert depends_on_cycle(services) == []
    assert callee not in services[caller]["depends_on"] and caller not in services[callee]["depends_on"]
    assert services[caller]["depends_on"].get("jaeger"), "the other dependencies are still waited for"
