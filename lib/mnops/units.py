"""Parsing of the value formats the inventory uses: CPU, memory, durations, cron.

Each parser raises ValueError with a sentence a person can act on; the schema's format
checkers and the cross-field rules both use them, so there is one definition of each.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_MEMORY_SUFFIXES = {
    "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}  # fmt: skip
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_CPU = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m)?$")
_DURATION_PART = re.compile(r"([0-9]+)(d|h|m|s)")
_DURATION = re.compile(r"^(?:[0-9]+(?:d|h|m|s))+$")
_DURATION_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def cpu_millicores(value: str | int | float) -> int:
    """'500m' -> 500, '1' -> 1000, 0.25 -> 250."""
    match = _CPU.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a CPU quantity such as '500m' or '1'")
    number = Decimal(match.group(1))
    millicores = number if match.group(2) else number * 1000
    if millicores != millicores.to_integral_value() or millicores <= 0:
        raise ValueError(f"{value!r} must be a positive whole number of millicores")
    return int(millicores)


def memory_bytes(value: str) -> int:
    """'512Mi' -> 536870912, '1G' -> 1000000000."""
    match = _MEMORY.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a memory quantity such as '512Mi' or '1Gi'")
    try:
        amount = Decimal(match.group(1)) * _MEMORY_SUFFIXES[match.group(2) or ""]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise ValueError(f"{value!r} is not a number") from exc
    if amount <= 0:
        raise ValueError(f"{value!r} must be more than zero")
    return int(amount)


def duration_seconds(value: str) -> int:
    """'1h30m' -> 5400. Units d, h, m, s; each at most once, largest first."""
    if not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration such as '30s', '5m' or '1h30m'")
    units = [unit for _, unit in _DURATION_PART.findall(value)]
    order = "dhms"
    if len(set(units)) != len(units) or units != sorted(units, key=order.index):
        raise ValueError(f"{value!r} repeats a unit or lists them out of order (write e.g. '1h30m')")
    return sum(int(n) * _DURATION_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))


_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def check_cron(expression: str) -> None:
    """Accept standard five-field cron: numbers, '*', ranges, lists and steps."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"{expression!r} has {len(fields)} fields; cron needs 5 (minute hour day month weekday)")
    for field, (low, high), name in zip(fields, _CRON_RANGES, _CRON_NAMES, strict=True):
        for item in field.split(","):
            _check_cron_item(item, low, high, name, expression)


def _check_cron_item(item: str, low: int, high: int, name: str, expression: str) -> None:
    base, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        raise ValueError(f"{expression!r}: step {step!r} in the {name} field must be a positive number")
    if base == "*":
        return
    bounds = base.split("-")
    if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
        raise ValueError(f"{expression!r}: {item!r} is not valid in the {name} field")
    numbers = [int(b) for b in bounds]
    if any(n < low or n > high for n in numbers) or numbers != sorted(numbers):
        raise ValueError(f"{expression!r}: {item!r} is outside {low}-{high} for the {name} field")
