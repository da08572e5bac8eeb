"""scripts/release_checks.py and scripts/set_image.py against local stand-ins: a fake gateway, a
fake Prometheus and a fake kubectl, all on 127.0.0.1 or in tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import real_parameters, script_module

ROOT = Path(__file__).resolve().parent.parent


checks = script_module("release_checks")
set_image_script = script_module("set_image")


@pytest.fixture(scope="module")
def prod() -> Any:
    return checks.build_target(real_parameters()["prod"])


Responder = Callable[[str], tuple[int, bytes]]


@pytest.fixture
def server() -> Iterator[Callable[[Responder], str]]:
    """Start a local HTTP server answering with a given function; returns its base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Responder) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = respond(self.path)
                self.send_response(status)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def gateway(broken: str = "", metrics_public: bool = False) -> Responder:
    """Answers readiness under every public path, except for the `broken` service's path."""

    def respond(path: str) -> tuple[int, bytes]:
        if broken and path.startswith(broken):
            return 503, b"down"
        if path.endswith("/readyz"):
            return 200, b"ready"
        if path.endswith("/metrics") and metrics_public:
            return 200, b"http_requests_total 1"
        return 404, b"no route"

    return respond


def test_smoke_passes_when_every_public_service_is_ready(prod: Any, server: Callable[[Responder], str]) -> None:
    results = checks.smoke(prod, server(gateway()))
    assert len(results) == len([s for s in prod.services if s.public_path]) > 0 and all(r.ok for r in results)


def test_smoke_fails_for_the_service_that_is_down(prod: Any, server: Callable[[Responder], str]) -> None:
    results = checks.smoke(prod, server(gateway(broken="/api/memory")))
    assert [r.name for r in results if not r.ok] == ["smoke/memory-service/ready"]


def test_integration_reports_a_broken_dependency(prod: Any, server: Callable[[Responder], str]) -> None:
    failed = {r.name for r in checks.integration(prod, server(gateway(broken="/api/config"))) if not r.ok}
    assert "integration/configuration-service/ready" in failed
    assert "integration/memory-service/depends-on/configuration-service" in failed


def test_e2e_fails_when_metrics_are_public(prod: Any, server: Callable[[Responder], str]) -> None:
    assert all(r.ok for r in checks.e2e(prod, server(gateway())))
    failed = [r.name for r in checks.e2e(prod, server(gateway(metrics_public=True))) if not r.ok]
    assert failed and all(name.endswith("metrics-not-public") for name in failed)


def prometheus(error_ratio: float, p99: float) -> Responder:
    def respond(path: str) -> tuple[int, bytes]:
        query = parse_qs(urlparse(path).query)["query"][0]
        value = error_ratio if "http_errors" in query else p99
        result = [{"metric": {"service": "memory-service"}, "value": [0, str(value)]}]
        return 200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()

    return respond


def test_watch_fails_on_the_alert_thresholds(prod: Any, server: Callable[[Responder], str]) -> None:
    alerts = prod.service("memory-service").alerts  # 5 % and 1 s from the inventory
    calm = checks.watch(prod, server(prometheus(alerts.error_rate_percent / 100 * 0.9, 0.2)), 0, 0)
    assert all(r.ok for r in calm)
    failed = checks.watch(prod, server(prometheus(alerts.error_rate_percent / 100 * 1.1, 0.2)), 600, 1)
    assert [r.name for r in failed if not r.ok] == ["watch/memory-service/error-rate"]
    slow = checks.watch(prod, server(prometheus(0.0, alerts.latency_p99_seconds + 0.1)), 600, 1)
    assert [r.name for r in slow if not r.ok] == ["watch/memory-service/p99"]


@pytest.fixture
def fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubectl that lists two Rollouts and logs every call."""
    log = tmp_path / "kubectl.log"
    rollouts = {"items": [{"metadata": {"name": "memory-service"}}, {"metadata": {"name": "reporting-service"}}]}
    (tmp_path / "rollouts.argoproj.io.json").write_text(json.dumps(rollouts))
    script = tmp_path / "bin" / "kubectl"
    script.parent.mkdir()
    # `get <resource>` prints tmp_path/<resource>.json; every call is logged.
    lines = [
        "#!/bin/sh",
        f'echo "$@" >> {log}',
        '[ "$1" = --context ] && shift 2',
        f'[ "$1" = get ] && cat {tmp_path}/"$2".json',
        "exit 0",
    ]
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}:{os.environ['PATH']}")
    return log


def test_abort_rollouts_patches_every_rollout_status(prod: Any, fake_kubectl: Path) -> None:
    results = checks.abort_rollouts(prod)
    assert [r.name for r in results] == ["abort/memory-service", "abort/reporting-service"] and all(r.ok for r in results)
    patches = [line for line in fake_kubectl.read_text().splitlines() if line.startswith("patch")]
    assert patches == [
        f'patch rollout {name} -n machine-native-ops --type merge --subresource status -p {{"status":{{"abort":true}}}}'
        for name in ("memory-service", "reporting-service")
    ]


def test_junit_report_counts_failures(tmp_path: Path) -> None:
    results = [checks.Result("a", True), checks.Result("b", False, "boom")]
    checks.write_junit(results, tmp_path / "r.xml", "smoke")
    text = (tmp_path / "r.xml").read_text()
    assert 'tests="2"' in text and 'failures="1"' in text and "boom" in text


def test_record_adds_one_row_per_revision(prod: Any, tmp_path: Path) -> None:
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    output = tmp_path / "deployments.md"
    checks.record(prod, revision, output)
    checks.record(prod, revision, output)
    assert output.read_text().count(revision[:12]) == 1


def test_k6_thresholds_come_from_the_slo(prod: Any) -> None:
    env = dict(line.split("=", 1) for line in checks.k6_env(prod))
    assert env["P95_MS"] == "100" and env["P99_MS"] == "500"  # the seed's P95 < 100 ms, P99 < 500 ms
    public = [s for s in prod.services if s.public_path]
    assert env["K6_PATHS"].split(",") == [f"{s.public_path}{s.probes.readiness_path}" for s in public] != []


DIGEST = "sha256:" + "b" * 64


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "inventory", tmp_path / "inventory")
    return tmp_path / "inventory"


def test_set_image_changes_only_the_pin(inventory_copy: Path) -> None:
    before = (inventory_copy / "classes" / "env" / "dev.yml").read_text()
    set_image_script.set_image(inventory_copy, "dev", "memory-service", DIGEST, "sha-0123abc")
    after = (inventory_copy / "classes" / "env" / "dev.yml").read_text()
    removed = set(before.splitlines()) - set(after.splitlines())
    added = set(after.splitlines()) - set(before.splitlines())
    assert removed == {"      tag: 1.5.0-rc.1"}
    assert added == {"      tag: sha-0123abc", f"      digest: {DIGEST}"}


@pytest.mark.parametrize(
    ("env", "service", "digest", "tag"),
    [
        ("qa", "memory-service", DIGEST, None),
        ("dev", "no-such-service", DIGEST, None),
        ("dev", "memory-service", "sha256:short", None),
        ("dev", "memory-service", DIGEST, "latest"),
    ],
)
def test_set_image_refuses_bad_input(inventory_copy: Path, env: str, service: str, digest: str, tag: str | None) -> None:
    with pytest.raises(ValueError):
        set_image_script.set_image(inventory_copy, env, service, digest, tag)


def test_kube_context_selects_the_standby_cluster(prod: Any, fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBE_CONTEXT", "prod-dr")
    checks.abort_rollouts(prod)
    calls = fake_kubectl.read_text().splitlines()
    assert calls and all(call.startswith("--context prod-dr ") for call in calls)


def application(name: str, revision: str, sync: str = "Synced", health: str = "Healthy") -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"sync": {"status": sync, "revision": revision}, "health": {"status": health}}}


def test_wait_argocd_needs_every_application_synced_at_the_revision_and_healthy(fake_kubectl: Path) -> None:
    apps = fake_kubectl.parent / "applications.argoproj.io.json"
    apps.write_text(json.dumps({"items": [application("memory-service", "abc"), application("namespaces", "abc")]}))
    assert all(r.ok for r in checks.wait_argocd("abc", timeout=0))
    broken = [application("memory-service", "abc", health="Degraded"), application("namespaces", "old")]
    apps.write_text(json.dumps({"items": broken}))
    failed = [r.name for r in checks.wait_argocd("abc", timeout=0, sleep=lambda _: None) if not r.ok]
    assert failed == ["argocd/memory-service", "argocd/namespaces"]
