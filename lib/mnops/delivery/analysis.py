"""The PromQL that decides whether a new version may go on: error rate and P99 latency.

Both queries look only at the new version's pods. Every service pod is scraped once by a
PodMonitor that copies the pod's `rollouts-pod-template-hash` label onto its series (Argo
Rollouts labels each ReplicaSet's pods with it); the Rollout passes the new ReplicaSet's hash as
the `pod-template-hash` argument (`podTemplateHashValue: Latest`). A measurement fails exactly
where the service's alert fires: `error_rate_percent` and `latency_p99_seconds` from the
inventory, the same values the alert rules use.

No data is never a pass. The queries have no `or vector(0)`: when the new pods are not scraped,
or had no requests in the window, Prometheus returns no sample (or NaN), so neither condition
holds and Argo Rollouts records the measurement as Inconclusive, which pauses the rollout for a
person (mnops.delivery.conditions evaluates the conditions as Argo Rollouts does; tests run the
compiled queries on a real Prometheus). Metric names come from the metric contract
(mnops.observability.contract).
"""

from __future__ import annotations

from dataclasses import dataclass

from mnops.inventory.model import Service
from mnops.k8s.monitoring import prometheus_label_name
from mnops.observability.contract import metric_names

HASH_ARG = "pod-template-hash"
# The pod label Argo Rollouts puts on each ReplicaSet's pods; the service PodMonitors keep it.
ROLLOUTS_HASH_LABEL = "rollouts-pod-template-hash"
POD_HASH_LABELS = (ROLLOUTS_HASH_LABEL,)
REQUESTS = "http_requests_total"
LATENCY_BUCKETS = "http_request_duration_seconds_bucket"


@dataclass(frozen=True)
class Check:
    """One analysis metric: a query whose single value passes at or below `threshold`, fails above."""

    name: str
    query: str
    threshold: float

    @property
    def success_condition(self) -> str:
        # `len(result) == 1` first: expr-lang stops at a false `&&`, so an empty result (canary not
        # scraped) never reaches `result[0]`, and the measurement is Inconclusive instead of Error.
        return f"len(result) == 1 && result[0] <= {number(self.threshold)}"

    @property
    def failure_condition(self) -> str:
        return f"len(result) == 1 && result[0] > {number(self.threshold)}"


def number(value: float) -> str:
    """5 -> '5', 0.5 -> '0.5', 1.0 -> '1': the inventory value as a person wrote it."""
    return f"{value:g}"


def selector(svc: Service, extra: str = "") -> str:
    """The new version's series; one label per line keeps the compiled YAML readable."""
    labels = [
        f'service="{svc.name}"',
        f'namespace="{svc.namespace}"',
        f'{prometheus_label_name(ROLLOUTS_HASH_LABEL)}="{{{{args.{HASH_ARG}}}}}"',
    ]
    if extra:
        labels.append(extra)
    return "{\n  " + ",\n  ".join(labels) + "\n}"


def error_rate_check(svc: Service, window_seconds: int) -> Check:
    window = f"{window_seconds}s"
    server_errors = selector(svc, 'code=~"5.."')
    errors = f"sum(rate({REQUESTS}{server_errors}[{window}]))"
    total = f"sum(rate({REQUESTS}{selector(svc)}[{window}]))"
    # No 5xx series yet is 0% errors, but only when the new pods have traffic: `0 * total` is empty
    # exactly when `total` is, so a missing canary still gives an empty result.
    query = f"100 * (\n{errors}\nor\n0 * {total}\n)\n/\n{total}\n"
    return Check("error-rate-percent", query, svc.alerts.error_rate_percent)


def latency_p99_check(svc: Service, window_seconds: int) -> Check:
    window = f"{window_seconds}s"
    query = f"histogram_quantile(0.99, sum by (le) (rate({LATENCY_BUCKETS}{selector(svc)}[{window}])))\n"
    return Check("latency-p99-seconds", query, svc.alerts.latency_p99_seconds)


def release_checks(svc: Service, window_seconds: int) -> tuple[Check, ...]:
    checks = (error_rate_check(svc, window_seconds), latency_p99_check(svc, window_seconds))
    unknown = {REQUESTS, LATENCY_BUCKETS} - metric_names()
    if unknown:  # the contract is the one list of names; fail loudly if it moved
        raise ValueError(f"analysis queries use metrics missing from the contract: {sorted(unknown)}")
    return checks
