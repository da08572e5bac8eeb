#!/usr/bin/env python3
"""Start real Prometheus and Alertmanager locally with one target's compiled rules and routes.

Usage (normally through `make monitoring-preview TARGET=dev`):
    .venv/bin/python scripts/monitoring_preview.py --target dev                  # until Ctrl-C
    .venv/bin/python scripts/monitoring_preview.py --target dev --duration 120   # stop after 2 minutes
    .venv/bin/python scripts/monitoring_preview.py --target dev --fail memory-service --for-override 10s

Everything listens on 127.0.0.1 (free ports, temporary data folders). Without --scrape, a tiny
built-in endpoint serves contract metrics for every service of the target (healthy unless
--fail names a service, which then answers 50% of requests with 5xx). --for-override replaces
every alert's `for` so a demo alert fires within seconds; it changes only the preview's copy.
Needs the Debian packages prometheus and prometheus-alertmanager (scripts/ensure-debs installs them).
"""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops import units  # noqa: E402
from mnops.inventory import load_target  # noqa: E402
from mnops.kapitan_inventory import render_inventory  # noqa: E402
from mnops.observability.fake_service import FakeServices  # noqa: E402
from mnops.observability.preview import ALERTMANAGER, PROMETHEUS, Preview, ServerFailed, rules_target_problem  # noqa: E402

SERVERS = (PROMETHEUS, ALERTMANAGER)


class Refused(Exception):
    """A user error: printed as one line, never as a traceback."""


def did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_target(root: Path, name: str) -> Path:
    """compiled/<name>, refusing a name the inventory does not have or a target without rules."""
    problem = rules_target_problem(root, name, sorted(p.stem for p in (root / "inventory" / "targets").glob("*.yml")))
    if problem:
        raise Refused(problem)
    return root / "compiled" / name


def check_duration(option: str, value: str | None, *, zero: bool) -> None:
    if value is None:
        return
    try:
        seconds = units.duration_seconds(value)
    except ValueError as error:
        raise Refused(f"{option}: {error}") from None
    if seconds == 0 and not zero:
        raise Refused(f"{option}: expected more than zero, found {value!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="target name (folder under compiled/)")
    parser.add_argument("--duration", type=float, default=0, help="seconds to run; 0 = until Ctrl-C")
    parser.add_argument("--scrape", help="host:port serving /metrics?service=<name>; default: built-in endpoint")
    parser.add_argument("--fail", action="append", default=[], help="service the built-in endpoint makes fail (50%% 5xx)")
    parser.add_argument("--for-override", help="replace every alert's `for` in the preview's copy (e.g. 10s)")
    parser.add_argument("--interval", default="5s", help="scrape and evaluation interval")
    args = parser.parse_args(argv)

    try:
        return run_preview(args)
    except Refused as refusal:
        print(f"monitoring-preview: {refusal}", file=sys.stderr)
        return 2
    except FileNotFoundError as missing:
        if missing.filename not in SERVERS or os.environ.get("MNOPS_DEBUG") == "1":
            raise
        print(f"monitoring-preview: {missing.filename} not found: install Debian's prometheus and "
              "prometheus-alertmanager (`make monitoring-preview` does)", file=sys.stderr)  # fmt: skip
        return 1
    except ServerFailed as failed:
        if os.environ.get("MNOPS_DEBUG") == "1":
            raise
        print(f"monitoring-preview: {failed}", file=sys.stderr)
        return 1


def run_preview(args: argparse.Namespace) -> int:
    target_dir = check_target(ROOT, args.target)
    check_duration("--for-override", args.for_override, zero=True)
    check_duration("--interval", args.interval, zero=False)
    target = load_target(args.target, render_inventory(ROOT / "inventory")[args.target])
    services = [s.name for s in target.services]
    for name in args.fail:
        if name not in services:
            raise Refused(f"--fail: unknown service {name!r}{did_you_mean(name, services)}; "
                          f"services of {args.target}: {', '.join(services)}")  # fmt: skip

    stop = {"now": False}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with ExitStack() as stack:
        scrape = args.scrape
        if not scrape:
            fake = stack.enter_context(FakeServices(services))
            for name in args.fail:
                fake.set_error_share(name, 0.5)
            scrape = fake.address
        labels = {"cluster": target.cluster.name, "environment": target.cluster.environment}
        preview = stack.enter_context(
            Preview(
                target_dir,
                target.namespaces["apps"],
                services,
                scrape,
                external_labels=labels,
                interval=args.interval,
                for_override=args.for_override,
            )
        )
        print(f"Prometheus   {preview.prometheus_url}  (rules from compiled/{args.target}/rules)")
        print(f"Alertmanager {preview.alertmanager_url}  (config from compiled/{args.target}/alertmanager)")
        print(f"metrics      http://{scrape}/metrics    logs in {preview.log_dir} (removed on exit)")
        print("Ctrl-C stops both." if not args.duration else f"Stopping after {args.duration:.0f}s.")
        deadline = time.monotonic() + args.duration if args.duration else None
        seen: set[tuple[str, str]] = set()
        while not stop["now"] and (deadline is None or time.monotonic() < deadline):
            time.sleep(1)
            for alert in preview.alerts():
                key = (alert["labels"]["alertname"], alert["labels"].get("service", ""))
                if key not in seen:
                    seen.add(key)
                    receivers = ", ".join(r["name"] for r in alert["receivers"])
                    print(f"alert {key[0]} ({key[1]}, {alert['labels'].get('priority')}) -> {receivers}")
    print("stopped Prometheus and Alertmanager")
    return 0


if __name__ == "__main__":
    sys.exit(main())
