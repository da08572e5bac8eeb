"""The consequence sections `make diff` renders, in this order (scripts/diff.py reads SECTIONS)."""

from __future__ import annotations

from mnops.review import SectionBuilder, alert_behaviour, cost, dr_impact, reachability

SECTIONS: list[SectionBuilder] = [
    cost.build,
    reachability.build,
    alert_behaviour.build,
    dr_impact.build,
]
