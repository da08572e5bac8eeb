"""The burn-rate detection table (`make burn-detection`): promtool's failure report is read
correctly, and the committed table covers every burn rate with plausible, ordered figures."""

from __future__ import annotations

from observability_support import ROOT

from mnops.observability.burn_detection import BEGIN, BURN_RATES, END, first_firing, parse_duration

PROMTOOL_OUTPUT = """Unit Testing:  /tmp/x.yaml
  FAILED:
    name: 14.4x,
    alertname: SLOErrorBudgetBurnFast, time: 8h33m,
        exp:[],
        got:[ ... ]
    alertname: SLOErrorBudgetBurnFast, time: 8h34m,
        exp:[],
    name: 1000x,
    alertname: SLOErrorBudgetBurnFast, time: 6h3m,
        exp:[],
"""


def test_durations_and_first_firing_times_are_read_from_promtool_output() -> None:
    assert parse_duration("1d12h30m") == 86400 + 12 * 3600 + 30 * 60
    assert parse_duration("30s") == 30
    assert first_firing(PROMTOOL_OUTPUT) == {"14.4x": 8 * 3600 + 33 * 60, "1000x": 6 * 3600 + 3 * 60}
    assert first_firing("Unit Testing: x\n  SUCCESS\n") == {}


def test_committed_table_covers_every_burn_rate_and_faster_burns_fire_sooner() -> None:
    section = (ROOT / "docs" / "observability.md").read_text().split(BEGIN, 1)[1].split(END, 1)[0]
    rows = {
        line.split("|")[1].strip(): line.split("|")[3:5]
        for line in section.splitlines()
        if line.startswith("| ") and "x |" in line
    }
    assert set(rows) == {f"{rate:g}x" for rate in BURN_RATES}
    for column in (0, 1):
        times = [rows[f"{rate:g}x"][column].strip() for rate in BURN_RATES]
        fired = [parse_duration(t) for t in times if not t.startswith("not within")]
        assert fired == sorted(fired, reverse=True), times  # higher burn, earlier alert
        assert fired, "nothing fired at any burn rate"
    assert parse_duration(rows["1000x"][0]) <= 5 * 60  # an outage pages within the response target
