"""Review section: required reviewers and labels from the risk classes a change touches.

The inventory maps each risk class to reviewers (`review.reviewers_by_risk` in common.yml). The
mapping is read from the **base** side: a pull request cannot lower its own review by editing
it (a change to the mapping itself is reviewed under the base's rules). Output: GitHub labels
`risk/<class>`, the reviewers to request, and CODEOWNERS-style lines (path, then owners) for the
files that carry each risk, so branch protection or a reviewer can read them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mnops.review import ReviewInput, RiskItem, Section

LABEL_PREFIX = "risk/"


@dataclass(frozen=True)
class Routing:
    """What the pr-diff workflow applies: labels, reviewers to request, CODEOWNERS-style lines."""

    labels: tuple[str, ...]
    reviewers: tuple[str, ...]  # as in CODEOWNERS: @login or @org/team
    codeowners: tuple[str, ...]


def reviewers_by_risk(parameters: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """The union over targets of review.reviewers_by_risk (normally one mapping from common.yml)."""
    merged: dict[str, list[str]] = {}
    for params in parameters.values():
        for risk_class, people in ((params.get("review") or {}).get("reviewers_by_risk") or {}).items():
            merged.setdefault(str(risk_class), [])
            merged[risk_class] += [p for p in people if p not in merged[risk_class]]
    return merged


def route(risks: Iterable[RiskItem], paths: Mapping[RiskItem, str], owners: Mapping[str, list[str]]) -> Routing:
    """Labels and reviewers for the risk classes present; a path per risk for the CODEOWNERS lines."""
    risks = list(risks)
    classes = sorted({r.risk_class for r in risks})
    reviewers = sorted({person for c in classes for person in owners.get(c, [])})
    lines: dict[str, set[str]] = {}
    for risk in risks:
        people = owners.get(risk.risk_class, [])
        if people:
            lines.setdefault(paths.get(risk, f"/compiled/{risk.target}/"), set()).update(people)
    codeowners = tuple(f"{path} {' '.join(sorted(people))}" for path, people in sorted(lines.items()))
    return Routing(tuple(LABEL_PREFIX + c for c in classes), tuple(reviewers), codeowners)


def build(review: ReviewInput, risks: Iterable[RiskItem], paths: Mapping[RiskItem, str]) -> tuple[Section | None, Routing]:
    """The section (None when nothing is risky) and the routing the workflow applies."""
    risks = list(risks)
    owners = reviewers_by_risk(review.base_parameters or review.head_parameters)
    routing = route(risks, paths, owners)
    if not risks:
        return None, routing
    counts: dict[str, int] = {}
    for risk in risks:
        counts[risk.risk_class] = counts.get(risk.risk_class, 0) + 1
    unowned = sorted(c for c in counts if not owners.get(c))
    rows = [f"{c}: {n} risk(s) -> {' '.join(owners.get(c, [])) or '(no reviewers set)'}" for c, n in sorted(counts.items())]
    text = [*rows, f"labels: {' '.join(routing.labels)}"]
    markdown = ["| risk class | risks | required reviewers |", "| --- | --- | --- |"]
    markdown += [f"| `{c}` | {n} | {' '.join(owners.get(c, [])) or '_none set_'} |" for c, n in sorted(counts.items())]
    markdown += ["", "Labels: " + " ".join(f"`{label}`" for label in routing.labels), "", "CODEOWNERS-compatible:", "", "```"]
    markdown += [*routing.codeowners, "```"]
    if unowned:
        note = f"no reviewers set for {', '.join(unowned)} (inventory: review.reviewers_by_risk)"
        text.append(note)
        markdown.append(f"\n:warning: {note}")
    section = Section("reviewers", "Required reviewers by risk", "\n".join(text), "\n".join(markdown))
    return section, routing
