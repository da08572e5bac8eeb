"""Review sections of `make diff` and the PR comment: consequences of a change, one module each.

Each section module exposes one function `build(review: ReviewInput) -> Section | None` and is
listed in registry.SECTIONS (scripts/diff.py renders them in that order). A section returns None
when the change does not touch its concern. Sections never read a committed compiled/ tree: both
sides are compiled from scratch by scripts/diff.py and handed in here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mnops.gitops.diffing import TargetChanges
from mnops.review.compiled import changed_clusters, managed_changed, managers

# Risk classes map to required reviewers (inventory: review.reviewers_by_risk).
RISK_CLASSES = (
    "rbac", "network", "data-deletion", "secrets", "cost", "infrastructure-replacement", "delivery", "observability",
)  # fmt: skip


@dataclass(frozen=True)
class ReviewInput:
    """Both sides of a change: repository checkouts, compiled roots and rendered inventories."""

    base_repo: Path  # checkout of the base revision (inventory/, components/, ...)
    head_repo: Path  # the working tree being reviewed
    base_root: Path  # folder holding the base's compiled/ and argocd/
    head_root: Path  # folder holding the head's compiled/ and argocd/
    base_parameters: Mapping[str, Mapping[str, Any]]  # target name -> merged inventory parameters
    head_parameters: Mapping[str, Mapping[str, Any]]
    # The object-level diff of the two compiled trees (per target), computed once for every section.
    changes: Mapping[str, TargetChanges] = field(default_factory=dict)
    # Where the alert-behaviour section keeps promtool's verdicts, keyed by content (make diff: .cache/alert-sweeps).
    sweep_cache: Path | None = None

    @cached_property
    def changed_clusters(self) -> tuple[str, ...]:
        """Clusters whose compiled folder differs between the sides, read once for every section."""
        return tuple(changed_clusters(self.base_root, self.head_root))

    @cached_property
    def manager_of(self) -> dict[str, str]:
        """cluster -> the management cluster that creates its cloud resources, from either side's inventory."""
        return managers(self.base_parameters, self.head_parameters)

    @cached_property
    def touched_clusters(self) -> tuple[str, ...]:
        """changed_clusters, plus those whose managed resources under compiled/<management>/infra/infra-<cluster>/
        changed: a change there is the workload cluster's, though its own folder is the same."""
        managed = managed_changed(self.base_root, self.head_root, self.manager_of)
        return tuple(sorted(set(self.changed_clusters) | set(managed)))


@dataclass(frozen=True)
class RiskItem:
    """One risky consequence; risk_class is one of RISK_CLASSES."""

    risk_class: str
    target: str
    message: str


@dataclass(frozen=True)
class Section:
    """One block of the review: plain text for the terminal, Markdown for the PR comment."""

    key: str  # stable identifier, e.g. "cost"
    title: str  # heading, e.g. "Cost and capacity"
    text: str  # terminal rendering (no colour codes)
    markdown: str  # body of a collapsed <details> block
    risks: tuple[RiskItem, ...] = field(default=())
    inline: bool = False  # one sentence: shown as it is, without a heading or a collapsed block


SectionBuilder = Callable[[ReviewInput], "Section | None"]
