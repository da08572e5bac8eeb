"""What a compile read and what it wrote, keyed by content, so `make diff` can trust a current compile.

    record = CompileRecord(inputs_digest(repo), outputs_digest(repo), parameters)
    write_record(repo, record)                  # scripts/compile.py, after `make compile` installed its outputs
    record = read_record(repo)                  # scripts/diff.py: reuse compiled/ only if both digests still match

The inputs digest covers every file under COMPILE_INPUTS as it is on disk (tracked, edited or
new) and the tools that run the compile (Python and every installed package's version); the
outputs digest covers compiled/ and argocd/, the trees `make diff` compares. A record whose
inputs digest equals the working tree's now, and whose outputs digest equals a copy of compiled/
and argocd/ taken now, says that copy is exactly what compiling the working tree gives (the
compile is deterministic): a changed input, a hand edit of compiled/, another Python or package
version each change a digest, and the diff compiles instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import sysconfig
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What a compile reads: if none of it differs from the base, neither can the output.
# The Helm the chart renders run on is pinned by its layer's checksum (make compile renders the charts).
COMPILE_INPUTS = ("inventory", "components", "lib", "scripts", "docs/templates", "requirements.txt", "charts.lock",
                  "tools/helm-layer.sha256")  # fmt: skip
# What `make diff` compares of a compile's outputs (the charts' renders are made from compiled/).
COMPARED_OUTPUTS = ("compiled", "argocd")
RECORD = Path(".cache") / "compile-record.json"
RECORD_FORMAT = "compile-record-2"  # bump when what a digest covers changes
SKIPPED = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}

Parameters = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class CompileRecord:
    inputs: str  # inputs_digest() when the compile started (and, unchanged, when it finished)
    outputs: str  # outputs_digest() of what it installed
    parameters: Parameters  # every target's rendered inventory, as JSON gives it back


def tool_versions() -> str:
    """Python and the installed packages (their dist-info folder names carry the versions): the
    same inputs compiled by another Kapitan, reclass or PyYAML may give other bytes."""
    site = Path(sysconfig.get_paths()["purelib"])
    packages = sorted(p.name for p in site.glob("*.dist-info")) if site.is_dir() else []
    return "\n".join([RECORD_FORMAT, sys.version, *packages])


def _digest_files(root: Path, entries: tuple[str, ...], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for entry in entries:
        top = root / entry
        if top.is_file():
            files = [top]
        else:
            files = []
            for folder, dirs, names in os.walk(top):
                dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
                files += [Path(folder, name) for name in sorted(names) if not name.endswith(".pyc")]
        for path in files:
            relative = path.relative_to(root).as_posix()
            # A symlink is its target's name (the compile writes none; a hand-made one must not match a file).
            content = b"link:" + os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            digest.update(f"{relative}\0{len(content)}\0".encode())
            digest.update(content)
        digest.update(f"end of {entry}\0".encode())
    return digest.hexdigest()


def inputs_digest(root: Path) -> str:
    """Every compile input of the checkout at `root`, as it is on disk now, and the tool versions."""
    return _digest_files(root, COMPILE_INPUTS, tool_versions())


def outputs_digest(root: Path) -> str:
    """compiled/ and argocd/ under `root`: what `make diff` would read as the compiled side."""
    return _digest_files(root, COMPARED_OUTPUTS)


def write_record(root: Path, record: CompileRecord) -> None:
    """Replace the record atomically (a reader sees the old or the new one, never half)."""
    path = root / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"format": RECORD_FORMAT, "inputs": record.inputs, "outputs": record.outputs,
                       "parameters": record.parameters}, sort_keys=True, default=str)  # fmt: skip
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".compile-record-", delete=False) as handle:
        handle.write(text)
    os.chmod(handle.name, 0o644)  # a cache file like any other, not a secret
    os.replace(handle.name, path)


def read_record(root: Path) -> CompileRecord | None:
    try:
        data = json.loads((root / RECORD).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        return None
    return CompileRecord(str(data["inputs"]), str(data["outputs"]), data["parameters"])


def forget_record(root: Path) -> None:
    """Drop the record: the outputs are about to change in a way it does not describe."""
    (root / RECORD).unlink(missing_ok=True)
