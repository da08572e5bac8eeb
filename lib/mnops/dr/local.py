"""Local PostgreSQL 15 and Redis 7 servers for the DR scripts' --local mode and the restore drill.

The durability settings come from the compiled tree (what Argo CD deploys), never from a copy:
the archive settings of compiled/<target>/manifests/postgres/cluster.yaml and the redis.conf lines
of compiled/<target>/manifests/redis/configmap.yaml. Servers bind 127.0.0.1 on free ports; as
root, PostgreSQL runs as the `postgres` user (it refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from mnops import yamlio
from mnops.dr.clients import CLIENT_ERRORS, pg_connect, redis_connect

PG_BIN = Path(os.environ.get("MNOPS_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("MNOPS_REDIS_SERVER", "redis-server")
HOST = "127.0.0.1"

# postgresql.conf settings that decide what survives a crash or a restore; the drill applies these
# from the compiled Cluster. Sizing settings (shared_buffers, max_connections...) are left out: they
# change speed, not which data is recoverable, and would not fit a test machine.
DURABILITY_PREFIXES = ("archive_", "wal_", "fsync", "synchronous_commit", "full_page_writes", "checkpoint_")


class LocalError(RuntimeError):
    """A local server could not be set up, started or reached; the message says what to check."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _load_documents(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise LocalError(f"{path} does not exist; run `make compile` first (or pick another --target)")
    return [d for d in yamlio.load_all(path.read_text()) if isinstance(d, dict)]


def compiled_pg_parameters(compiled: Path, target: str) -> dict[str, str]:
    """Every postgresql.conf parameter the compiled CloudNativePG Cluster of `target` sets."""
    for doc in _load_documents(compiled / target / "manifests" / "postgres" / "cluster.yaml"):
        if doc.get("kind") == "Cluster":
            params: dict[str, str] = {k: str(v) for k, v in doc["spec"]["postgresql"]["parameters"].items()}
            return params
    raise LocalError(f"no CloudNativePG Cluster in {compiled / target}/manifests/postgres/cluster.yaml")


def durability_parameters(parameters: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in sorted(parameters.items()) if k.startswith(DURABILITY_PREFIXES)}


def compiled_redis_config(compiled: Path, target: str) -> list[str]:
    """The redis.conf lines the compiled Redis ConfigMap of `target` carries."""
    for doc in _load_documents(compiled / target / "manifests" / "redis" / "configmap.yaml"):
        text = doc.get("data", {}).get("redis-additional.conf")
        if text:
            return [line for line in str(text).splitlines() if line.strip() and not line.startswith("#")]
    raise LocalError(f"no redis-additional.conf in {compiled / target}/manifests/redis/configmap.yaml")


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def give_to_postgres(path: Path) -> None:
    """Make a folder tree usable by the postgres user (when running as root)."""
    if os.geteuid() != 0:
        return
    shutil.chown(path, "postgres", "postgres")
    for child in path.rglob("*"):
        shutil.chown(child, "postgres", "postgres")


def run_pg(argv: list[str], what: str, timeout: float = 120) -> str:
    """Run a PostgreSQL client/server binary (as postgres when root); raise LocalError with its output."""
    binary = PG_BIN / argv[0]
    if not binary.exists():
        raise LocalError(f"{binary} not found: install Debian's postgresql (scripts/ensure-debs) or set MNOPS_PG_BIN")
    proc = subprocess.run(
        _as_postgres([str(binary), *argv[1:]]), capture_output=True, text=True, timeout=timeout, check=False, cwd="/"
    )
    if proc.returncode != 0:
        raise LocalError(f"{what} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-800:]}")
    return proc.stdout


@dataclass
class PgServer:
    """A PostgreSQL data directory and the server running on it."""

    data_dir: Path
    port: int
    socket_dir: Path
    log_file: Path
    running: bool = False

    def write_settings(self, settings: dict[str, str]) -> None:
        """Append settings to postgresql.auto.conf (read last, so they win)."""
        lines = [f"{k} = '{v}'" for k, v in settings.items()]
        with (self.data_dir / "postgresql.auto.conf").open("a") as handle:
            handle.write("\n".join(lines) + "\n")

    def start(self, timeout: int = 60) -> None:
        run_pg(["pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", str(timeout), "start"],
               f"starting PostgreSQL on port {self.port} (log: {self.log_file})", timeout=timeout + 10)  # fmt: skip
        self.running = True

    def connect(self) -> psycopg.Connection[Any]:
        return pg_connect(HOST, self.port)

    def wait_writable(self, timeout: float = 60) -> None:
        """Until the server accepts a write: recovery finished and promoted."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                with self.connect() as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    if row is not None and row[0] is False:
                        return
                    last = "still in recovery"
            except CLIENT_ERRORS as error:
                last = str(error)
            time.sleep(0.05)
        raise LocalError(f"PostgreSQL on port {self.port} did not become writable in {timeout}s ({last}); see {self.log_file}")

    def postmaster_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        return int(pid_file.read_text().splitlines()[0])

    def kill(self) -> None:
        """Destroy the primary the hard way: SIGKILL the postmaster and its children."""
        pid = self.postmaster_pid()
        if pid is not None:
            try:
                group = os.getpgid(pid)
                # pg_ctl makes the postmaster a session leader; never signal our own group.
                if group == pid and group != os.getpgrp():
                    os.killpg(group, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Children notice the postmaster's death and exit on their own within a moment.
        self.running = False

    def stop(self) -> None:
        """Stop if running (immediate mode); never raises, so it is safe in finalizers."""
        if self.data_dir.exists() and self.postmaster_pid() is not None:
            try:
                run_pg(["pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "20", "stop"], "stop", timeout=30)
            except (LocalError, subprocess.TimeoutExpired):
                self.kill()
        self.running = False


def init_pg(root: Path, name: str, settings: dict[str, str]) -> PgServer:
    """initdb a fresh cluster under root/name listening on a free 127.0.0.1 port."""
    data_dir, socket_dir = root / name, root / f"{name}-sock"
    socket_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(mode=0o700)
    give_to_postgres(socket_dir)
    give_to_postgres(data_dir)
    run_pg(["initdb", "-D", str(data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], "initdb")
    server = PgServer(data_dir, free_port(), socket_dir, root / f"{name}.log")
    server.write_settings(base_settings(server))
    server.write_settings(settings)
    if os.geteuid() == 0:
        server.log_file.touch()
        shutil.chown(server.log_file, "postgres", "postgres")
    return server


def base_settings(server: PgServer) -> dict[str, str]:
    return {"listen_addresses": HOST, "port": str(server.port), "unix_socket_directories": str(server.socket_dir)}


@dataclass
class RedisServer:
    """A redis-server process with its config file and data directory."""

    data_dir: Path
    port: int
    config: list[str]
    process: subprocess.Popen[bytes] | None = None
    log_file: Path = field(default=Path("/dev/null"))

    def write_config(self) -> Path:
        path = self.data_dir / "redis.conf"
        lines = [f"port {self.port}", f"bind {HOST}", f"dir {self.data_dir}", "daemonize no", "protected-mode yes",
                 f"logfile {self.log_file}", *self.config]  # fmt: skip
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, timeout: float = 30, detach: bool = False) -> None:
        """Start and wait until loaded; detach=True keeps it running after this process exits."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if shutil.which(REDIS_SERVER) is None and not Path(REDIS_SERVER).exists():
            raise LocalError(f"{REDIS_SERVER} not found: install Debian's redis-server (scripts/ensure-debs)")
        config = self.write_config()
        self.process = subprocess.Popen(
            [REDIS_SERVER, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=detach
        )
        self.wait_loaded(timeout)

    def connect(self) -> redis.Redis:
        return redis_connect(HOST, self.port)

    def wait_loaded(self, timeout: float = 30) -> None:
        """Until PING answers and the dataset (AOF/RDB) is fully loaded."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise LocalError(f"redis-server exited with {self.process.returncode}; see {self.log_file}")
            try:
                with self.connect() as conn:
                    if conn.info("persistence").get("loading") == 0:
                        return
                    last = "still loading"
            except CLIENT_ERRORS as error:
                last = str(error)
            time.sleep(0.02)
        raise LocalError(f"Redis on port {self.port} was not ready in {timeout}s ({last}); see {self.log_file}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Never raises: safe in finalizers."""
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.kill()
