#!/usr/bin/env python3
"""Checks that a release reached a cluster and behaves; the deploy workflow's steps call them.

Usage (cluster credentials in the kubeconfig, as in .github/workflows/deploy.yml; set
KUBE_CONTEXT to pick a context other than the current one):
    scripts/release_checks.py wait-argocd --target staging --revision SHA [--timeout 1200]
    scripts/release_checks.py health --target prod            # Applications and Rollouts healthy
    scripts/release_checks.py smoke --target prod --base-url https://api.example.com
    scripts/release_checks.py integration --target staging --base-url URL [--junit FILE]
    scripts/release_checks.py e2e --target staging --base-url URL [--junit FILE]
    scripts/release_checks.py watch --target prod --prometheus URL [--duration 10m] [--interval 30s]
    scripts/release_checks.py abort-rollouts --target prod    # traffic back to the stable pods
    scripts/release_checks.py record --target prod --revision SHA --output docs/deployments.md
    scripts/release_checks.py k6-env --target staging >> "$GITHUB_ENV"   # thresholds for tests/perf/load.js

Services, paths, namespaces and thresholds come from the compiled inventory of the target, the
same values the manifests and alerts were built from. The watch step fails as soon as a
service's error rate or P99 latency crosses its alert threshold (`alerts` in the inventory).
Exit 0 when every check passed, 1 otherwise, with one line per failed check.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops import units  # noqa: E402
from mnops.inventory.model import Service, Target, build_target  # noqa: E402
from mnops.kapitan_inventory import render_inventory  # noqa: E402

ARGOCD_NAMESPACE = "argocd"
HTTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0


def load_target(name: str) -> Target:
    parameters = render_inventory(ROOT / "inventory")
    if name not in parameters:
        raise SystemExit(f"unknown target {name!r}; targets: {', '.join(parameters)}")
    return build_target(parameters[name])


# --- HTTP checks ------------------------------------------------------------------------------


def http_get(url: str) -> tuple[int, float]:
    """Status code and seconds taken; a connection error is status 0."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - our own URLs  # nosec B310
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        status = 0
    return status, time.monotonic() - started


def public(target: Target) -> list[Service]:
    return [s for s in target.services if s.public_path]


def service_url(base_url: str, svc: Service, path: str) -> str:
    return f"{base_url.rstrip('/')}{svc.public_path}{path}"


def expect_status(name: str, url: str, accepted: Iterable[int], max_seconds: float | None = None) -> Result:
    status, seconds = http_get(url)
    ok = status in set(accepted) and (max_seconds is None or seconds <= max_seconds)
    detail = f"GET {url} -> {status or 'no connection'} in {seconds * 1000:.0f} ms"
    if max_seconds is not None and seconds > max_seconds:
        detail += f" (slower than {max_seconds * 1000:.0f} ms)"
    return Result(name, ok, detail, seconds)


def smoke(target: Target, base_url: str) -> list[Result]:
    """Every public service answers its readiness path through the gateway."""
    return [
        expect_status(f"smoke/{s.name}/ready", service_url(base_url, s, s.probes.readiness_path), [200]) for s in public(target)
    ]


def integration(target: Target, base_url: str) -> list[Result]:
    """Each service and every service it depends on are ready (readiness covers Redis/PostgreSQL)."""
    results = []
    by_name = {s.name: s for s in target.services}
    for svc in public(target):
        results.append(
            expect_status(f"integration/{svc.name}/ready", service_url(base_url, svc, svc.probes.readiness_path), [200])
        )
        for other in svc.dependencies.services:
            dep = by_name[other]
            if dep.public_path:
                url = service_url(base_url, dep, dep.probes.readiness_path)
                results.append(expect_status(f"integration/{svc.name}/depends-on/{other}", url, [200]))
    return results


def e2e(target: Target, base_url: str) -> list[Result]:
    """Through the gateway, as a client sees it: each service answers within its P99 objective,
    internal metrics are not exposed, and an unknown path is refused by the gateway."""
    results = []
    for svc in public(target):
        budget = svc.slo.latency_p99_ms / 1000
        results.append(
            expect_status(f"e2e/{svc.name}/latency", service_url(base_url, svc, svc.probes.readiness_path), [200], budget)
        )
        results.append(
            expect_status(f"e2e/{svc.name}/metrics-not-public", service_url(base_url, svc, svc.metrics_path), [403, 404])
        )
    results.append(expect_status("e2e/gateway/unknown-path", f"{base_url.rstrip('/')}/no-such-route-mnops", [404]))
    return results


# --- Prometheus watch -------------------------------------------------------------------------


def prometheus_query(address: str, query: str) -> dict[str, float]:
    """{service: value} of an instant query (NaN samples are left out)."""
    url = f"{address.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - our own Prometheus  # nosec B310
        body = json.load(response)
    values: dict[str, float] = {}
    for sample in body["data"]["result"]:
        value = float(sample["value"][1])
        if not math.isnan(value):
            values[sample["metric"].get("service", "")] = value
    return values


def breaches(target: Target, address: str) -> list[Result]:
    """One result per service and signal, compared with the service's alert thresholds."""
    cluster = target.cluster.name
    errors = prometheus_query(address, f'max by (service) (service:http_errors:ratio_rate5m{{cluster="{cluster}"}})')
    p99 = prometheus_query(address, f'max by (service) (service:http_request_duration_seconds:p99_5m{{cluster="{cluster}"}})')
    results = []
    for svc in target.services:
        error_percent = errors.get(svc.name, 0.0) * 100
        limit = svc.alerts.error_rate_percent
        results.append(
            Result(f"watch/{svc.name}/error-rate", error_percent <= limit, f"{error_percent:.2f}% (alert above {limit:g}%)")
        )
        latency, limit = p99.get(svc.name, 0.0), svc.alerts.latency_p99_seconds
        results.append(Result(f"watch/{svc.name}/p99", latency <= limit, f"{latency:.3f}s (alert above {limit:g}s)"))
    return results


def watch(
    target: Target, address: str, duration: float, interval: float, sleep: Callable[[float], None] = time.sleep
) -> list[Result]:
    """Poll until `duration` has passed; stop at the first breach (that is the rollback signal)."""
    deadline = time.monotonic() + duration
    while True:
        results = breaches(target, address)
        if not all(r.ok for r in results) or time.monotonic() >= deadline:
            return results
        sleep(interval)


# --- kubectl ----------------------------------------------------------------------------------


def kubectl(*args: str) -> list[str]:
    """kubectl with the context in $KUBE_CONTEXT if set (deploy.yml checks prod and prod-dr)."""
    context = os.environ.get("KUBE_CONTEXT")
    return ["kubectl", *(["--context", context] if context else []), *args]


def kubectl_json(*args: str) -> dict[str, Any]:
    output = subprocess.run(kubectl(*args, "-o", "json"), check=True, capture_output=True, text=True).stdout
    data: dict[str, Any] = json.loads(output)
    return data


def application_results(revision: str | None) -> list[Result]:
    results = []
    for app in kubectl_json("get", "applications.argoproj.io", "-n", ARGOCD_NAMESPACE)["items"]:
        name, status = app["metadata"]["name"], app.get("status", {})
        sync, health = status.get("sync", {}), status.get("health", {}).get("status")
        revisions = [sync.get("revision"), *sync.get("revisions", [])]
        ok = sync.get("status") == "Synced" and health == "Healthy" and (revision is None or revision in revisions)
        results.append(Result(f"argocd/{name}", ok, f"sync {sync.get('status')} at {revisions}, health {health}"))
    if not results:
        results.append(Result("argocd", False, f"no Applications in namespace {ARGOCD_NAMESPACE}"))
    return results


def wait_argocd(revision: str, timeout: float, interval: float = 15, sleep: Callable[[float], None] = time.sleep) -> list[Result]:
    deadline = time.monotonic() + timeout
    while True:
        results = application_results(revision)
        if all(r.ok for r in results) or time.monotonic() >= deadline:
            return results
        sleep(interval)


def rollout_results(target: Target) -> list[Result]:
    namespace = target.namespaces["apps"]
    results = []
    for rollout in kubectl_json("get", "rollouts.argoproj.io", "-n", namespace)["items"]:
        phase = rollout.get("status", {}).get("phase")
        results.append(Result(f"rollout/{rollout['metadata']['name']}", phase == "Healthy", f"phase {phase}"))
    return results


def abort_rollouts(target: Target) -> list[Result]:
    """What `kubectl argo rollouts abort` does: set status.abort, so traffic returns to stable."""
    namespace = target.namespaces["apps"]
    results = []
    for rollout in kubectl_json("get", "rollouts.argoproj.io", "-n", namespace)["items"]:
        name = rollout["metadata"]["name"]
        patch = kubectl("patch", "rollout", name, "-n", namespace, "--type", "merge", "--subresource", "status")
        done = subprocess.run([*patch, "-p", '{"status":{"abort":true}}'], check=False, capture_output=True, text=True)
        results.append(Result(f"abort/{name}", done.returncode == 0, (done.stdout + done.stderr).strip()))
    return results


# --- record and report ------------------------------------------------------------------------

RECORD_HEADER = "| revision | committed | target | images |\n| --- | --- | --- | --- |\n"


def record(target: Target, revision: str, output: Path) -> list[Result]:
    """Add a row to the deployment record (newest first); the commit date keeps it reproducible."""
    committed = subprocess.run(["git", "show", "-s", "--format=%cI", revision], check=True, capture_output=True, text=True)
    images = "<br>".join(f"{s.name} `{s.image.reference}`" for s in target.services)
    row = f"| {revision[:12]} | {committed.stdout.strip()} | {target.cluster.name} | {images} |\n"
    intro = "# Deployments\n\nOne row per verified production release, written by the deploy workflow (newest first).\n\n"
    existing = output.read_text() if output.exists() else intro + RECORD_HEADER
    head, _, rows = existing.partition(RECORD_HEADER)
    if row not in rows:
        output.write_text(head + RECORD_HEADER + row + rows)
    return [Result(f"record/{target.cluster.name}", True, f"{output}: {revision[:12]}")]


def k6_env(target: Target) -> list[str]:
    """Environment for tests/perf/load.js: the strictest latency objectives and the paths to load."""
    services = public(target)
    return [
        f"P95_MS={min(s.slo.latency_p95_ms for s in target.services)}",
        f"P99_MS={min(s.slo.latency_p99_ms for s in target.services)}",
        "K6_PATHS=" + ",".join(f"{s.public_path}{s.probes.readiness_path}" for s in services),
    ]


def write_junit(results: list[Result], path: Path, suite: str) -> None:
    root = ET.Element("testsuite", name=suite, tests=str(len(results)), failures=str(sum(not r.ok for r in results)))
    for result in results:
        case = ET.SubElement(root, "testcase", classname=suite, name=result.name, time=f"{result.seconds:.3f}")
        if not result.ok:
            ET.SubElement(case, "failure", message=result.detail)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="unicode", xml_declaration=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "check", choices=["wait-argocd", "health", "smoke", "integration", "e2e", "watch", "abort-rollouts", "record", "k6-env"]
    )
    parser.add_argument("--target", required=True)
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL", ""))
    parser.add_argument("--revision")
    parser.add_argument("--timeout", type=float, default=1200, help="wait-argocd: seconds")
    parser.add_argument("--prometheus", help="watch: Prometheus URL")
    parser.add_argument("--duration", default="10m", help="watch: how long to watch")
    parser.add_argument("--interval", default="30s", help="watch: time between queries")
    parser.add_argument("--junit", type=Path, help="also write the results as a JUnit XML report")
    parser.add_argument("--output", type=Path, help="record: Markdown file")
    args = parser.parse_args(argv)
    target = load_target(args.target)
    if args.check == "k6-env":
        print("\n".join(k6_env(target)))
        return 0
    needs_url = args.check in ("smoke", "integration", "e2e")
    if needs_url and not args.base_url:
        parser.error(f"{args.check} needs --base-url")
    if args.check in ("wait-argocd", "record") and not args.revision:
        parser.error(f"{args.check} needs --revision")
    checks: dict[str, Callable[[], list[Result]]] = {
        "wait-argocd": lambda: wait_argocd(args.revision, args.timeout),
        "health": lambda: application_results(None) + rollout_results(target),
        "smoke": lambda: smoke(target, args.base_url),
        "integration": lambda: integration(target, args.base_url),
        "e2e": lambda: e2e(target, args.base_url),
        "watch": lambda: watch(
            target, args.prometheus, units.duration_seconds(args.duration), units.duration_seconds(args.interval)
        ),
        "abort-rollouts": lambda: abort_rollouts(target),
        "record": lambda: record(target, args.revision, args.output or ROOT / "docs" / "deployments.md"),
    }
    if args.check == "watch" and not args.prometheus:
        parser.error("watch needs --prometheus")
    results = checks[args.check]()
    if args.junit:
        write_junit(results, args.junit, args.check)
    for result in results:
        print(f"{'ok  ' if result.ok else 'FAIL'} {result.name}: {result.detail}")
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
