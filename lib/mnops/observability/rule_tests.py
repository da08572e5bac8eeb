"""promtool unit-test suites generated from the same inventory thresholds as the rules.

    suites = promtool_suites(target, "/abs/compiled/dev/rules")   # suite name -> `promtool test rules` file

Every case starts from healthy history (1 hour for threshold alerts, whose longest window is 5
minutes; 6 hours for fast burn rates; 3 days for slow burn rates), then switches at a known
instant (`switch`) to the condition under test, as production traffic would:

- paging alerts (ServiceDown, HighErrorRate, HighLatencyP99), sampled at the scrape interval and
  evaluated at the evaluation interval: a value just over the threshold has fired by the
  detection budget (the response target minus group_wait, one scrape and one evaluation
  interval); a value just under never fires; a 30-second blip never fires;
- warnings and tickets: both sides of every threshold;
- burn rates: just above the page threshold pages, just below never does, a burn that already
  stopped does not page, slow burns open a ticket only above 1x;
- deployment and backup events for Deployments, Argo Rollouts, CloudNativePG and Velero.

Cases run for the first service of each distinct threshold set: the other services' rules differ
only in the service selector. Expected labels come from the alert catalogue, not from the rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from mnops import units
from mnops.data.managed import uses_in_cluster
from mnops.inventory.model import Service, Target
from mnops.observability import rules as R
from mnops.observability.alerts import spec
from mnops.observability.contract import LATENCY_BUCKETS_SECONDS
from mnops.observability.queries import promql_metric_names
from mnops.observability.settings import Monitoring, monitoring_settings

REQUESTS_PER_MINUTE = 10_000  # large, so that 0.01% steps exist around every threshold
LATENCY_REQUESTS = 1_000  # per minute
THRESHOLD_HISTORY_MINUTES = 30  # six times the longest window a threshold alert reads (5m)
FAST_BURN_HISTORY_MINUTES = 6 * 60
SLOW_BURN_HISTORY_MINUTES = 3 * 24 * 60
SLOW_STEP_MINUTES = 10  # slow-burn series: one sample per 10 minutes keeps days of history cheap
BLIP_SECONDS = 30
NEVER_HORIZON_MINUTES = 10  # "never fires" is checked every minute this long after the switch
Case = dict[str, Any]
Segment = tuple[float, int]  # (value or per-step increment, number of steps)


@dataclass(frozen=True)
class Expected:
    """One alert a case expects: its name and the labels the series carry."""

    alert: str
    series_labels: dict[str, str]


@dataclass(frozen=True)
class Check:
    """At `at` seconds after the start, the alert is firing with `fired`'s labels, or not at all.

    `alert` names another alert than the case's (one case may check several alerts: each case
    costs promtool a fresh storage, so related checks share one).
    """

    at: int
    fired: Expected | None
    alert: str = ""


def _labels(selector: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(selector.items())) + "}"


def _series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    return {"series": f"{metric}{_labels(labels)}", "values": values}


def _labels_of(expr: str, labels: dict[str, str] | None = None) -> str:
    """The series promtool returns for a recorded name: the name plus the labels it keeps."""
    name = expr.split("{", 1)[0]
    return name + (_labels(labels) if labels else "")


def _n(value: float) -> str:
    """Full precision: promtool reads the text, and `:g` would round a 3.6e6 counter to 6 digits."""
    return f"{value:.12g}"


def counter(segments: Sequence[Segment]) -> str:
    """A counter from 0 that grows by `per_step` for `steps` samples, segment after segment."""
    parts, value = [], 0.0
    for index, (per_step, steps) in enumerate(segments):
        if index == 0:
            parts.append(f"0+{_n(per_step)}x{steps}")
        else:
            parts.append(f"{_n(value + per_step)}+{_n(per_step)}x{steps - 1}")
        value += per_step * steps
    return " ".join(parts)


def gauge(segments: Sequence[Segment]) -> str:
    """A gauge holding each value for `steps` samples (the first also at time 0)."""
    return " ".join(f"{_n(v)}x{steps if i == 0 else steps - 1}" for i, (v, steps) in enumerate(segments))


def duration(seconds: int) -> str:
    """promtool's duration syntax, e.g. 6h4m30s."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def detection_budget_seconds(monitoring: Monitoring, priority: str) -> int:
    """How late promtool may see a P0/P1 alert fire and production still notify within the target.

    After the rule fires in promtool's model, production adds: up to one scrape interval before a
    sample shows the change, up to one evaluation interval before the rule sees it, and the
    route's group_wait before the first notification.
    """
    timing = monitoring.alertmanager.timings[priority]
    overhead = sum(
        units.duration_seconds(d) for d in (monitoring.scrape_interval, monitoring.evaluation_interval, timing.group_wait)
    )
    return units.duration_seconds(monitoring.response_target) - overhead


class SuiteBuilder:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.monitoring = monitoring_settings(target.parameters)
        self.rules = R.rule_files(target)
        self.tests: dict[str, list[Case]] = {name: [] for name in SUITES}
        self.scrape = units.duration_seconds(self.monitoring.scrape_interval)
        self.evaluation = units.duration_seconds(self.monitoring.evaluation_interval)

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

    def case(  # noqa: PLR0917 - calls read like a table row: suite, name, input, whose alert, checks
        self,
        suite: str,
        name: str,
        series: list[dict[str, str]],
        alert: str,
        service: str,
        checks: Sequence[Check],
    ) -> None:
        step = SUITE_STEP_SECONDS.get(suite, self.scrape)
        self.tests[suite].append(
            {
                "name": name,
                "interval": duration(step),
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": duration(c.at),
                        "alertname": c.alert or alert,
                        "exp_alerts": [self._exp(c.fired, service)] if c.fired else [],
                    }
                    for c in checks
                ],
            }
        )

    def never(self, switch: int, horizon_minutes: int = NEVER_HORIZON_MINUTES) -> list[Check]:
        """No alert at the switch and at every minute after it, up to the horizon."""
        return [Check(switch + minute * 60, None) for minute in range(horizon_minutes + 1)]

    # --- paging alerts: sampled at the scrape interval, detection time asserted -------------
    def paging_cases(self, svc: Service) -> None:
        base = {"namespace": svc.namespace, "service": svc.name}
        pod = {**base, "pod": f"{svc.name}-0"}
        step = self.scrape
        history = THRESHOLD_HISTORY_MINUTES * 60 // step
        after = (NEVER_HORIZON_MINUTES * 60) // step + 1
        blip = BLIP_SECONDS // step
        switch = history * step
        per_step = REQUESTS_PER_MINUTE * step / 60
        a = svc.alerts

        def fires_in_time(alert: str, labels: dict[str, str]) -> list[Check]:
            budget = detection_budget_seconds(self.monitoring, spec(alert).priority)
            last = switch + budget // self.evaluation * self.evaluation  # the last evaluation inside the budget
            return [Check(switch - 60, None), Check(last, Expected(alert, labels))]

        # ServiceDown: the service's only target fails its scrapes (the others stay up, or their
        # absent() would fire too). A 30-second outage (two failed scrapes) must not page.
        others = [
            _series("up", {"namespace": o.namespace, "service": o.name, "pod": f"{o.name}-0"}, gauge([(1, history + after)]))
            for o in self.target.services
            if o.name != svc.name
        ]
        up_cases = (
            ("down", [(1, history), (0, after)], fires_in_time("ServiceDown", base)),
            ("30s blip", [(1, history), (0, blip), (1, after - blip)], self.never(switch)),
            ("up", [(1, history + after)], self.never(switch)),
        )
        for label, up_values, checks in up_cases:
            series = [_series("up", pod, gauge(up_values)), *others]
            self.case("paging", f"{svc.name} ServiceDown {label}", series, "ServiceDown", svc.name, checks)

        # HighErrorRate: errors one request in 10,000 under / over the threshold share.
        threshold = a.error_rate_percent / 100 * REQUESTS_PER_MINUTE
        healthy: Segment = (0.0, history)
        error_cases = (
            ("just under", [healthy, ((math.ceil(threshold) - 1) * step / 60, after)], self.never(switch)),
            ("just over", [healthy, ((math.floor(threshold) + 1) * step / 60, after)], fires_in_time("HighErrorRate", base)),
            ("30s blip of 100%", [healthy, (per_step, blip), (0.0, after - blip)], self.never(switch)),
        )
        for label, errors, checks in error_cases:
            ok = [(per_step - e, steps) for e, steps in errors]
            series = [
                _series("http_requests_total", {**pod, "code": "500"}, counter(errors)),
                _series("http_requests_total", {**pod, "code": "200"}, counter(ok)),
            ]
            self.case("paging", f"{svc.name} HighErrorRate {label}", series, "HighErrorRate", svc.name, checks)

        # HighLatencyP99: healthy (every request in the fastest bucket), then bucket counts that put
        # the P99 just under / just over the threshold, or 30 seconds of every request too slow.
        fast = [(_le(b), LATENCY_REQUESTS) for b in _bounds()]
        slow = [(_le(b), LATENCY_REQUESTS if math.isinf(b) else 0) for b in _bounds()]
        (under_q, under), (over_q, over) = latency_cases(a.latency_p99_seconds)
        latency_cases_ = (
            (f"just under p99={under_q:.4f}s", [(under, after)], self.never(switch)),
            (f"just over p99={over_q:.4f}s", [(over, after)], fires_in_time("HighLatencyP99", base)),
            ("30s blip of slow requests", [(slow, blip), (fast, after - blip)], self.never(switch)),
        )
        for label, phases, checks in latency_cases_:
            series = []
            for index, (le, _) in enumerate(fast):
                bucket: list[Segment] = [(fast[index][1] * step / 60, history)]
                bucket += [(layout[index][1] * step / 60, steps) for layout, steps in phases]
                series.append(_series("http_request_duration_seconds_bucket", {**pod, "le": le}, counter(bucket)))
            self.case("paging", f"{svc.name} HighLatencyP99 {label}", series, "HighLatencyP99", svc.name, checks)

    # --- warnings and tickets: both sides, after healthy history -----------------------------
    def warning_cases(self, svc: Service) -> None:
        base = {"namespace": svc.namespace, "service": svc.name}
        pod = {**base, "pod": f"{svc.name}-0"}
        a = svc.alerts
        history = THRESHOLD_HISTORY_MINUTES
        hold = units.duration_seconds(a.for_duration) // 60
        after = 5 + hold + 5  # rate window settles (5m), condition holds `for`, margin
        switch = history * 60
        at = switch + (5 + hold + 3) * 60

        def checks(fires: bool, alert: str, labels: dict[str, str]) -> list[Check]:
            return [Check(switch - 60, None), Check(at, Expected(alert, labels) if fires else None)]

        # HighCPUUsage / HighMemoryUsage: idle first, then one pod 1 point under and another 1 point
        # over the share of its limit: only the second one alerts.
        cores = units.cpu_millicores(svc.resources.cpu_limit) / 1000
        memory = units.memory_bytes(svc.resources.memory_limit)
        series, checks_ = [], []
        for index, delta in enumerate((-0.01, 0.01)):
            one = {**base, "pod": f"{svc.name}-{index}"}
            cpu = counter([(0.1 * cores * 60, history), ((a.cpu_percent / 100 + delta) * cores * 60, after)])
            rss = gauge([(round(0.3 * memory), history), (round((a.memory_percent / 100 + delta) * memory), after)])
            series += [_series("process_cpu_seconds_total", one, cpu), _series("process_resident_memory_bytes", one, rss)]
        over = {**base, "pod": f"{svc.name}-1"}
        for alert in ("HighCPUUsage", "HighMemoryUsage"):
            checks_ += [Check(switch - 60, None, alert), Check(at, Expected(alert, over), alert)]
        self.case("alerts", f"{svc.name} HighCPUUsage/HighMemoryUsage 1 point under and over", series, "HighCPUUsage",
                  svc.name, checks_)  # fmt: skip

        # LowCacheHitRate: 95% hits first, then hits just over / just under the threshold share.
        if svc.dependencies.redis:
            hits_at = a.cache_hit_rate_percent / 100 * REQUESTS_PER_MINUTE
            good = 0.95 * REQUESTS_PER_MINUTE
            for hits, fires in ((math.floor(hits_at) + 1, False), (math.ceil(hits_at) - 1, True)):
                series = [
                    _series("mnops_cache_requests_total", {**pod, "result": "hit"}, counter([(good, history), (hits, after)])),
                    _series("mnops_cache_requests_total", {**pod, "result": "miss"},
                            counter([(REQUESTS_PER_MINUTE - good, history), (REQUESTS_PER_MINUTE - hits, after)])),
                ]  # fmt: skip
                self.case("alerts", f"{svc.name} LowCacheHitRate {hits}/{REQUESTS_PER_MINUTE}", series, "LowCacheHitRate",
                          svc.name, checks(fires, "LowCacheHitRate", base))  # fmt: skip

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
        m = 60
        started, completed = "DeploymentStarted", "DeploymentCompleted"
        self.case("alerts", f"{svc.name} Deployment steady", steady, started, svc.name,
                  [Check(20 * m, None), Check(20 * m, None, completed)])  # fmt: skip
        self.case("alerts", f"{svc.name} Deployment rollout", rollout, started, svc.name,
                  [Check(6 * m, Expected(started, dep)), Check(6 * m, None, completed),
                   Check(9 * m, Expected(completed, dep), completed)])  # fmt: skip
        # Argo Rollout: Healthy until 5m, Progressing (canary steps) 5m-7m, Healthy again from 8m.
        # The controller exports the current phase only: the old phase's series goes stale.
        ro = {"namespace": svc.namespace, "name": svc.name}
        info = {**ro, "strategy": "canary", "traffic_router": "GatewayAPI"}
        phases = [
            _series("rollout_info", {**info, "phase": "Healthy"}, "1x4 stale _x2 1x20"),
            _series("rollout_info", {**info, "phase": "Progressing"}, "_x5 1x2 stale"),
        ]
        self.case("alerts", f"{svc.name} Rollout canary", phases, started, svc.name,
                  [Check(6 * m, Expected(started, ro)), Check(6 * m, None, completed), Check(9 * m, None),
                   Check(9 * m, Expected(completed, ro), completed), Check(20 * m, None),
                   Check(20 * m, None, completed)])  # fmt: skip

    def backup_cases(self) -> None:
        m = 60
        velero = "velero_backup_last_successful_timestamp"
        daily = {"schedule": "daily"}
        self.case("alerts", "BackupCompleted Velero", [_series(velero, daily, "1000x9 1600x20")], "BackupCompleted", "velero",
                  [Check(5 * m, None), Check(12 * m, Expected("BackupCompleted", daily)), Check(28 * m, None)])  # fmt: skip
        if not uses_in_cluster(self.target.services, self.target.parameters, "postgres"):
            return
        data_ns = self.target.namespaces.get("data", self.target.namespaces["apps"])
        labels = {"namespace": data_ns, "pod": "postgres-1"}
        metric = "cnpg_collector_last_available_backup_timestamp"
        self.case("alerts", "BackupCompleted unchanged", [_series(metric, labels, "1000x30")], "BackupCompleted",
                  "postgresql", [Check(12 * m, None)])  # fmt: skip
        self.case("alerts", "BackupCompleted new backup", [_series(metric, labels, "1000x9 1600x20")], "BackupCompleted",
                  "postgresql", [Check(12 * m, Expected("BackupCompleted", {"namespace": data_ns}))])  # fmt: skip

    # --- burn rates -------------------------------------------------------------------------
    def availability_traffic(self, svc: Service, phases: Sequence[tuple[float, int]], step_minutes: int) -> list[dict[str, str]]:
        """Requests of one pod: phases of (error share, minutes)."""
        pod = {"namespace": svc.namespace, "service": svc.name, "pod": f"{svc.name}-0"}
        n = REQUESTS_PER_MINUTE * step_minutes
        errors = [(share * n, minutes // step_minutes) for share, minutes in phases]
        ok = [(n - e, steps) for e, steps in errors]
        return [
            _series("http_requests_total", {**pod, "code": "500"}, counter(errors)),
            _series("http_requests_total", {**pod, "code": "200"}, counter(ok)),
        ]

    def slo_cases(self, svc: Service) -> None:
        base = {"namespace": svc.namespace, "service": svc.name}
        pod = {**base, "pod": f"{svc.name}-0"}
        availability, _, p99 = R.slo_objectives(svc)
        b = availability.budget
        h = FAST_BURN_HISTORY_MINUTES
        switch = h * 60
        page = 6 * b  # the lower page threshold (6h and 30m windows): needs 6 hours to show
        exp = Expected("SLOErrorBudgetBurnFast", {**base, "slo": "availability"})
        fast = "SLOErrorBudgetBurnFast"
        burn_hours = 6 * 60 + 10
        under = self.availability_traffic(svc, [(0, h), (page * 0.95, burn_hours)], 1)
        over = self.availability_traffic(svc, [(0, h), (page * 1.05, burn_hours)], 1)
        never = [Check(switch + m * 60, None) for m in range(0, burn_hours, 30)]
        self.case("slo-fast", f"{svc.name} SLO fast burn 0.95x6 never pages", under, fast, svc.name, never)
        in_time = [Check(switch + 60 * 60, None), Check(switch + 6 * 3600, exp)]
        self.case("slo-fast", f"{svc.name} SLO fast burn 1.05x6 pages within 6h", over, fast, svc.name, in_time)
        # Latency SLO (P99): the share of requests slower than the bound burns the 1% budget.
        bound = R.num(svc.slo.latency_p99_ms / 1000)  # the bucket label as Go clients print it
        exp_latency = Expected(fast, {**base, "slo": p99.kind})
        n = REQUESTS_PER_MINUTE
        for factor, fired in ((0.95, None), (1.05, exp_latency)):
            slow = round(6 * p99.budget * factor * n)
            buckets = [
                _series("http_request_duration_seconds_bucket", {**pod, "le": bound}, counter([(n, h), (n - slow, burn_hours)])),
                _series("http_request_duration_seconds_bucket", {**pod, "le": "+Inf"}, counter([(n, h + burn_hours)])),
                _series("http_request_duration_seconds_count", pod, counter([(n, h + burn_hours)])),
            ]
            self.case("slo-fast", f"{svc.name} SLO latency-p99 burn {factor}x6", buckets, fast, svc.name,
                      [Check(switch + 60 * 60, None), Check(switch + 6 * 3600, fired)])  # fmt: skip
        # 40x burn for an hour, then healthy: 35 minutes later the 1h window still burns >14.4x, but
        # the 5m and 30m windows are clean, so nobody is paged for a problem that is over.
        stopped = self.availability_traffic(svc, [(0, h), (40 * b, 60), (0, 40)], 1)
        self.case("slo-fast", f"{svc.name} SLO burn already stopped", stopped, fast, svc.name, [Check(switch + 95 * 60, None)])

        # Slow burn after 3 days of healthy history: a ticket above 1x (3d and 6h windows), none below.
        exp_slow = Expected("SLOErrorBudgetBurnSlow", {**base, "slo": "availability"})
        hs = SLOW_BURN_HISTORY_MINUTES
        burn = 3 * 24 * 60
        for share, fired in ((0.9 * b, None), (1.1 * b, exp_slow)):
            series = self.availability_traffic(svc, [(0, hs), (share, burn)], SLOW_STEP_MINUTES)
            self.case("slo-slow", f"{svc.name} SLO slow burn {share / b:.1f}x", series, "SLOErrorBudgetBurnSlow", svc.name,
                      [Check(hs * 60 + 24 * 3600, None), Check((hs + burn) * 60, fired)])  # fmt: skip

    # --- reliability: synthetic incidents give known availability, MTTR and MTBF -------------
    def reliability_cases(self) -> None:
        """Six hours at the evaluation interval: a 10-minute P0 incident at 1h, a 25-minute incident
        at 3h made of two overlapping alerts (ServiceDown, then a fast burn), plus a pending P1 and a
        firing P2 that are not incidents. Every other service stays quiet. Resolved alerts end with
        a stale marker, as Prometheus writes for ALERTS (else the 5-minute lookback stretches them)."""
        step = self.evaluation
        total = 6 * 3600 // step
        hour = 3600 // step
        at = {"1h": hour, "3h": 3 * hour, "3h05": 3 * hour + 300 // step}

        def firing(start: int, samples: int) -> str:
            return f"_x{start} 1x{samples - 1} stale _x{total - start - samples}"

        first, *quiet = self.target.services
        base = {"namespace": first.namespace, "service": first.name}
        incidents = [
            ("HighErrorRate", "firing", "P0", firing(at["1h"], 600 // step)),
            ("ServiceDown", "firing", "P0", firing(at["3h"], 1200 // step)),
            ("SLOErrorBudgetBurnFast", "firing", "P1", firing(at["3h05"], 1200 // step)),
            ("HighLatencyP99", "pending", "P1", firing(2 * hour, 300 // step)),
            ("HighCPUUsage", "firing", "P2", firing(4 * hour, 1800 // step)),
        ]
        series = [
            _series("ALERTS", {**base, "alertname": name, "alertstate": state, "priority": priority}, values)
            for name, state, priority, values in incidents
        ]
        for svc in (first, *quiet):
            labels = {"namespace": svc.namespace, "service": svc.name}
            errors = 0.001 if svc is first else 0.0
            series += [
                _series("up", {**labels, "pod": f"{svc.name}-0"}, gauge([(1, total)])),
                _series("service:http_errors:ratio_rate5m", labels, gauge([(errors, total)])),
                _series("service:http_requests:rate5m", labels, gauge([(100, total)])),
            ]
        incident_seconds = 600 + 1500  # 10 minutes, then 3h00-3h25
        observed = (total + 1) * step
        cluster_errors = 0.001 * 100 / (100 * (1 + len(quiet)))
        expected = {
            f'service:incidents:count30d{{service="{first.name}"}}': 2,
            f'service:incident_seconds:sum30d{{service="{first.name}"}}': incident_seconds,
            f'service:mttr_seconds:30d{{service="{first.name}"}}': incident_seconds / 2,
            f'service:mtbf_seconds:30d{{service="{first.name}"}}': (observed - incident_seconds) / 2,
            f'service:availability:ratio30d{{service="{first.name}"}}': 1 - 0.001,
            "cluster:incidents:count30d": 2,
            "cluster:mttr_seconds:30d": incident_seconds / 2,
            "cluster:mtbf_seconds:30d": (observed - incident_seconds) / 2,
            "cluster:availability:ratio30d": 1 - cluster_errors,
        }
        checks: list[dict[str, Any]] = [
            {
                "expr": expr,
                "eval_time": "6h",
                "exp_samples": [{"labels": _labels_of(expr, base if expr.startswith("service:") else None), "value": value}],
            }
            for expr, value in expected.items()
        ]
        # After the first incident only: one incident of 10 minutes.
        checks.append({"expr": f'service:mttr_seconds:30d{{service="{first.name}"}}', "eval_time": "1h30m",
                       "exp_samples": [{"labels": _labels_of(f'service:mttr_seconds:30d{{service="{first.name}"}}', base),
                                        "value": 600}]})  # fmt: skip
        for svc in quiet:  # no incident: a count of 0 and no MTTR at all (nothing to average)
            checks += [
                {"expr": f'service:incidents:count30d{{service="{svc.name}"}}', "eval_time": "6h",
                 "exp_samples": [{"labels": _labels_of(f'service:incidents:count30d{{service="{svc.name}"}}',
                                                       {"namespace": svc.namespace, "service": svc.name}), "value": 0}]},
                {"expr": f'service:mttr_seconds:30d{{service="{svc.name}"}}', "eval_time": "6h", "exp_samples": []},
            ]  # fmt: skip
        self.tests["availability"].append(
            {"name": "synthetic incidents", "interval": duration(step), "input_series": series, "promql_expr_test": checks}
        )

    def cases(self) -> dict[str, list[Case]]:
        self.reliability_cases()
        for svc in services_under_test(self.target, "paging"):
            self.paging_cases(svc)
        for svc in services_under_test(self.target, "alerts"):
            self.warning_cases(svc)
        self.deployment_cases(self.target.services[0])  # the same rule shape for every service
        for svc in services_under_test(self.target, "slo-fast"):
            self.slo_cases(svc)
        self.backup_cases()
        return self.tests


def services_under_test(target: Target, suite: str) -> list[Service]:
    """The first service of each distinct threshold set the suite's alerts read."""
    keys: dict[object, Service] = {}
    for svc in target.services:
        if suite == "paging":
            key: object = (svc.alerts.error_rate_percent, svc.alerts.latency_p99_seconds)
        elif suite == "alerts":
            key = (svc.alerts, svc.resources.cpu_limit, svc.resources.memory_limit, svc.dependencies.redis)
        else:
            key = svc.slo
        keys.setdefault(key, svc)
    return list(keys.values())


def suite_fingerprint(target: Target, suite: str) -> str:
    """What a suite's outcome depends on besides the cluster's name: targets with the same
    fingerprint run the same cases against the same rule shapes, so one of them is enough."""
    m = monitoring_settings(target.parameters)
    if suite == "availability":
        return repr((suite, [(s.name, s.namespace) for s in target.services], m.evaluation_interval))
    if suite == "paging":
        thresholds = [(s.name, s.namespace, s.alerts.error_rate_percent, s.alerts.latency_p99_seconds) for s in target.services]
        inputs: object = (thresholds, m.scrape_interval, m.evaluation_interval, m.response_target, m.alertmanager.timings)
    elif suite == "alerts":
        inputs = [(s.name, s.namespace, s.alerts, s.resources.cpu_limit, s.resources.memory_limit, s.dependencies)
                  for s in target.services]  # fmt: skip
        inputs = (inputs, sorted(target.namespaces.items()))
    else:
        inputs = [(s.name, s.namespace, s.slo) for s in target.services]
    return repr((suite, inputs))


# SLOs each burn-rate suite exercises (the slow suite tests availability only).
SUITE_SLOS: dict[str, frozenset[str]] = {
    "slo-fast": frozenset({"availability", "latency-p99"}),
    "slo-slow": frozenset({"availability"}),
}


def focused_rules(content: dict[str, Any], target: Target, suite: str) -> dict[str, Any]:
    """A compiled rule file cut down to the rules a suite's cases can trigger.

    promtool evaluates every loaded rule at every step: hours of history against every service's
    SLO windows took minutes. Rules are kept unchanged; rules of services (and SLOs) the suite
    does not test are left out. Rules without a `service` label (the shared RED recordings) stay.
    """
    wanted = {s.name for s in services_under_test(target, suite)}
    if suite == "alerts":
        wanted |= {target.services[0].name, "postgresql", "velero"}  # deployment and backup events
    slos = SUITE_SLOS.get(suite)

    def keep(rule: dict[str, Any]) -> bool:
        labels = rule.get("labels", {})
        if "service" in labels and labels["service"] not in wanted:
            return False
        return slos is None or labels.get("slo", next(iter(slos))) in slos

    groups = [{**g, "rules": [r for r in g["rules"] if keep(r)]} for g in content["groups"]]
    return {"groups": [g for g in groups if g["rules"]]}


def rules_reaching(files: Mapping[str, Any], alerts: set[str], reads: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Each rule file (stem -> content) cut down to the rules that can change when `alerts` fire
    or what the metrics `reads` (a promql_expr_test's names) hold.

    Those are the alert rules of these names (every service's: a case checks the alert name, so
    another service's instance firing on the case's series counts) and the recording rules they
    read, directly or through other recordings, in their groups and order. A rule outside that
    closure writes series no kept rule reads, so leaving it out changes no outcome; promtool
    evaluates every loaded rule at every step, so it only costs time. Files keep every rule when
    an expression does not parse, selects by `__name__` or reads `ALERTS`. Files and groups left
    empty are dropped.
    """
    rules = [rule for content in files.values() for group in content.get("groups") or [] for rule in group.get("rules") or []]
    everything = {stem: dict(content) for stem, content in files.items() if content.get("groups")}
    try:
        names = [promql_metric_names(str(rule.get("expr", ""))) for rule in rules]
    except ValueError:
        return everything
    wanted = set(reads)
    if any(read & {"ALERTS", "ALERTS_FOR_STATE"} for read in [*names, wanted]):
        return everything
    kept = {i for i, rule in enumerate(rules) if rule.get("alert") in alerts}
    wanted |= {name for i in kept for name in names[i]}
    while more := {i for i, rule in enumerate(rules) if i not in kept and rule.get("record") in wanted}:
        kept |= more
        wanted |= {name for i in more for name in names[i]}
    chosen = {id(rules[i]) for i in kept}  # by identity: two services' rules may be equal mappings
    result: dict[str, dict[str, Any]] = {}
    for stem, content in files.items():
        groups = []
        for group in content.get("groups") or []:
            members = [rule for rule in group.get("rules") or [] if id(rule) in chosen]
            if members:
                groups.append({**group, "rules": members})
        if groups:
            result[stem] = {**content, "groups": groups}
    return result


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


@cache
def latency_cases(threshold: float) -> tuple[tuple[float, tuple[tuple[str, int], ...]], ...]:
    """Two bucket layouts: P99 closest below the threshold and closest above it.

    `fast` requests land in the first bucket, the rest in one slower bucket; searching every
    slower bucket and split finds P99 values on both sides of the threshold, whatever it is.
    Remembered per threshold (immutable tuples): the search was most of generating every
    cluster's cases, and each cluster's services share a handful of thresholds.
    """
    bounds = _bounds()
    below: tuple[float, tuple[tuple[str, int], ...]] | None = None
    above: tuple[float, tuple[tuple[str, int], ...]] | None = None
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
            layout = tuple((_le(bound), int(count)) for bound, count in cumulative)
            if q < threshold and (below is None or q > below[0]):
                below = (q, layout)
            if q > threshold and (above is None or q < above[0]):
                above = (q, layout)
    if below is None or above is None:
        raise ValueError(f"no bucket layout brackets a P99 of {threshold}s; check LATENCY_BUCKETS_SECONDS")
    return below, above


# Suite name -> rule files it loads. Each suite loads only the files its cases need.
SUITES: dict[str, tuple[str, ...]] = {
    "paging": ("mnops-recording", "mnops-alerts"),
    "alerts": ("mnops-recording", "mnops-alerts"),
    "slo-fast": ("mnops-slo", "mnops-alerts"),
    "slo-slow": ("mnops-slo", "mnops-alerts"),
    "availability": ("mnops-availability",),
}
# Sample step per suite (paging samples at the target's scrape interval).
SUITE_STEP_SECONDS: dict[str, int] = {"alerts": 60, "slo-fast": 60, "slo-slow": SLOW_STEP_MINUTES * 60}
# Evaluation interval per suite (paging evaluates at the target's evaluation interval). Slow burns
# are evaluated every 10 minutes, like their samples: `group_eval_order` puts the recording
# groups first, so an alert reads the recording of the same step. Days evaluated every minute
# would take minutes.
# Fast burns are evaluated every 2 minutes, their `for`: 12 hours of history and burn at 1m
# steps was the most expensive suite.
SUITE_EVALUATION: dict[str, str] = {"alerts": "1m", "slo-fast": "2m", "slo-slow": "10m"}


def promtool_suites(target: Target, rules_dir: str) -> dict[str, dict[str, Any]]:
    """Suite name -> content of a `promtool test rules` file.

    Each suite reads `<rules_dir>/<suite>-<stem>.yaml`: write them with `focused_rules` from the
    compiled rule files (see tests/test_observability_rules.py).
    """
    builder = SuiteBuilder(target)
    cases = builder.cases()
    evaluation = builder.monitoring.evaluation_interval
    suites = {}
    for name, stems in SUITES.items():
        # Recording groups before the alerts that read them, whatever promtool's own order: a
        # slow-burn alert evaluated first would read a recording one 10-minute step old.
        order = [g["name"] for stem in stems for g in focused_rules(builder.rules[stem], target, name)["groups"]]
        suites[name] = {
            "rule_files": [f"{rules_dir}/{name}-{stem}.yaml" for stem in stems],
            "evaluation_interval": SUITE_EVALUATION.get(name, evaluation),
            "group_eval_order": order,
            "tests": cases[name],
        }
    return suites
