"""docs/runbooks/ is exactly what the alert catalogue and the inventory produce (drift gate)."""

from __future__ import annotations

import sys
from pathlib import Path

from observability_support import ROOT, TARGETS, target

from mnops.observability.alerts import CATALOGUE
from mnops.observability.runbooks import runbook_pages

sys.path.insert(0, str(ROOT / "scripts"))
import runbooks as runbooks_script

RUNBOOKS = ROOT / "docs" / "runbooks"


def test_committed_runbooks_are_up_to_date() -> None:
    pages = runbook_pages([target(name) for name in TARGETS])
    stale = sorted(n for n, text in pages.items() if not (RUNBOOKS / n).exists() or (RUNBOOKS / n).read_text() != text)
    assert not stale, f"run `make runbooks` and commit: {stale}"


def test_check_mode_reports_a_stale_runbook(tmp_path: Path) -> None:
    out = tmp_path / "runbooks"
    assert runbooks_script.main(["--output", str(out)]) == 0
    (out / "HighErrorRate.md").write_text("edited by hand\n")
    assert runbooks_script.main(["--output", str(out), "--check"]) == 1


def test_every_runbook_has_the_five_sections() -> None:
    for entry in CATALOGUE:
        text = (RUNBOOKS / f"{entry.name}.md").read_text()
        for heading in ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation", "## Escalation"):
            assert heading in text, f"{entry.name} lacks {heading}"


def test_docs_list_every_alert() -> None:
    text = (ROOT / "docs" / "observability.md").read_text()
    assert "## Alerts and routing" in text
    missing = [e.name for e in CATALOGUE if f"`{e.name}`" not in text]
    assert not missing, f"docs/observability.md does not list {missing}"
