"""Every review section of `make diff` and the PR comment, in the order they are shown.

To add a section: write lib/mnops/review/<name>.py with a `TITLE` and `build(review: ReviewInput) ->
Section | None` and add it to SECTIONS. A section that finds nothing returns None and is named in one
closing "checked, no change" line, so a reviewer can tell "nothing changed" from "not looked at".
The reviewers section is not in the list: it is built last, from the risks of the object diff and
of every section (see review()).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from mnops.gitops.diffing import all_risks
from mnops.review import (
    ReviewInput,
    RiskItem,
    Section,
    SectionBuilder,
    alert_behaviour,
    cost,
    dr_impact,
    provenance,
    reachability,
    reviewers,
    secret_mappings,
)
from mnops.review.compiled import managed_folder

SECTIONS: list[SectionBuilder] = [
    provenance.build,
    cost.build,
    reachability.build,
    alert_behaviour.build,
    dr_impact.build,
    secret_mappings.build,
]


@dataclass(frozen=True)
class Review:
    """The rendered consequences of a change: sections in order (reviewers last) and the routing."""

    sections: tuple[Section, ...]
    routing: reviewers.Routing


def title_of(builder: SectionBuilder) -> str:
    title: str = sys.modules[builder.__module__].TITLE
    return title


def unchanged_section(titles: list[str]) -> Section:
    line = "Checked, no change: " + "; ".join(titles) + "."
    return Section("unchanged", "Checked, no change", line + "\n", line + "\n", inline=True)


def build_sections(review_input: ReviewInput) -> list[Section]:
    built = [(builder, builder(review_input)) for builder in SECTIONS]
    sections = [section for _, section in built if section is not None]
    quiet = [title_of(builder) for builder, section in built if section is None]
    if review_input.changes and quiet:
        sections.append(unchanged_section(quiet))
    return sections


def managed_only(review_input: ReviewInput, cluster: str) -> str | None:
    """The management cluster's folder for a cluster whose change is only there (a node group, RDS or
    ElastiCache setting): a section's risk about it is owned there, not under compiled/<cluster>/,
    which the change does not touch."""
    manager = review_input.manager_of.get(cluster)
    if manager is None or cluster in review_input.changed_clusters or cluster not in review_input.touched_clusters:
        return None
    return f"/{managed_folder(Path(), cluster, manager)}/"


def review(review_input: ReviewInput) -> Review:
    """Run every section, then route the risks of the object diff and of the sections to reviewers."""
    sections = build_sections(review_input)
    risks: list[RiskItem] = []
    paths: dict[RiskItem, str] = {}
    for risk in all_risks(review_input.changes):
        item = RiskItem(risk.risk_class, risk.target, f"{risk.key}: {risk.reason}")
        risks.append(item)
        changes = review_input.changes[risk.target]
        where = changes.head_files.get(risk.key) or changes.base_files.get(risk.key)
        if where:
            paths[item] = "/" + where
    for item in (item for section in sections for item in section.risks):
        risks.append(item)
        managed = managed_only(review_input, item.target)
        if managed and item not in paths:
            paths[item] = managed
    routing_section, routing = reviewers.build(review_input, risks, paths)
    if routing_section is not None:
        sections.append(routing_section)
    return Review(tuple(sections), routing)
