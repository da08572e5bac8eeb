"""Map the seed's 17 CI and 8 CD steps (section 3) to the workflow steps that perform them.

A workflow step claims a seed step by ending its name with `[seed CI n]` or `[seed CD n]`
(several numbers: `[seed CI 7, 8]`), so the claim shows in the GitHub UI too. CI step 1, the
trigger, is not a step but ci.yml's `on:` block (push, pull_request, schedule).

    mapping = seed_mapping(Path(".github/workflows"))   # {("CI", 7): [Claim(...)], ...}
    missing = uncovered(mapping)                         # [] when every seed step is claimed
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnops import yamlio

SEED_CI = (
    "Trigger (Push/PR/Schedule)",
    "Checkout Code",
    "Setup Environment",
    "Install Dependencies",
    "Run Linting (Black, Flake8, Pylint)",
    "Run Security Scan (Bandit, Safety)",
    "Run Unit Tests (pytest)",
    "Generate Coverage Report",
    "Build Docker Image",
    "Scan Docker Image (Trivy)",
    "Push to Registry",
    "Deploy to Staging",
    "Run Integration Tests",
    "Run Performance Tests",
    "Run E2E Tests",
    "Generate Test Report",
    "Notify Team",
)
SEED_CD = (
    "Approval Required",
    "Deploy to Production",
    "Health Check",
    "Smoke Tests",
    "Monitor Metrics",
    "Rollback on Failure",
    "Update Documentation",
    "Notify Team",
)
MARKER = re.compile(r"\[seed (CI|CD) ([0-9]+(?:, ?[0-9]+)*)\]")
TRIGGER_EVENTS = {"push", "pull_request", "schedule"}

Key = tuple[str, int]


@dataclass(frozen=True)
class Claim:
    workflow: str  # file name, e.g. ci.yml
    job: str
    step: str  # the step's name (or "on:" for the trigger)
    does_something: bool  # the step has `run` or `uses`


def load_workflow(path: Path) -> dict[str, Any]:
    loaded: dict[Any, Any] = yamlio.load(path.read_text())  # libyaml: the pure-Python loader was 0.13 s of a compile
    # PyYAML reads the key `on` as the boolean True (YAML 1.1); give it its name back.
    return {("on" if key is True else str(key)): value for key, value in loaded.items()}


def claims_in(path: Path) -> dict[Key, list[Claim]]:
    workflow = load_workflow(path)
    found: dict[Key, list[Claim]] = {}
    for job_id, job in sorted(workflow.get("jobs", {}).items()):
        for step in job.get("steps", []):
            name = str(step.get("name", ""))
            for kind, numbers in MARKER.findall(name):
                for number in re.split(r", ?", numbers):
                    claim = Claim(path.name, job_id, name, "run" in step or "uses" in step)
                    found.setdefault((kind, int(number)), []).append(claim)
    triggers = workflow.get("on", {})
    events = set(triggers) if isinstance(triggers, Mapping) else set(triggers if isinstance(triggers, list) else [triggers])
    if path.name == "ci.yml" and events >= TRIGGER_EVENTS:
        found.setdefault(("CI", 1), []).append(Claim(path.name, "(workflow)", "on: " + ", ".join(sorted(events)), True))
    return found


def seed_mapping(workflows: Path) -> dict[Key, list[Claim]]:
    mapping: dict[Key, list[Claim]] = {}
    for path in sorted(workflows.glob("*.yml")):
        for key, claims in claims_in(path).items():
            mapping.setdefault(key, []).extend(claims)
    return mapping


def all_keys() -> list[Key]:
    return [("CI", n) for n in range(1, len(SEED_CI) + 1)] + [("CD", n) for n in range(1, len(SEED_CD) + 1)]


def uncovered(mapping: Mapping[Key, list[Claim]]) -> list[Key]:
    """Seed steps with no claiming step that actually runs something."""
    return [key for key in all_keys() if not any(c.does_something for c in mapping.get(key, []))]


def unknown(mapping: Mapping[Key, list[Claim]]) -> list[Key]:
    """Claims of seed steps that do not exist (a typo such as [seed CI 18])."""
    return sorted(set(mapping) - set(all_keys()))


def markdown_table(mapping: Mapping[Key, list[Claim]]) -> str:
    lines = ["| seed step | what the seed says | workflow | job | step |", "| --- | --- | --- | --- | --- |"]
    for kind, number in all_keys():
        title = (SEED_CI if kind == "CI" else SEED_CD)[number - 1]
        for claim in mapping.get((kind, number), []) or [Claim("**missing**", "", "", False)]:
            step = MARKER.sub("", claim.step).strip()
            lines.append(f"| {kind} {number} | {title} | `{claim.workflow}` | `{claim.job}` | {step} |")
    return "\n".join(lines)
