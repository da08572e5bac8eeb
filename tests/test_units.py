"""The value formats of the inventory: one parser each, shared by schema and rules."""

from __future__ import annotations

import pytest

from mnops import units


@pytest.mark.parametrize(("text", "millicores"), [("500m", 500), ("1", 1000), ("0.25", 250), (2, 2000), ("1.5", 1500)])
def test_cpu_quantities_convert_to_millicores(text: str, millicores: int) -> None:
    assert units.cpu_millicores(text) == millicores


@pytest.mark.parametrize("text", ["fast", "500M", "0", "0.0001", "-1", "1 cpu"])
def test_cpu_rejects_what_kubernetes_would_not_take(text: str) -> None:
    with pytest.raises(ValueError, match=r"CPU|millicores"):
        units.cpu_millicores(text)


@pytest.mark.parametrize(("text", "size"), [("512Mi", 512 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("128974848", 128974848)])
def test_memory_quantities_convert_to_bytes(text: str, size: int) -> None:
    assert units.memory_bytes(text) == size


@pytest.mark.parametrize("text", ["1GB", "512mb", "0", "lots", "1.5.Gi"])
def test_memory_rejects_non_kubernetes_suffixes(text: str) -> None:
    with pytest.raises(ValueError, match=r"memory quantity|more than zero"):
        units.memory_bytes(text)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1d", 86400), ("2h0m5s", 7205)])
def test_durations_convert_to_seconds(text: str, seconds: int) -> None:
    assert units.duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["30", "30 seconds", "1m1h", "5m5m", "h", ""])
def test_durations_reject_ambiguous_text(text: str) -> None:
    with pytest.raises(ValueError):
        units.duration_seconds(text)


@pytest.mark.parametrize(
    "expression",
    ["0 3 * * *", "*/15 * * * *", "0 22 * * 1-5", "0 0 1 * *", "5,35 8-18 * * 0", "0 8 * * MON-FRI", "0 3 1 JAN,JUL *",
     "0 3 ? * sun", "@daily", "@weekly"],
)  # fmt: skip
def test_cron_accepts_what_kubernetes_and_velero_accept(expression: str) -> None:
    units.check_cron(expression)


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [("0 3 * *", "has 4 fields"), ("60 * * * *", "out of range"), ("0 25 * * *", "out of range"), ("*/0 * * * *", "step"),
     ("0 5-2 * * *", "backwards"), ("0 3 * * FRI-MON", "backwards"), ("@every 1h", "unknown descriptor"),
     ("0 3 L * *", "not valid in the day of month"), ("0 3 * * 5#3", "not valid in the day of week"),
     ("H 3 * * *", "not valid in the minute"), ("0 3 * MON *", "not valid in the month"), ("0 0 3 * * *", "has 6 fields")],
)  # fmt: skip
def test_cron_rejects_what_kubernetes_refuses(expression: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        units.check_cron(expression)


def test_descriptors_spell_out_as_five_fields() -> None:
    assert units.standard_cron("@daily") == "0 0 * * *"
    assert units.standard_cron("0 3 * * *") == "0 3 * * *"
