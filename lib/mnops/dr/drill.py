"""The restore drill: real PostgreSQL 15 and Redis 7 servers, a continuous writer, a destroyed
primary, restores through scripts/dr/, and the measured RPO and RTO.

PostgreSQL (settings of the compiled Cluster: archive_timeout, wal_*):
  1. initdb a primary with WAL archiving to a local "object store" folder; base backup
     (scripts/dr/pg_backup.py --local); a writer inserts numbered rows every few milliseconds
     and records when each insert was acknowledged;
  2. once a WAL segment holding writes has been archived by archive_timeout, pick a recovery
     target time between two acknowledged inserts;
  3. keep writing, then destroy the primary (SIGKILL, data directory deleted);
  4. PITR restore to the target (scripts/dr/pg_restore.py --local --time): every row acknowledged
     before the target must be there and none after it;
  5. restore to the end of the archive (--latest): RPO = seconds of acknowledged writes missing.
Redis (redis.conf lines of the compiled ConfigMap: appendonly, appendfsync everysec, save):
  1. a writer SETs numbered keys; an RDB+AOF backup is taken (scripts/dr/redis_backup.py --local);
  2. the primary is killed (SIGKILL); restore from its surviving volume (AOF) and, separately,
     from the backup copy (volume lost) with scripts/dr/redis_restore.py --local.
RTO = from starting the restore script to the restored server accepting queries (PostgreSQL:
accepting writes after promotion; Redis: data set loaded).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from mnops.data import postgres_seconds
from mnops.dr.clients import CLIENT_ERRORS, pg_connect, redis_connect
from mnops.dr.local import (
    PgServer,
    RedisServer,
    compiled_pg_parameters,
    compiled_redis_config,
    durability_parameters,
    free_port,
    give_to_postgres,
    init_pg,
)

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = ROOT / "scripts" / "dr"
BEGIN = "<!-- BEGIN GENERATED: dr-drill (make dr-drill writes this block; do not edit) -->"
END = "<!-- END GENERATED: dr-drill -->"
PG_RPO_GOAL = 60.0
REDIS_RPO_GOAL = 1.0

Log = Callable[[str], None]


class DrillFailure(RuntimeError):
    """The drill could not run (a server or script failed); the message says where."""


@dataclass
class Measurement:
    store: str
    scenario: str
    settings: str
    acknowledged: int
    lost: int
    rpo_seconds: float
    rto_seconds: float
    rpo_goal_seconds: float
    checks: list[str] = field(default_factory=list)  # failed checks; empty = passed

    @property
    def ok(self) -> bool:
        return not self.checks and self.rpo_seconds <= self.rpo_goal_seconds


@dataclass
class Write:
    number: int
    started: float
    acknowledged: float


class Writer(threading.Thread):
    """Numbered writes, one at a time, each recorded once the server acknowledged it."""

    def __init__(self, write: Callable[[int], object], interval: float) -> None:
        super().__init__(daemon=True)
        self.write = write
        self.interval = interval
        self.writes: list[Write] = []
        self.stopping = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        number = 0
        while not self.stopping.is_set():
            number += 1
            started = time.time()
            try:
                self.write(number)
            except CLIENT_ERRORS as error:  # the server was destroyed under us: expected
                self.error = str(error)
                return
            self.writes.append(Write(number, started, time.time()))
            time.sleep(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def run_script(name: str, *args: str) -> dict[str, object]:
    """Run scripts/dr/<name> and return the JSON object it prints last (its measurements)."""
    proc = subprocess.run([sys.executable, str(SCRIPTS / name), *args], capture_output=True, text=True, check=False,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT / "lib")})  # fmt: skip
    if proc.returncode != 0:
        raise DrillFailure(f"{name} {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()[-600:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result: dict[str, object] = json.loads(lines[-1]) if lines else {}
    return result


def lost_writes(acknowledged: list[Write], present: set[int]) -> tuple[int, float]:
    """(number of acknowledged writes missing, seconds between the last kept and the last acknowledged write)."""
    missing = [w for w in acknowledged if w.number not in present]
    if not missing or not acknowledged:
        return 0, 0.0
    kept = [w for w in acknowledged if w.number in present]
    since = kept[-1].acknowledged if kept else acknowledged[0].started
    return len(missing), max(0.0, acknowledged[-1].acknowledged - since)


def pitr_problems(present: set[int], boundary: int) -> list[str]:
    """A restore to a time between write `boundary` and `boundary + 1` must hold exactly 1..boundary."""
    problems = []
    absent = sorted(set(range(1, boundary + 1)) - present)
    if absent:
        problems.append(f"{len(absent)} row(s) committed before the target are missing (first: {absent[0]})")
    after = sorted(n for n in present if n > boundary)
    if after:
        problems.append(f"{len(after)} row(s) committed after the target are present (first: {after[0]})")
    return problems


def _show(conn: psycopg.Connection[Any], setting: str) -> str:
    """A server setting as PostgreSQL reports it (SHOW takes no bind parameters; current_setting does)."""
    row = conn.execute("SELECT current_setting(%s)", (setting,)).fetchone()
    return str(row[0]) if row else ""


def _pg_rows(port: int) -> set[int]:
    with pg_connect("127.0.0.1", port) as conn:
        return {int(r[0]) for r in conn.execute("SELECT id FROM drill_writes").fetchall()}


def _wait_for_archive(primary: PgServer, after: float, timeout: float) -> float:
    """Until a WAL segment switched after `after` has been archived; returns its archive time."""
    deadline = time.monotonic() + timeout
    with primary.connect() as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT extract(epoch FROM last_archived_time) FROM pg_stat_archiver").fetchone()
            if row is not None and row[0] is not None and float(row[0]) > after:
                return float(row[0])
            time.sleep(0.2)
    raise DrillFailure(f"no WAL segment was archived within {timeout:.0f}s: is archive_timeout effective?")


@dataclass
class PgRun:
    """What the PostgreSQL workload left behind for the restores to check against."""

    acknowledged: list[Write]
    boundary: int  # last row committed before the PITR target
    target_time: str


def _pg_workload(primary: PgServer, base: Path, timeout: int, log: Log) -> PgRun:
    """Base backup, continuous inserts, a PITR target inside archived WAL, then the primary destroyed."""
    with primary.connect() as conn:
        conn.execute(
            "CREATE TABLE drill_writes (id bigint PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
    run_script("pg_backup.py", "--local", "--port", str(primary.port), "--dest", str(base))
    log("PostgreSQL: base backup taken; writer started")
    session = primary.connect()
    writer = Writer(lambda n: session.execute("INSERT INTO drill_writes (id) VALUES (%s)", (n,)), interval=0.01)
    started = time.time()
    writer.start()
    try:
        archived = _wait_for_archive(primary, started + 1, timeout + 20)
        # The target lies between two acknowledged inserts whose WAL was archived (a record after
        # the target must be in the archive, or recovery stops short of it).
        boundary = max(w.number for w in writer.writes if w.acknowledged < archived - 2)
        acked, nxt = writer.writes[boundary - 1], writer.writes[boundary]
        target_time = datetime.fromtimestamp((acked.acknowledged + nxt.started) / 2, UTC).isoformat(timespec="microseconds")
        log(f"PostgreSQL: writes archived at +{archived - started:.1f}s; PITR target {target_time} (after row {boundary})")
        time.sleep(max(1.0, timeout / 2))  # the crash lands mid-way through an archive_timeout cycle
        primary.kill()
        crashed = time.time()
    finally:
        writer.stop()
    shutil.rmtree(primary.data_dir)
    acknowledged = [w for w in writer.writes if w.acknowledged <= crashed]
    log(f"PostgreSQL: primary destroyed after {len(acknowledged)} acknowledged writes (SIGKILL, data directory deleted)")
    return PgRun(acknowledged, boundary, target_time)


def _pg_restore(work: Path, args: list[str], restored: list[PgServer]) -> tuple[PgServer, float]:
    data_dir = work / f"pg-restore-{len(restored)}"
    t0 = time.monotonic()
    out = run_script("pg_restore.py", "--local", "--data-dir", str(data_dir), *args)
    rto = time.monotonic() - t0
    server = PgServer(data_dir, int(str(out["port"])), work / f"{data_dir.name}-sock", Path(str(out["log"])), True)
    restored.append(server)
    return server, rto


def postgres_drill(compiled: Path, target: str, work: Path, log: Log) -> list[Measurement]:
    settings = durability_parameters(compiled_pg_parameters(compiled, target))
    archive, base = work / "pg-archive", work / "pg-base"
    archive.mkdir()
    give_to_postgres(archive)
    shown = ", ".join(f"{k}={v}" for k, v in settings.items())
    log(f"PostgreSQL: primary with {shown} (from compiled/{target})")
    archiving = {"archive_mode": "on", "archive_command": f"test ! -f {archive}/%f && cp %p {archive}/%f"}
    primary = init_pg(work, "pg-primary", {**settings, **archiving})
    restored: list[PgServer] = []
    try:
        primary.start()
        with primary.connect() as conn:
            log(f"PostgreSQL: running with { ({k: _show(conn, k) for k in settings}) }")
        run = _pg_workload(primary, base, postgres_seconds(settings["archive_timeout"]), log)
        common = ["--target", target, "--compiled", str(compiled), "--base-backup", str(base), "--wal-archive", str(archive)]
        results = []
        server, rto = _pg_restore(work, [*common, "--time", run.target_time], restored)
        present = _pg_rows(server.port)
        server.stop()
        kept = [w for w in run.acknowledged if w.number <= run.boundary]
        checks = pitr_problems(present, run.boundary)
        results.append(Measurement("PostgreSQL 15", "PITR to a chosen time", shown, len(kept), 0, 0.0, round(rto, 2),
                                   PG_RPO_GOAL, checks))  # fmt: skip
        log(f"PostgreSQL: PITR: {len(present)} rows, RTO {rto:.2f}s, checks {checks or 'ok'}")
        server, rto = _pg_restore(work, [*common, "--latest"], restored)
        present = _pg_rows(server.port)
        server.stop()
        lost, rpo = lost_writes(run.acknowledged, present)
        checks = [] if present == set(range(1, max(present, default=0) + 1)) else ["recovered rows are not contiguous"]
        results.append(Measurement("PostgreSQL 15", "primary destroyed, restore to latest archived WAL", shown,
                                   len(run.acknowledged), lost, round(rpo, 2), round(rto, 2), PG_RPO_GOAL, checks))  # fmt: skip
        log(f"PostgreSQL: latest: lost {lost}, RPO {rpo:.2f}s, RTO {rto:.2f}s, checks {checks or 'ok'}")
        return results
    finally:
        primary.stop()
        for server in restored:
            server.stop()


def _redis_present(port: int, writes: list[Write]) -> set[int]:
    present: set[int] = set()
    with redis_connect("127.0.0.1", port) as conn:
        for start in range(0, len(writes), 500):
            chunk = writes[start : start + 500]
            values = conn.mget([f"drill:{w.number}" for w in chunk])
            if not isinstance(values, list):
                raise DrillFailure(f"MGET answered {values!r}")
            present.update(w.number for w, v in zip(chunk, values, strict=True) if v is not None)
    return present


def redis_drill(compiled: Path, target: str, work: Path, log: Log) -> list[Measurement]:
    config = compiled_redis_config(compiled, target)
    shown = ", ".join(line for line in config if line.startswith(("appendonly", "appendfsync", "save")))
    log(f"Redis: primary with {shown} (from compiled/{target})")
    primary = RedisServer(work / "redis-primary", free_port(), config, log_file=work / "redis-primary.log")
    pids: list[int] = []
    writer: Writer | None = None
    try:
        primary.start()
        session = primary.connect()
        writer = Writer(lambda n: _expect_ok(session.set(f"drill:{n}", str(time.time()))), interval=0.002)
        writer.start()
        time.sleep(2)
        backup = work / "redis-backup"
        # The copy's snapshot (BGSAVE) is taken after this instant, so every write acknowledged
        # before it must survive; timing the end of the script instead would count its start-up
        # and file copying, which a loaded machine stretches past the goal's one-second margin.
        backed_up = time.time()
        run_script("redis_backup.py", "--local", "--port", str(primary.port), "--dest", str(backup))
        log("Redis: backup copy taken (BGSAVE + AOF); writing on")
        time.sleep(3)
        primary.kill()
        crashed = time.time()
        writer.stop()
        acknowledged = [w for w in writer.writes if w.acknowledged <= crashed]
        log(f"Redis: primary killed (SIGKILL) after {len(acknowledged)} acknowledged writes")
        results = []
        scenarios = (
            ("AOF restore, primary's volume kept", primary.data_dir, REDIS_RPO_GOAL),
            # Without the volume, the copy interval bounds the loss; the drill copies once, mid-run.
            ("backup copy restore, volume lost", backup, crashed - backed_up + 1),
        )
        for index, (scenario, source, goal) in enumerate(scenarios):
            t0 = time.monotonic()
            out = run_script("redis_restore.py", "--local", "--target", target, "--compiled", str(compiled), "--source",
                             str(source), "--data-dir", str(work / f"redis-restore-{index}"))  # fmt: skip
            rto = time.monotonic() - t0
            pids.append(int(str(out["pid"])))
            present = _redis_present(int(str(out["port"])), acknowledged)
            lost, rpo = lost_writes(acknowledged, present)
            top = max(present, default=0)
            checks = [] if present == set(range(1, top + 1)) else ["restored keys are not a prefix of the writes"]
            results.append(Measurement("Redis 7", scenario, shown, len(acknowledged), lost, round(rpo, 2), round(rto, 2),
                                       round(goal, 2), checks))  # fmt: skip
            log(f"Redis: {scenario}: lost {lost}, RPO {rpo:.2f}s, RTO {rto:.2f}s, checks {checks or 'ok'}")
            _kill(pids[-1])
        return results
    finally:
        if writer is not None:
            writer.stop()
        primary.stop()
        for pid in pids:
            _kill(pid)


def _expect_ok(reply: object) -> None:
    if reply is not True:
        raise DrillFailure(f"Redis answered SET with {reply!r}")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)


def run_drill(compiled: Path, target: str = "prod", log: Log = print, keep: bool = False) -> list[Measurement]:
    """Both drills in a fresh temporary folder (deleted afterwards unless keep)."""
    # The PID in the name lets a caller find exactly its own servers (tests run drills in parallel).
    work = Path(tempfile.mkdtemp(prefix=f"mnops-dr-drill-{os.getpid()}-"))
    os.chmod(work, 0o755)  # noqa: S103 - the postgres user must reach its own folders inside
    try:
        return postgres_drill(compiled, target, work, log) + redis_drill(compiled, target, work, log)
    finally:
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def render_table(results: list[Measurement], target: str) -> str:
    lines = [
        f"Last drill: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, settings from `compiled/{target}`, "
        "PostgreSQL 15 and Redis 7 from Debian on 127.0.0.1 (`make dr-drill`).",
        "",
        "| Store | Scenario | Settings | Acked writes | Lost | RPO measured | RPO goal | RTO measured | Result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        result = "pass" if m.ok else "FAIL: " + "; ".join(m.checks or [f"RPO above {m.rpo_goal_seconds}s"])
        lines.append(f"| {m.store} | {m.scenario} | {m.settings} | {m.acknowledged} | {m.lost} | {m.rpo_seconds:.2f} s | "
                     f"≤ {m.rpo_goal_seconds:g} s | {m.rto_seconds:.2f} s | {result} |")  # fmt: skip
    return "\n".join(lines)


def write_block(doc: Path, table: str) -> None:
    """Replace the generated block in doc (which must contain the markers)."""
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        raise DrillFailure(f"{doc} has no generated drill block ({BEGIN} ... {END})")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
