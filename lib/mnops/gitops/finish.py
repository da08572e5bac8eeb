"""After Kapitan: the bootstrap folders and the deployment guide, written into the compile's
temporary folder so that scripts/compile.py swaps them into place together with compiled/."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mnops.gitops.bootstrap import write_bootstrap
from mnops.gitops.guide import render_guide
from mnops.gitops.plan import delivery_plan

BOOTSTRAP = "argocd"
GUIDE = Path("docs") / "deployment-guide.md"


def finish_delivery(work: Path, parameters_by_target: Mapping[str, Mapping[str, Any]]) -> None:
    """work/compiled exists; writes work/argocd/<target>/ and work/docs/deployment-guide.md."""
    for parameters in parameters_by_target.values():
        write_bootstrap(work / "compiled", work / BOOTSTRAP, delivery_plan(parameters))
    guide = work / GUIDE
    guide.parent.mkdir(parents=True, exist_ok=True)
    guide.write_text(render_guide(parameters_by_target))
