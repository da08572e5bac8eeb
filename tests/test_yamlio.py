"""Reading YAML: what charts render is read the same whether or not Kapitan was imported."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

# kube-prometheus-stack's CRDs list a bare `=` (YAML 1.1's "value" type) among their operators.
RENDER_WITH_VALUE_TYPE = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ops}\ndata:\n  operators: [=, '!=']\n"


def test_a_bare_equals_sign_reads_as_text_without_kapitan_imported() -> None:
    """PyYAML's safe loaders cannot construct `=`; importing Kapitan registered a constructor for it, so a
    script reading renders without importing Kapitan failed with a ConstructorError."""
    program = (
        "import sys\n"
        "from mnops.charts.render import documents\n"
        f"found = documents({RENDER_WITH_VALUE_TYPE!r})\n"
        "assert 'kapitan' not in sys.modules, 'the probe must run without Kapitan'\n"
        "print(found[0]['data']['operators'])\n"
    )
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False,
                         env={"PYTHONPATH": str(ROOT / "lib")})  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['=', '!=']"
