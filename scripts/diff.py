#!/usr/bin/env python3
"""Show what a change does to the rendered output: objects added, removed and changed per target.

Usage (normally through `make diff`):
    .venv/bin/python scripts/diff.py                          # working tree against origin/main
    .venv/bin/python scripts/diff.py --base HEAD~1            # against any git revision
    .venv/bin/python scripts/diff.py --markdown diff.md       # also write a PR comment in Markdown
    .venv/bin/python scripts/diff.py --repo /path/to/checkout # another checkout of this repository

When no compile input (inventory, components, lib, scripts, docs/templates, requirements.txt)
differs from the base, nothing is compiled and the answer is "no changes". Otherwise both sides
are compiled from scratch into temporary folders, in parallel: the working tree (with
uncommitted edits) by its own scripts/compile.py, the base by the scripts/compile.py of a
`git archive` of the base revision, so the comparison never trusts a committed compiled/ tree.
The terminal output lists each changed object with a unified diff, then the risky changes
(replicas, PodDisruptionBudgets, NetworkPolicies, RBAC, secret references, image tags, deleted
stateful objects). Exit status 0 whether or not there are changes; 2 if a compile failed.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.gitops.diffing import diff_trees, render_markdown, render_text  # noqa: E402

DEFAULT_BASE = "origin/main"


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def resolve_base(repo: Path, base: str) -> str | None:
    """The revision to compare with; a clone without an `origin` remote falls back to local main."""
    for candidate in (base, "main") if base == DEFAULT_BASE else (base,):
        try:
            git(repo, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        except subprocess.CalledProcessError:
            continue
        if candidate != base:
            print(f"diff: {base} does not exist here; comparing with {candidate}", file=sys.stderr)
        return candidate
    return None


# What a compile reads: if none of it differs from the base, neither can the output.
COMPILE_INPUTS = ("inventory", "components", "lib", "scripts", "docs/templates", "requirements.txt", "charts.lock")


def inputs_unchanged(repo: Path, base: str) -> bool:
    """True when the working tree's compile inputs (tracked edits and new files) equal the base's."""
    same = subprocess.run(["git", "-C", str(repo), "diff", "--quiet", base, "--", *COMPILE_INPUTS], check=False)
    untracked = git(repo, "ls-files", "--others", "--exclude-standard", "--", *COMPILE_INPUTS)
    return same.returncode == 0 and not untracked.strip()


def export_revision(repo: Path, revision: str, destination: Path) -> None:
    """The files of `revision` (no .git), like a fresh checkout."""
    archive = git(repo, "archive", "--format=tar", revision)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")


def compile_tree(source: Path, output_root: Path) -> subprocess.CompletedProcess[str]:
    """Compile the checkout at `source` into output_root/compiled (+ argocd/, docs/)."""
    env = {**os.environ, "PYTHONPATH": str(source / "lib")}
    command = [sys.executable, str(source / "scripts" / "compile.py"), "--inventory", str(source / "inventory"),
               "--output", str(output_root / "compiled"), "--parallelism", "1"]  # fmt: skip
    compiled = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True, check=False)
    return render_charts_into(source, output_root) if compiled.returncode == 0 else compiled


def render_charts_into(source: Path, output_root: Path) -> subprocess.CompletedProcess[str]:
    """Hook for the third-party charts: output_root/rendered/<cluster>/<chart>.yaml from `source`'s
    lock and compiled values (scripts/charts.py), so chart bumps and values changes show as objects."""
    lock = source / "charts.lock"
    command = [sys.executable, str(ROOT / "scripts" / "charts.py"), "--inventory", str(source / "inventory"),
               "--compiled", str(output_root / "compiled"), "--lock", str(lock), "render", "--summarise-crds",
               "--output", str(output_root / "rendered")]  # fmt: skip
    if not lock.exists():  # a base from before charts were locked: nothing to render
        return subprocess.CompletedProcess(command, 0, "", "")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=DEFAULT_BASE, help="git revision to compare against (default origin/main)")
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout whose working tree is compared")
    parser.add_argument("--markdown", type=Path, help="also write the report as Markdown (PR comment) to this file")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    args = parser.parse_args(argv)
    started = time.monotonic()
    repo = args.repo.resolve()
    base = resolve_base(repo, args.base)
    if base is None:
        print(f"diff: unknown base revision {args.base!r} in {repo} (try BASE=HEAD~1 or BASE=main)", file=sys.stderr)
        return 2
    args.base = base
    if inputs_unchanged(repo, base):
        print("no changes in compiled/ or argocd/ (no compile input differs from the base)")
        print(f"make diff took {time.monotonic() - started:.1f}s (base {base})")
        return 0
    with tempfile.TemporaryDirectory(prefix="mnops-diff-") as tmp:
        work = Path(tmp)
        export_revision(repo, args.base, work / "base-src")
        with ThreadPoolExecutor(max_workers=2) as pool:
            base_job = pool.submit(compile_tree, work / "base-src", work / "base")
            head_job = pool.submit(compile_tree, repo, work / "head")
            results = {"base " + args.base: base_job.result(), "working tree": head_job.result()}
        for side, result in results.items():
            if result.returncode != 0:
                print(f"diff: compiling the {side} failed:\n{result.stderr.strip()}", file=sys.stderr)
                return 2
        changes = diff_trees(work / "base", work / "head")
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    sys.stdout.write(render_text(changes, color=color))
    if args.markdown:
        args.markdown.write_text(render_markdown(changes, args.base))
        print(f"Markdown report written to {args.markdown}")
    print(f"make diff took {time.monotonic() - started:.1f}s (base {args.base})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
