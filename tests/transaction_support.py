"""A stand-in compile for the transaction tests: replaces a small old output set by a new one
through the same lock, recovery and commit as scripts/compile.py, in a few milliseconds, so
that a test can kill it at every step of the swap.

    python tests/transaction_support.py <root>      # (MNOPS_COMPILE_KILL_AT=<n> to die at step n)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))

from mnops.transaction import Stage, output_lock, recover

# Outputs as the compile lays them out: folders replaced whole, single files, a nested file.
OLD: dict[str, str] = {
    "compiled/prod/manifests/app.yaml": "replicas: 2\n",
    "compiled/prod/README.md": "old prod\n",
    "compiled/gone/only-in-old.yaml": "removed by the new set\n",
    "argocd/prod/app.yaml": "old app\n",
    "docs/runbooks/ServiceDown.md": "old runbook\n",
    "docs/guide.md": "old guide\n",
}
NEW: dict[str, str] = {
    "compiled/prod/manifests/app.yaml": "replicas: 3\n",
    "compiled/prod/README.md": "new prod\n",
    "compiled/added/only-in-new.yaml": "added by the new set\n",
    "argocd/prod/app.yaml": "new app\n",
    "docs/runbooks/ServiceDown.md": "new runbook\n",
    "docs/guide.md": "new guide\n",
}
UNITS = {"compiled": "compiled", "argocd": "argocd", "docs/runbooks": "docs/runbooks", "docs/guide.md": "docs/guide.md"}
# Files beside the outputs that no compile owns: they must survive every kill untouched.
UNOWNED: dict[str, str] = {"docs/operations.md": "hand-written\n", "inventory/keep.yml": "a: 1\n"}


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)


def main(root: Path) -> int:
    with output_lock(root):
        note = recover(root, locked=True)
        if note:
            print(note, file=sys.stderr)
        stage = Stage.create(root)
        try:
            write_files(stage.new, NEW)
            stage.commit(UNITS)
        finally:
            stage.discard()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
