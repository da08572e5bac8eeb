"""Run the compiled monitoring config of one target locally: real Prometheus and Alertmanager.

    with Preview(compiled / "dev", apps_namespace, services, scrape="127.0.0.1:8123") as preview:
        preview.alerts()          # Alertmanager /api/v2/alerts

Both servers listen on 127.0.0.1 on free ports, keep their data in a temporary folder, and are
stopped (SIGTERM, then SIGKILL after 10 s) when the block exits, however it exits. Prometheus
loads compiled/<target>/rules/*.yaml unchanged except, when `for_override` is given, every
alert's `for` (a test-only shortcut so an alert fires in seconds instead of minutes).
Alertmanager loads compiled/<target>/alertmanager/alertmanager.yaml with routes, timings and
inhibitions unchanged. Two local substitutions (`local_alertmanager_config`): webhook `url_file`
(Alertmanager 0.26+, what the chart runs; Debian 12 ships 0.25) becomes `url`; and, when
`receiver_url` is given, every receiver posts to that local webhook instead of its real channel
(receiver names stay, so the webhook sees which receiver the route tree chose). Without it the
receivers' credential files do not exist locally, so notifications fail (logged).
"""

from __future__ import annotations

import difflib
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from mnops import yamlio

PROMETHEUS = "prometheus"
PROMTOOL = "promtool"
ALERTMANAGER = "prometheus-alertmanager"  # Debian's name for the alertmanager binary


def rules_target_problem(root: Path, name: str, targets: Sequence[str]) -> str:
    """Why compiled/<name>/rules cannot be run (an unknown target, one without rules, nothing
    compiled yet), or ''. `targets` are the inventory's; the message lists those with rules."""
    with_rules = sorted(p.parent.name for p in (root / "compiled").glob("*/rules") if p.parent.name in targets)
    listed = f"targets with alert rules: {', '.join(with_rules)}"
    if not with_rules:
        return "no compiled/<target>/rules: run `make compile` first"
    if name not in targets:
        close = difflib.get_close_matches(name, list(targets), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown target {name!r}{hint}; {listed}"
    if name not in with_rules:
        return f"target {name!r} has no compiled/{name}/rules (it runs no Prometheus); {listed}"
    return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
        return json.load(response)


class ServerFailed(RuntimeError):
    """Prometheus or Alertmanager stopped before it was ready; the message ends with its last log line."""


def last_log_line(log: Path) -> str:
    """The server's last error line (logfmt `level=error`), else its last line."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.exists() else []
    errors = [line for line in lines if "level=error" in line.lower()]
    return (errors or lines or ["no output"])[-1]


def wait_until_ready(url: str, process: subprocess.Popen[bytes], deadline_seconds: float = 30.0, log: Path | None = None) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            # The log folder goes with the preview: say here what the server said last.
            said = f": {last_log_line(log)}" if log is not None else ""
            program = Path(str(process.args[0] if isinstance(process.args, list) else process.args)).name
            raise ServerFailed(f"{program} exited with {process.returncode} before it was ready{said}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - 127.0.0.1 only
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {deadline_seconds:.0f}s")


UNREACHABLE = "http://127.0.0.1:9/unreachable"  # the discard port: nothing listens


def local_alertmanager_config(content: dict[str, Any], receiver_url: str | None = None) -> dict[str, Any]:
    """The compiled Alertmanager config as a local Alertmanager 0.25 runs it (see the module docstring)."""
    receivers = []
    for receiver in content["receivers"]:
        if receiver_url is not None and len(receiver) > 1:
            receivers.append({"name": receiver["name"], "webhook_configs": [{"url": receiver_url, "send_resolved": True}]})
            continue
        hooks = [
            {**{k: v for k, v in hook.items() if k != "url_file"}, "url": hook.get("url", UNREACHABLE)}
            for hook in receiver.get("webhook_configs", [])
        ]
        receivers.append({**receiver, "webhook_configs": hooks} if hooks else receiver)
    return {**content, "receivers": receivers}


def rules_with_for(rule_file: Path, for_override: str | None) -> str:
    content = yamlio.load(rule_file.read_text())
    if for_override is not None:
        for group in content["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rule["for"] = for_override
    return yaml.safe_dump(content, sort_keys=False)


class Preview:
    def __init__(
        self,
        target_dir: Path,
        apps_namespace: str,
        services: Sequence[str],
        scrape: str,
        *,
        external_labels: dict[str, str],
        interval: str = "1s",
        for_override: str | None = None,
        log_dir: Path | None = None,
        evaluation_interval: str | None = None,
        receiver_url: str | None = None,
        backfill: str | None = None,
    ) -> None:
        self.target_dir = target_dir
        self.apps_namespace = apps_namespace
        self.services = tuple(services)
        self.scrape = scrape
        self.external_labels = external_labels
        self.interval = interval
        self.for_override = for_override
        self.evaluation_interval = evaluation_interval or interval
        self.receiver_url = receiver_url
        self.backfill = backfill  # OpenMetrics text: history written into the TSDB before Prometheus starts
        self.workdir = Path(tempfile.mkdtemp(prefix="mnops-preview-"))
        self.log_dir = log_dir or self.workdir
        self.prometheus_port = free_port()
        self.alertmanager_port = free_port()
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.alertmanager_port}"

    def prometheus_config(self, rule_files: Sequence[str]) -> dict[str, Any]:
        # One job per service, as ServiceMonitors make in the cluster: `up{service=...}` per service.
        jobs = [
            {
                "job_name": name,
                "honor_labels": True,
                "metrics_path": "/metrics",
                "params": {"service": [name]},
                "static_configs": [{"targets": [self.scrape], "labels": {"namespace": self.apps_namespace, "service": name}}],
            }
            for name in self.services
        ]
        return {
            "global": {
                "scrape_interval": self.interval,
                "evaluation_interval": self.evaluation_interval,
                "external_labels": self.external_labels,
            },
            "rule_files": list(rule_files),
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{self.alertmanager_port}"]}]}]},
            "scrape_configs": jobs,
        }

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self.processes.append(process)
        return process

    def __enter__(self) -> Preview:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def start(self) -> None:
        rules_dir = self.workdir / "rules"
        rules_dir.mkdir()
        rule_files = []
        for path in sorted((self.target_dir / "rules").glob("*.yaml")):
            (rules_dir / path.name).write_text(rules_with_for(path, self.for_override))
            rule_files.append(str(rules_dir / path.name))
        am_config = self.workdir / "alertmanager.yaml"
        compiled = yamlio.load((self.target_dir / "alertmanager" / "alertmanager.yaml").read_text())
        am_config.write_text(yaml.safe_dump(local_alertmanager_config(compiled, self.receiver_url), sort_keys=False))
        prom_config = self.workdir / "prometheus.yml"
        prom_config.write_text(yaml.safe_dump(self.prometheus_config(rule_files), sort_keys=False))
        am = self._start(
            "alertmanager",
            [
                ALERTMANAGER,
                f"--config.file={am_config}",
                f"--storage.path={self.workdir / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.alertmanager_port}",
                "--cluster.listen-address=",
            ],
        )
        wait_until_ready(f"{self.alertmanager_url}/-/ready", am, log=self.log_dir / "alertmanager.log")
        if self.backfill is not None:
            history = self.workdir / "history.om"
            history.write_text(self.backfill)
            subprocess.run(
                [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(history), str(self.workdir / "prom-data")],
                check=True,
                capture_output=True,
            )
        prom = self._start(
            "prometheus",
            [
                PROMETHEUS,
                f"--config.file={prom_config}",
                f"--storage.tsdb.path={self.workdir / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            ],
        )
        wait_until_ready(f"{self.prometheus_url}/-/ready", prom, log=self.log_dir / "prometheus.log")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds, with the receivers its route tree chose."""
        result: list[dict[str, Any]] = http_json(f"{self.alertmanager_url}/api/v2/alerts")
        return result

    def firing_rules(self) -> list[dict[str, Any]]:
        """Alerts Prometheus currently has pending or firing."""
        result: list[dict[str, Any]] = http_json(f"{self.prometheus_url}/api/v1/alerts")["data"]["alerts"]
        return result
