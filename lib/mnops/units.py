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


# Kubernetes CronJobs, Velero schedules and Argo CD sync windows all parse cron with robfig/cron's
# standard parser: five fields, month and weekday names, `?`, and these descriptors.
CRON_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}  # fmt: skip
_CRON_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_CRON_RANGES = "minute 0-59, hour 0-23, day of month 1-31, month 1-12, day of week 0-7"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_NAMES: dict[str, dict[str, int]] = {
    "month": {name: number for number, name in enumerate(_MONTHS, start=1)},
    "day of week": {name: number for number, name in enumerate(_WEEKDAYS)},
}


def standard_cron(expression: str) -> str:
    """The five-field form of a valid expression: descriptors such as @daily spelled out."""
    return CRON_DESCRIPTORS.get(expression.strip().lower(), expression)


def check_cron(expression: str) -> None:
    """Accept what Kubernetes' cron parser accepts: five fields (numbers, names such as MON-FRI or
    JAN, `*`, `?`, ranges, lists, steps) or a descriptor such as @daily.

    croniter (a maintained parser) checks the values; it also knows Quartz and Jenkins extensions
    (L, W, #, H) and wrapping ranges (FRI-MON) that Kubernetes refuses, so those are refused first.
    """
    from croniter import croniter  # imported here: units stays importable for the schema checker's start-up
    from croniter.croniter import CroniterError

    if expression.startswith("@") and expression.strip().lower() not in CRON_DESCRIPTORS:
        raise ValueError(f"{expression!r}: unknown descriptor; use one of {', '.join(sorted(CRON_DESCRIPTORS))} or five fields")
    fields = standard_cron(expression).split()
    if len(fields) != 5:
        raise ValueError(f"{expression!r} has {len(fields)} fields; cron needs 5 (minute hour day month weekday)")
    for field, name in zip(fields, _CRON_FIELDS, strict=True):
        for item in field.split(","):
            _check_cron_item(item, name, expression)
    try:
        croniter(" ".join(fields))
    except CroniterError as error:
        if "out of range" in str(error):
            raise ValueError(f"{expression!r}: a value is out of range ({_CRON_RANGES})") from None
        raise ValueError(f"{expression!r}: {error}") from None


def _cron_value(token: str, field: str, expression: str) -> int | None:
    """A token's number (names as numbers); None for `*` and `?`."""
    if token in ("*", "?"):
        return None
    if token.isdigit():
        return int(token)
    names = _CRON_NAMES.get(field, {})
    if token.upper() in names:
        return names[token.upper()]
    allowed = f" or a name ({', '.join(names)})" if names else ""
    raise ValueError(f"{expression!r}: {token!r} is not valid in the {field} field (a number{allowed})")


def _check_cron_item(item: str, field: str, expression: str) -> None:
    base, _, step = item.partition("/")
    if step and not step.isdigit():
        raise ValueError(f"{expression!r}: step {step!r} in the {field} field must be a positive number")
    bounds = [_cron_value(token, field, expression) for token in base.split("-")]
    if len(bounds) > 2 or (len(bounds) == 2 and None in bounds):
        raise ValueError(f"{expression!r}: {item!r} is not a valid range in the {field} field")
    if len(bounds) == 2 and bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
        raise ValueError(f"{expression!r}: {item!r} runs backwards in the {field} field (Kubernetes does not wrap ranges)")
