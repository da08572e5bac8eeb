"""The data-layer documents: the generated object-storage table is current, the DR plan holds the
generated drill block and the runbook headings the alerts link to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from mnops.data.alerts import RUNBOOKS
from mnops.dr.drill import BEGIN, END, write_block

SCRIPT = ROOT / "scripts" / "dr" / "storage_table.py"


def test_object_storage_table_is_what_the_inventory_produces() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check", "docs/object-storage.md"], capture_output=True, text=True,
                            check=False, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = (ROOT / "docs" / "object-storage.md").read_text()
    assert text.splitlines()[1].endswith("(generated)")
    assert "`mnops-prod-postgres` | postgres | us-east-1" in text
    assert "to `mnops-prod-postgres-dr` in us-west-2" in text


def test_stale_object_storage_table_is_detected(tmp_path: Path) -> None:
    stale = tmp_path / "object-storage.md"
    stale.write_text((ROOT / "docs" / "object-storage.md").read_text().replace("mnops-prod-redis", "mnops-prod-cache"))
    result = subprocess.run([sys.executable, str(SCRIPT), "--check", str(stale)], capture_output=True, text=True, check=False,
                            timeout=120)  # fmt: skip
    assert result.returncode == 1
    assert "stale" in result.stderr


def test_dr_plan_has_the_generated_drill_block_with_measured_figures() -> None:
    text = (ROOT / "docs" / "disaster-recovery.md").read_text()
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert "| PostgreSQL 15 |" in block and "| Redis 7 |" in block, "run `make dr-drill` and commit the result"
    assert "FAIL" not in block


def test_dr_plan_has_a_heading_for_every_runbook_anchor() -> None:
    headings = (ROOT / "docs" / "disaster-recovery.md").read_text()
    for anchor in RUNBOOKS.values():
        title = anchor.removeprefix("runbook-").replace("-", " ")
        assert "### Runbook: " in headings and title.lower() in headings.lower(), anchor


def test_write_block_replaces_only_the_generated_part(tmp_path: Path) -> None:
    doc = tmp_path / "plan.md"
    doc.write_text(f"before\n{BEGIN}\nold\n{END}\nafter\n")
    write_block(doc, "new table")
    assert doc.read_text() == f"before\n{BEGIN}\nnew table\n{END}\nafter\n"
    (tmp_path / "bare.md").write_text("no markers\n")
    try:
        write_block(tmp_path / "bare.md", "x")
    except RuntimeError as error:
        assert "no generated drill block" in str(error)
    else:
        raise AssertionError("a document without markers must be refused")
