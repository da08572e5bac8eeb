"""docker/Dockerfile and our shell scripts pass their linters; the image's structure is what the
issue asks for, and its CMD and HEALTHCHECK work against a stand-in service."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "Dockerfile"
VENV_BIN = ROOT / ".venv" / "bin"
FIXTURE_APP = ROOT / "tests" / "fixtures" / "service-app"


def run(*command: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in command], check=False, capture_output=True, text=True, env=env)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    result = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def stages(text: str) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def test_dockerfile_passes_hadolint(tmp_path: Path) -> None:
    result = run(VENV_BIN / "hadolint", DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\n")
    result = run(VENV_BIN / "hadolint", bad)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_dockerfile_is_multi_stage_python_311_slim() -> None:
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, flags=re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11(\.[0-9]+)?-slim(@sha256:[a-f0-9]{64})?", base.group(1))
    builder, runtime = stages(text)
    assert builder[0] == ("FROM", "${PYTHON_IMAGE} AS builder")
    assert runtime[0] == ("FROM", "${PYTHON_IMAGE} AS runtime")


def test_runtime_stage_is_non_root_without_build_tools_and_runs_the_seed_command() -> None:
    runtime = stages(DOCKERFILE.read_text())[-1]
    keywords = dict(runtime)
    runs = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    assert "pip install" not in runs and "apt-get" not in runs, "nothing is installed in the runtime stage"
    assert "pip uninstall" in runs, "the runtime image cannot install software"
    assert [rest for keyword, rest in runtime if keyword == "COPY"] == [
        "--from=builder /opt/venv /opt/venv",
        "--from=builder /app /app",
    ]
    assert keywords["USER"] == "10001:10001"  # numeric, so Kubernetes can verify runAsNonRoot
    assert json.loads(keywords["CMD"]) == ["python", "-m", "ns_root.namespaces_adk"]
    assert keywords["HEALTHCHECK"].startswith("--interval=")


def test_dockerignore_keeps_secrets_and_clutter_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".env", ".env.*", ".venv", "tests", "**/__pycache__"} <= ignored


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def fixture_service() -> Iterator[int]:
    """The image's CMD, run against the stand-in service on a free local port."""
    port = free_port()
    command = json.loads(dict(stages(DOCKERFILE.read_text())[-1])["CMD"])
    command[0] = sys.executable
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.Popen(command, cwd=FIXTURE_APP, env=env)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def healthcheck_command() -> list[str]:
    healthcheck = dict(stages(DOCKERFILE.read_text())[-1])["HEALTHCHECK"]
    command: list[str] = json.loads(healthcheck.split(" CMD ", 1)[1])
    command[0] = sys.executable
    return command


def test_healthcheck_passes_against_a_running_service_and_fails_without_one(fixture_service: int) -> None:
    command = healthcheck_command()
    assert run(*command, env={**os.environ, "PORT": str(fixture_service)}).returncode == 0
    assert run(*command, env={**os.environ, "PORT": str(free_port())}).returncode != 0


def shell_scripts() -> list[Path]:
    found = []
    for folder in (ROOT / "scripts", ROOT / ".ci"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and re.match(r"#!(/usr/bin/env |/bin/)(ba)?sh\b", path.read_text(errors="ignore")[:40]):
                found.append(path)
    return found


def test_shell_scripts_pass_shellcheck(tmp_path: Path) -> None:
    scripts = shell_scripts()
    assert {p.name for p in scripts} >= {"kubeconform.sh", "promtool-checks.sh", "ensure-debs", "run"}
    result = run(VENV_BIN / "shellcheck", *scripts)
    assert result.returncode == 0, result.stdout
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/usr/bin/env bash\nrm -rf $TARGET/*\n")
    assert run(VENV_BIN / "shellcheck", bad).returncode != 0
