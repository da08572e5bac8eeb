"""promtool unit-test suites generated from the same inventory thresholds as the rules.

    suite = promtool_suite(target, ["/abs/mnops-recording.yaml", ...])   # dict -> YAML -> `promtool test rules`

For every alert of every service: one case just inside the threshold (no alert) and one just
past it for longer than `for` (alert with exactly the expected labels). Plus burn-rate cases:
a burn just above the 6x page threshold pages, just below it does not, a burn that already
stopped does not page (the short window resets), and slow burns open a ticket only above 1x.
Expected labels come from the alert catalogue, not from the generated rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mnops import units
from mnops.inventory.model import Service, Slo, Target
from mnops.observability import rules as R
from mnops.observability.alerts import spec
from mnops.observability.contract import LATENCY_BUCKETS_SECONDS

REQUESTS_PER_MINUTE = 10_000  # large, so that 0.01% steps exist around every threshold
LATENCY_REQUESTS = 1_000
Case = dict[str, Any]


@dataclass(frozen=True)
class Expected:
    """One alert a case expects: its name and the labels the series carry."""

    alert: str
    series_labels: dict[str, str]


def _labels(selector: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(selector.items())) + "}"


def _series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    return {"series": f"{metric}{_labels(labels)}", "values": values}


def _counter(per_step: float, steps: int) -> str:
    return f"0+{per_step:g}x{steps}"


def _gauge(value: float, steps: int) -> str:
    return f"{value:g}x{steps}"


class SuiteBuilder:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.rules = R.rule_files(target)
        self.tests: list[Case] = []
        self.slo_tested: set[Slo] = set()

    # --- expected alerts -------------------------------------------------------------------
    def _find_rule(self, alert: str, service: str, slo: str | None) -> dict[str, Any]:
        for content in self.rules.values():
            for group in content["groups"]:
                for rule in group["rules"]:
                    labels = rule.get("labels", {})
                    if rule.get("alert") == alert and labels.get("service") == service and labels.get("slo") == slo:
                        found: dict[str, Any] = rule
                        return found
        raise KeyError(f"no rule {alert} for {service} ({slo})")

    def _exp(self, expected: Expected, service: str) -> dict[str, Any]:
        entry = spec(expected.alert)
        labels = {**expected.series_labels, "severity": entry.severity, "priority": entry.priority, "service": service}
        rule = self._find_rule(expected.alert, service, expected.series_labels.get("slo"))
        annotations = {}
        for key, template in rule["annotations"].items():
            text = template
            for name, value in labels.items():
                text = text.replace(f"{{{{ $labels.{name} }}}}", value)
            annotations[key] = text
        return {"exp_labels": labels, "exp_annotations": annotations}

    def case(  # noqa: PLR0917 - calls read like a table row: name, input, when, what, whose, expectation
        self,
        name: str,
        series: list[dict[str, str]],
        eval_time: str,
        alert: str,
        service: str,
        fired: Expected | None,
        interval: str = "1m",
    ) -> None:
        exp = [self._exp(fired, service)] if fired else []
        self.tests.append(
            {
                "name": name,
                "interval": interval,
                "input_series": series,
                "alert_rule_test": [{"eval_time": eval_time, "alertname": alert, "exp_alerts": exp}],
            }
        )

    # --- per alert --------------------------------------------------------------------------
    def service_cases(self, svc: Service) -> None:
        ns = svc.namespace
        base = {"namespace": ns, "service": svc.name}
        pod = {**base, "pod": f"{svc.name}-0"}
        a = svc.alerts
        hold = units.duration_seconds(a.for_duration) // 60
        steps = 5 + hold + 5  # rate window settles (5m), condition holds `for`, margin
        at = f"{5 + hold + 3}m"

        # ServiceDown: every target of the service fails its scrape (the others stay up, or
        # their absent() would fire too).
        others = [
            _series("up", {"namespace": ns, "service": o.name, "pod": f"{o.name}-0"}, _gauge(1, steps))
            for o in self.target.services
            if o.name != svc.name
        ]
        for up, fires in ((1, False), (0, True)):
            self.case(
                f"{svc.name} ServiceDown up={up}",
                [_series("up", pod, _gauge(up, steps)), *others],
                at,
                "ServiceDown",
                svc.name,
                Expected("ServiceDown", base) if fires else None,
            )

        # HighErrorRate: errors just under / just over the threshold share of all requests.
        threshold = a.error_rate_percent / 100 * REQUESTS_PER_MINUTE
        for errors, fires in ((math.ceil(threshold) - 1, False), (math.floor(threshold) + 1, True)):
            series = [
                _series("http_requests_total", {**pod, "code": "500"}, _counter(errors, steps)),
                _series("http_requests_total", {**pod, "code": "200"}, _counter(REQUESTS_PER_MINUTE - errors, steps)),
            ]
            self.case(
                f"{svc.name} HighErrorRate {errors}/{REQUESTS_PER_MINUTE}",
                series,
                at,
                "HighErrorRate",
                svc.name,
                Expected("HighErrorRate", base) if fires else None,
            )

        # HighLatencyP99: bucket counts that put the P99 just under / just over the threshold.
        for q, counts in latency_cases(a.latency_p99_seconds):
            series = [_series("http_request_duration_seconds_bucket", {**pod, "le": le}, _counter(c, steps)) for le, c in counts]
            fires = q > a.latency_p99_seconds
            self.case(
                f"{svc.name} HighLatencyP99 p99={q:.4f}s",
                series,
                at,
                "HighLatencyP99",
                svc.name,
                Expected("HighLatencyP99", base) if fires else None,
            )

        # HighCPUUsage / HighMemoryUsage: one pod 1 point under / over the share of its limit.
        cores = units.cpu_millicores(svc.resources.cpu_limit) / 1000
        memory = units.memory_bytes(svc.resources.memory_limit)
        for delta, fires in ((-0.01, False), (0.01, True)):
            share = a.cpu_percent / 100 + delta
            cpu = [_series("process_cpu_seconds_total", pod, _counter(share * cores * 60, steps))]
            self.case(
                f"{svc.name} HighCPUUsage {share:.2f}",
                cpu,
                at,
                "HighCPUUsage",
                svc.name,
                Expected("HighCPUUsage", pod) if fires else None,
            )
            share = a.memory_percent / 100 + delta
            self.case(
                f"{svc.name} HighMemoryUsage {share:.2f}",
                [_series("process_resident_memory_bytes", pod, _gauge(round(share * memory), steps))],
                at,
                "HighMemoryUsage",
                svc.name,
                Expected("HighMemoryUsage", pod) if fires else None,
            )

        # LowCacheHitRate: hits just over / just under the threshold share of look-ups.
        if svc.dependencies.redis:
            hits_at = a.cache_hit_rate_percent / 100 * REQUESTS_PER_MINUTE
            for hits, fires in ((math.floor(hits_at) + 1, False), (math.ceil(hits_at) - 1, True)):
                series = [
                    _series("mnops_cache_requests_total", {**pod, "result": "hit"}, _counter(hits, steps)),
                    _series("mnops_cache_requests_total", {**pod, "result": "miss"}, _counter(REQUESTS_PER_MINUTE - hits, steps)),
                ]
                self.case(
                    f"{svc.name} LowCacheHitRate {hits}/{REQUESTS_PER_MINUTE}",
                    series,
                    at,
                    "LowCacheHitRate",
                    svc.name,
                    Expected("LowCacheHitRate", base) if fires else None,
                )

        self.deployment_cases(svc)
        # Burn-rate cases are the expensive ones (hours of samples): run them for the first
        # service of each distinct SLO; the others' SLO rules differ only in the service selector.
        if svc.slo not in self.slo_tested:
            self.slo_tested.add(svc.slo)
            self.slo_cases(svc)

    def deployment_cases(self, svc: Service) -> None:
        dep = {"namespace": svc.namespace, "deployment": svc.name}
        ksm = {**dep, "job": "kube-state-metrics"}

        def series(generation: str, observed: str, updated: str) -> list[dict[str, str]]:
            return [
                _series("kube_deployment_metadata_generation", ksm, generation),
                _series("kube_deployment_status_observed_generation", ksm, observed),
                _series("kube_deployment_spec_replicas", ksm, "3x30"),
                _series("kube_deployment_status_replicas_updated", ksm, updated),
                _series("kube_deployment_status_replicas_available", ksm, "3x30"),
            ]

        steady = series("1x30", "1x30", "3x30")
        # Spec changes at 5m; the new ReplicaSet has 1 pod until 8m, then all 3.
        rollout = series("1x4 2x25", "1x4 2x25", "3x4 1x3 3x22")
        self.case(f"{svc.name} DeploymentStarted steady", steady, "20m", "DeploymentStarted", svc.name, None)
        self.case(
            f"{svc.name} DeploymentStarted rollout",
            rollout,
            "6m",
            "DeploymentStarted",
            svc.name,
            Expected("DeploymentStarted", dep),
        )
        self.case(f"{svc.name} DeploymentCompleted mid-rollout", rollout, "6m", "DeploymentCompleted", svc.name, None)
        self.case(
            f"{svc.name} DeploymentCompleted done",
            rollout,
            "9m",
            "DeploymentCompleted",
            svc.name,
            Expected("DeploymentCompleted", dep),
        )

    def backup_cases(self) -> None:
        if not any(s.dependencies.postgres for s in self.target.services):
            return
        data_ns = self.target.namespaces.get("data", self.target.namespaces["apps"])
        labels = {"namespace": data_ns, "pod": "postgres-1"}
        metric = "cnpg_collector_last_available_backup_timestamp"
        self.case("BackupCompleted unchanged", [_series(metric, labels, "1000x30")], "12m", "BackupCompleted", "postgresql", None)
        self.case(
            "BackupCompleted new backup",
            [_series(metric, labels, "1000x9 1600x20")],
            "12m",
            "BackupCompleted",
            "postgresql",
            Expected("BackupCompleted", {"namespace": data_ns}),
        )

    def slo_cases(self, svc: Service) -> None:
        base = {"namespace": svc.namespace, "service": svc.name}
        pod = {**base, "pod": f"{svc.name}-0"}
        availability = R.slo_objectives(svc)[0]
        b = availability.budget
        n = REQUESTS_PER_MINUTE

        def traffic(error_share: float, minutes: int, then_zero_after: int | None = None) -> list[dict[str, str]]:
            errors = error_share * n
            if then_zero_after is None:
                bad = _counter(errors, minutes)
            else:  # errors stop: the counter stays flat
                bad = f"0+{errors:g}x{then_zero_after} {errors * then_zero_after:g}x{minutes - then_zero_after}"
            return [
                _series("http_requests_total", {**pod, "code": "500"}, bad),
                _series("http_requests_total", {**pod, "code": "200"}, _counter(n - errors, minutes)),
            ]

        exp = Expected("SLOErrorBudgetBurnFast", {**base, "slo": "availability"})
        page = 6 * b  # the lower page threshold (6h and 30m windows)
        self.case(f"{svc.name} SLO fast burn 0.95x6", traffic(page * 0.95, 45), "40m", "SLOErrorBudgetBurnFast", svc.name, None)
        self.case(f"{svc.name} SLO fast burn 1.05x6", traffic(page * 1.05, 45), "40m", "SLOErrorBudgetBurnFast", svc.name, exp)
        # Latency SLO (P99): the share of requests slower than the bound burns the 1% budget.
        p99 = R.slo_objectives(svc)[2]
        bound = R.num(svc.slo.latency_p99_ms / 1000)  # the bucket label as Go clients print it
        exp_latency = Expected("SLOErrorBudgetBurnFast", {**base, "slo": p99.kind})
        for factor, fired in ((0.95, None), (1.05, exp_latency)):
            slow = round(6 * p99.budget * factor * n)
            buckets = [
                _series("http_request_duration_seconds_bucket", {**pod, "le": bound}, _counter(n - slow, 45)),
                _series("http_request_duration_seconds_bucket", {**pod, "le": "+Inf"}, _counter(n, 45)),
                _series("http_request_duration_seconds_count", pod, _counter(n, 45)),
            ]
            self.case(f"{svc.name} SLO latency-p99 burn {factor}x6", buckets, "40m", "SLOErrorBudgetBurnFast", svc.name, fired)
        # 40x burn for an hour, then healthy: at 95m the 1h window still burns >14.4x, but the 5m
        # and 30m windows are clean, so nobody is paged for a problem that is over.
        self.case(
            f"{svc.name} SLO burn already stopped",
            traffic(40 * b, 100, then_zero_after=60),
            "95m",
            "SLOErrorBudgetBurnFast",
            svc.name,
            None,
        )
        # Slow burn: ticket above 1x (3d and 6h windows), none below. 10-minute samples keep it small.
        exp_slow = Expected("SLOErrorBudgetBurnSlow", {**base, "slo": "availability"})
        steps = 7 * 6
        for share, fires in ((0.9 * b, False), (1.1 * b, True)):
            errors = share * n * 10
            series = [
                _series("http_requests_total", {**pod, "code": "500"}, _counter(errors, steps)),
                _series("http_requests_total", {**pod, "code": "200"}, _counter(n * 10 - errors, steps)),
            ]
            self.case(
                f"{svc.name} SLO slow burn {share / b:.1f}x",
                series,
                "6h40m",
                "SLOErrorBudgetBurnSlow",
                svc.name,
                exp_slow if fires else None,
                interval="10m",
            )

    def cases(self) -> list[Case]:
        for svc in self.target.services:
            self.service_cases(svc)
        self.backup_cases()
        return self.tests


# --- histogram helpers -------------------------------------------------------------------------


def _bounds() -> list[float]:
    return [*LATENCY_BUCKETS_SECONDS, math.inf]


def histogram_quantile(q: float, cumulative: Sequence[tuple[float, float]]) -> float:
    """Prometheus 2.x histogram_quantile on (upper bound, cumulative count) pairs, +Inf last."""
    total = cumulative[-1][1]
    rank = q * total
    index = next(i for i, (_, count) in enumerate(cumulative) if count >= rank)
    if index == len(cumulative) - 1:
        return cumulative[-2][0]
    start, before = (0.0, 0.0) if index == 0 else cumulative[index - 1]
    end, count = cumulative[index]
    return start + (end - start) * (rank - before) / (count - before)


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else R.num(bound)


def latency_cases(threshold: float) -> tuple[tuple[float, list[tuple[str, int]]], ...]:
    """Two bucket layouts: P99 closest below the threshold and closest above it.

    `fast` requests land in the first bucket, the rest in one slower bucket; searching every
    slower bucket and split finds P99 values on both sides of the threshold, whatever it is.
    """
    bounds = _bounds()
    below: tuple[float, list[tuple[str, int]]] | None = None
    above: tuple[float, list[tuple[str, int]]] | None = None
    for slow_index in range(1, len(bounds) - 1):
        for fast in range(LATENCY_REQUESTS + 1):
            cumulative = [
                (bound, float(fast + (LATENCY_REQUESTS - fast if i >= slow_index else 0))) for i, bound in enumerate(bounds)
            ]
            rank = 0.99 * LATENCY_REQUESTS
            if any(abs(count - rank) < 1e-6 for _, count in cumulative):
                continue  # a bucket exactly at the rank is at the mercy of float rounding
            q = histogram_quantile(0.99, cumulative)
            if abs(q - threshold) < 1e-6 * threshold:
                continue
            layout = [(_le(bound), int(count)) for bound, count in cumulative]
            if q < threshold and (below is None or q > below[0]):
                below = (q, layout)
            if q > threshold and (above is None or q < above[0]):
                above = (q, layout)
    if below is None or above is None:
        raise ValueError(f"no bucket layout brackets a P99 of {threshold}s; check LATENCY_BUCKETS_SECONDS")
    return below, above


# Suite name -> (rule files it loads, evaluation interval). Each suite loads only the files its
# cases need and slow burns are evaluated every 4 minutes: together that keeps a target's suites
# to seconds instead of minutes (a 6-hour case evaluated every minute is the expensive part).
SUITES: dict[str, tuple[tuple[str, ...], str]] = {
    "alerts": (("mnops-recording", "mnops-alerts"), "1m"),
    "slo-fast": (("mnops-slo", "mnops-alerts"), "1m"),
    # At most 4m: an alert may read a recorded series one evaluation old, and instant queries
    # look back only 5 minutes.
    "slo-slow": (("mnops-slo", "mnops-alerts"), "4m"),
}


def _suite_of(case: Case) -> str:
    alert = case["alert_rule_test"][0]["alertname"]
    if alert == "SLOErrorBudgetBurnSlow":
        return "slo-slow"
    return "slo-fast" if alert == "SLOErrorBudgetBurnFast" else "alerts"


def promtool_suites(target: Target, rules_dir: str) -> dict[str, dict[str, Any]]:
    """Suite name -> content of a `promtool test rules` file reading the rule files in rules_dir."""
    cases = SuiteBuilder(target).cases()
    suites = {}
    for name, (stems, interval) in SUITES.items():
        tests = [case for case in cases if _suite_of(case) == name]
        files = [f"{rules_dir}/{stem}.yaml" for stem in stems]
        suites[name] = {"rule_files": files, "evaluation_interval": interval, "tests": tests}
    return suites
