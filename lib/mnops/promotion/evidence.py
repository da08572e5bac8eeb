"""The promotion pull request's evidence: the verdict, every check, and a forced override if any."""

from __future__ import annotations

from mnops.promotion.health import Verdict


def evidence_markdown(
    service: str, source: str, destination: str, *, image: str, verdict: Verdict, forced_reason: str | None
) -> str:
    """Markdown for the PR body: one line verdict, then a table of the checks per cluster."""
    lines = [f"### Promotion evidence: {service} {source} -> {destination}", "", f"Image: `{image}`", ""]
    lines.append(f"**{verdict.line(service, source, destination)}**")
    if forced_reason is not None:
        state = "despite failed checks" if not verdict.healthy else "although every check passed"
        lines += ["", f"> **Forced** with `--force` {state}. Reason given: {forced_reason}"]
    lines += ["", "| cluster | check | result | evidence |", "| --- | --- | --- | --- |"]
    for check in verdict.checks:
        detail = check.detail.replace("|", "\\|")
        lines.append(f"| {check.cluster} | {check.name} | {'pass' if check.ok else 'FAIL'} | {detail} |")
    return "\n".join(lines) + "\n"
