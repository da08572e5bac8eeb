"""The PromQL that decides whether a new version may go on: error rate and P99 latency.

Both queries look only at the new version's pods (the pod name carries the ReplicaSet's
pod-template-hash, which Argo Rollouts passes in as an argument) and fail a measurement
exactly where the service's alert would fire: `error_rate_percent` and `latency_p99_seconds`
from the inventory, the same values the alert rules use. Metric names come from the metric
contract (mnops.observability.contract); a test checks every name used here is listed there.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnops.inventory.model import Service
from mnops.observability.contract import metric_names

HASH_ARG = "pod-template-hash"
REQUESTS = "http_requests_total"
LATENCY_BUCKETS = "http_request_duration_seconds_bucket"


@dataclass(frozen=True)
class Check:
    """One analysis metric: a query whose single value fails the measurement above `threshold`."""

    name: str
    query: str
    threshold: float

    @property
    def failure_condition(self) -> str:
        # `result[0]` is the query's one sample; `or vector(0)` in the query makes sure there is one
        # even when the new pods have had no traffic yet (no traffic is not a failure).
        return f"result[0] > {number(self.threshold)}"


def number(value: float) -> str:
    """5 -> '5', 0.5 -> '0.5', 1.0 -> '1': the inventory value as a person wrote it."""
    return f"{value:g}"


def selector(svc: Service, extra: str = "") -> str:
    """The new version's series; one label per line keeps the compiled YAML readable."""
    pods = f"{svc.name}-{{{{args.{HASH_ARG}}}}}-.*"
    labels = [f'service="{svc.name}"', f'namespace="{svc.namespace}"', f'pod=~"{pods}"']
    if extra:
        labels.append(extra)
    return "{\n  " + ",\n  ".join(labels) + "\n}"


def error_rate_check(svc: Service, window_seconds: int) -> Check:
    window = f"{window_seconds}s"
    server_errors = selector(svc, 'code=~"5.."')
    errors = f"sum(rate({REQUESTS}{server_errors}[{window}]))"
    total = f"sum(rate({REQUESTS}{selector(svc)}[{window}]))"
    query = f"(\n100 * ({errors} or vector(0))\n/\n{total}\n) or vector(0)\n"
    return Check("error-rate-percent", query, svc.alerts.error_rate_percent)


def latency_p99_check(svc: Service, window_seconds: int) -> Check:
    window = f"{window_seconds}s"
    query = f"histogram_quantile(0.99, sum by (le) (rate({LATENCY_BUCKETS}{selector(svc)}[{window}])))\nor vector(0)\n"
    return Check("latency-p99-seconds", query, svc.alerts.latency_p99_seconds)


def release_checks(svc: Service, window_seconds: int) -> tuple[Check, ...]:
    checks = (error_rate_check(svc, window_seconds), latency_p99_check(svc, window_seconds))
    unknown = {REQUESTS, LATENCY_BUCKETS} - metric_names()
    if unknown:  # the contract is the one list of names; fail loudly if it moved
        raise ValueError(f"analysis queries use metrics missing from the contract: {sorted(unknown)}")
    return checks
