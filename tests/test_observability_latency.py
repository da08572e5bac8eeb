"""The end-to-end alert-latency measurement (`make alert-latency`), checked offline and fast:
its history loads into a real TSDB, its faults sit just over the thresholds, and the committed
figures in docs/observability.md show every P0/P1 notified within the response target."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from observability_support import ROOT, ensure_tools, run, target

from mnops import units
from mnops.doc_sections import replace_section
from mnops.observability.alert_latency import (
    BEGIN,
    END,
    Measurement,
    Webhook,
    faults,
    history,
    late_pages,
    p99_with_slow_share,
    render,
)
from mnops.observability.contract import LATENCY_BUCKETS_SECONDS
from mnops.observability.fake_service import FAST_SECONDS, SLOW_SECONDS
from mnops.observability.rule_tests import histogram_quantile
from mnops.observability.settings import monitoring_settings

pytestmark = pytest.mark.slow
DOC = ROOT / "docs" / "observability.md"


def test_backfilled_history_loads_into_a_real_tsdb(tmp_path: Path) -> None:
    ensure_tools()
    t = target("prod")
    names = [s.name for s in t.services]
    text = history(names, t.namespaces["apps"], "127.0.0.1:1", 15, 1_800_000_000, seconds=1800)
    (tmp_path / "history.om").write_text(text)
    result = run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(tmp_path / "history.om"), str(tmp_path / "data")])
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "data").iterdir()), "no block written"
    broken = tmp_path / "broken.om"
    broken.write_text(text.replace("# EOF\n", "not a sample\n# EOF\n"))
    assert run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(broken), str(tmp_path / "x")]).returncode != 0


def test_the_slow_share_puts_the_p99_just_over_the_threshold() -> None:
    for svc in target("prod").services:
        latency = next(f for f in faults(svc) if ("HighLatencyP99", None) in f.alerts)
        share = float(re.match(r"([\d.]+)%", latency.title).group(1)) / 100  # type: ignore[union-attr]
        layout = [(b, (1 - share) * (b >= FAST_SECONDS) + share * (b >= SLOW_SECONDS)) for b in LATENCY_BUCKETS_SECONDS]
        layout.append((float("inf"), 1.0))
        p99 = histogram_quantile(0.99, layout)
        assert p99 == pytest.approx(p99_with_slow_share(share))
        assert svc.alerts.latency_p99_seconds < p99 < svc.alerts.latency_p99_seconds * 1.5


def measurement(alert: str, priority: str, delivered: float | None, muted: tuple[str, ...] = ()) -> Measurement:
    return Measurement(alert, None, priority, "x", "svc", delivered, delivered, ("pager",), muted)


def test_late_or_missing_pages_are_reported_and_muted_ones_are_not() -> None:
    m = monitoring_settings(target("prod").parameters)
    limit = units.duration_seconds(m.response_target)
    ok, late, lost = measurement("A", "P0", limit - 1), measurement("B", "P1", limit + 1), measurement("C", "P0", None)
    muted, ticket = measurement("D", "P1", None, ("A",)), measurement("E", "P3", None)
    assert late_pages([ok, late, lost, muted, ticket], m) == [late, lost]


def test_the_section_is_replaced_in_place() -> None:
    m = monitoring_settings(target("prod").parameters)
    section = render([measurement("HighErrorRate", "P0", 200.0)], "prod", m, "today")
    document = f"# T\n\nbefore\n\n{BEGIN}\nold\n{END}\n\nafter\n"
    once = replace_section(document, section, BEGIN, END)
    assert "old" not in once and "| HighErrorRate | P0 |" in once and once.endswith("\n\nafter\n")
    assert replace_section(once, section, BEGIN, END) == once


def test_committed_figures_show_every_page_within_the_response_target() -> None:
    m = monitoring_settings(target("prod").parameters)
    limit = units.duration_seconds(m.response_target)
    text = DOC.read_text()
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert {r[0].strip() for r in rows} >= {"HighErrorRate", "HighLatencyP99", "ServiceDown"}
    for alert, priority, _, _, notified, _ in rows:
        if priority.strip() in {"P0", "P1"} and "muted by" not in notified:
            assert int(notified.strip().removesuffix(" s")) <= limit, alert


def test_the_webhook_records_when_an_alert_first_arrived_firing_and_every_receiver() -> None:
    def notify(url: str, receiver: str, status: str) -> None:
        alert = {"status": status, "labels": {"alertname": "ServiceDown", "service": "a"}}
        body = json.dumps({"receiver": receiver, "alerts": [alert]}).encode()
        request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - 127.0.0.1 only
        urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - 127.0.0.1 only

    with Webhook() as hook:
        notify(hook.url, "chat", "resolved")
        assert hook.first(("ServiceDown", None), "a") is None
        notify(hook.url, "pager", "firing")
        notify(hook.url, "chat", "firing")
        first = hook.first(("ServiceDown", None), "a")
    assert first is not None and first[1] == ("chat", "pager")
    assert first[0] == min(at for at, payload in hook.received if payload["alerts"][0]["status"] == "firing")
