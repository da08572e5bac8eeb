#!/usr/bin/env python3
"""Show what a change does to the rendered output: objects added, removed and changed per target.

Usage (normally through `make diff`):
    .venv/bin/python scripts/diff.py                          # working tree against origin/main
    .venv/bin/python scripts/diff.py --base HEAD~1            # against any git revision
    .venv/bin/python scripts/diff.py --markdown diff.md       # also write a PR comment in Markdown
    .venv/bin/python scripts/diff.py --labels labels.txt --reviewers reviewers.txt   # for the PR workflow
    .venv/bin/python scripts/diff.py --full                   # never summarise long object diffs
    .venv/bin/python scripts/diff.py --repo /path/to/checkout # another checkout of this repository

When no compile input (inventory, components, lib, scripts, docs/templates, requirements.txt,
charts.lock) differs from the base, nothing is compiled and the answer is "no changes".
Otherwise both sides are compiled into temporary folders, in parallel: the working tree (with
uncommitted edits) by its own scripts/compile.py, the base by the scripts/compile.py of a
`git archive` of the base revision, so the comparison never trusts a committed compiled/ tree.

Every cache is keyed by content, so none can give a stale answer:
- the base: its compiled tree, charts' renders, rendered inventory and parsed YAML are kept in
  .cache/diff/ under a digest of the git tree ids of its compile inputs and the tool versions
  (Python, installed packages, Helm), so a second run against the same base compiles only the
  working tree;
- the working tree: when `make compile` recorded digests of the inputs it read and the outputs it
  installed (.cache/compile-record.json) and both still match the working tree and a copy of its
  compiled/ and argocd/, that copy is the head and nothing is compiled at all; else the head the
  last `make diff` compiled is kept in .cache/diff-head/ under the digest of every compile input
  as it is on disk and the tools (the compile record's inputs digest), so running `make diff`
  again on the same working tree (another base, --markdown, CI's retry) compiles nothing either;
- the charts: a cluster whose chart inputs equal the base's reuses the base's renders;
- YAML: each file is parsed once per content (mnops.yamlio), shared by both sides and the sections;
- promtool's verdicts on each side's alert rules: .cache/alert-sweeps/, under a digest of the suites,
  the rule files' content and promtool's version (mnops.review.alert_behaviour).

The output lists each changed object (list items matched by name, label-only changes as one
line, long diffs summarised), then every review section of mnops.review.registry (where each
change came from, secret mappings, ..., required reviewers), then the risky changes. Exit
status 0 whether or not there are changes; 2 if a compile failed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops import yamlio  # noqa: E402
from mnops.gitops.compile_record import (  # noqa: E402
    COMPARED_OUTPUTS,
    COMPILE_INPUTS,
    inputs_digest,
    outputs_digest,
    read_record,
    tool_versions,
)
from mnops.gitops.diff_render import render_markdown, render_text  # noqa: E402
from mnops.gitops.diffing import diff_loaded, load_tree  # noqa: E402
from mnops.review import ReviewInput  # noqa: E402
from mnops.review.registry import review  # noqa: E402
from mnops.transaction import recover  # noqa: E402

DEFAULT_BASE = "origin/main"
CACHE_FORMAT = "diff-cache-3"  # bump when what is cached changes shape (3: chart renders written by libyaml)
CACHE_ENTRIES = 3  # base trees kept; each is a few MB
HEAD_CACHE_ENTRIES = 1  # working-tree compiles kept: the last one is what a repeated `make diff` asks for
Parameters = dict[str, Mapping[str, Any]]


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


def inputs_unchanged(repo: Path, base: str) -> bool:
    """True when the working tree's compile inputs (tracked edits and new files) equal the base's."""
    same = subprocess.run(["git", "-C", str(repo), "diff", "--quiet", base, "--", *COMPILE_INPUTS], check=False)
    untracked = git(repo, "ls-files", "--others", "--exclude-standard", "--", *COMPILE_INPUTS)
    return same.returncode == 0 and not untracked.strip()


def export_revision(repo: Path, revision: str, destination: Path) -> None:
    """The files of `revision` (no .git), like a fresh checkout, without its committed compiled/ and
    argocd/: the base is compiled, never read from what was committed (and they are most of the files)."""
    outputs = [f":(exclude){tree}" for tree in COMPARED_OUTPUTS]
    archive = git(repo, "archive", "--format=tar", revision, "--", ".", *outputs)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")


@dataclass(frozen=True)
class Side:
    """One compiled side: the root holding compiled/ and argocd/ (and rendered/ once charts are
    rendered), its parameters if its compile wrote them, and how it was obtained."""

    root: Path
    result: subprocess.CompletedProcess[str]
    parameters: Parameters | None = None
    reused: bool = False  # the working tree's own compiled/ and argocd/, current per `make compile`'s record
    cached: bool = False  # compiled (and rendered) by an earlier `make diff` of the same inputs: .cache/diff-head/


def _supports(source: Path, option: str) -> bool:
    """Whether the checkout's scripts/compile.py has an option (a base revision may predate it)."""
    try:
        return option in (source / "scripts" / "compile.py").read_text()
    except OSError:
        return False


def compile_tree(source: Path, output_root: Path, parallelism: int = 1, render: bool = True) -> Side:
    """Compile the checkout at `source` into output_root/compiled (+ argocd/), and render its charts
    unless `render` is False (the head renders after the base is known: render_head_charts).
    Only what the diff compares is generated, not fsynced, and the parameters come with it, when
    that checkout's compile.py knows how (--scratch, --parameters-out)."""
    env = {**os.environ, "PYTHONPATH": str(source / "lib")}
    command = [sys.executable, str(source / "scripts" / "compile.py"), "--inventory", str(source / "inventory"),
               "--output", str(output_root / "compiled"), "--parallelism", str(parallelism)]  # fmt: skip
    parameters_file = output_root / "parameters.json"
    if _supports(source, "--scratch") and _supports(source, "--parameters-out"):
        command += ["--scratch", "--parameters-out", str(parameters_file)]
    compiled = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True, check=False)
    parameters = json.loads(parameters_file.read_text()) if compiled.returncode == 0 and parameters_file.is_file() else None
    result = render_charts_into(source, output_root) if compiled.returncode == 0 and render else compiled
    return Side(output_root, result, parameters)


def reuse_compiled(repo: Path, output_root: Path) -> Side | None:
    """The working tree's compiled/ and argocd/ as the head, if `make compile` recorded them as the
    output of exactly the inputs and tools there now (mnops.gitops.compile_record). The copy is
    what gets checked and read, so an edit made meanwhile cannot slip in unchecked."""
    record = read_record(repo)
    if record is None or record.inputs != inputs_digest(repo):
        return None
    for tree in COMPARED_OUTPUTS:
        if (repo / tree).is_dir():
            shutil.copytree(repo / tree, output_root / tree, symlinks=True)
    if outputs_digest(output_root) != record.outputs:
        for tree in COMPARED_OUTPUTS:
            shutil.rmtree(output_root / tree, ignore_errors=True)
        return None
    return Side(output_root, subprocess.CompletedProcess([], 0, "", ""), dict(record.parameters), reused=True)


def head_side(repo: Path, output_root: Path, parallelism: int, key: str) -> Side:
    """The working tree's compile: `make compile`'s own if its record says it is current, else an
    earlier `make diff`'s of the same inputs, else compiled now (its charts rendered later)."""
    return (
        reuse_compiled(repo, output_root)
        or cached_head(repo, output_root, key)
        or compile_tree(repo, output_root, parallelism, render=False)
    )


def render_charts_into(source: Path, output_root: Path, clusters: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Hook for the third-party charts: output_root/rendered/<cluster>/<chart>.yaml from `source`'s
    lock and compiled values (scripts/charts.py), so chart bumps and values changes show as objects.
    With `clusters`, only those clusters are rendered."""
    lock = source / "charts.lock"
    command = [sys.executable, str(ROOT / "scripts" / "charts.py"), "--inventory", str(source / "inventory"),
               "--compiled", str(output_root / "compiled"), "--lock", str(lock), "render", "--summarise-crds",
               "--output", str(output_root / "rendered"), *(f"--target={name}" for name in clusters)]  # fmt: skip
    if not lock.exists():  # a base from before charts were locked: nothing to render
        return subprocess.CompletedProcess(command, 0, "", "")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _link_or_copy(source: str, destination: str) -> None:
    """Hard-link a cached render (never modified in place) into the head; copy across file systems."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def render_head_charts(  # noqa: PLR0917 - both sides' checkouts, roots and parameters
    source: Path, head_root: Path, base_source: Path, base_root: Path, base: Parameters, head: Parameters
) -> subprocess.CompletedProcess[str]:
    """Render the head's charts, reusing the base's renders of every cluster whose chart inputs are
    unchanged (same lock, same helm-values files, same chart catalog and Kubernetes versions): on a
    one-value change that leaves one cluster or none to render instead of every chart of every cluster.
    A cluster the base rendered nothing for (the base renders every cluster) reuses that nothing."""
    same_lock = (
        (base_source / "charts.lock").is_file()
        and (source / "charts.lock").is_file()
        and ((base_source / "charts.lock").read_bytes() == (source / "charts.lock").read_bytes())
    )
    to_render = []
    for values in sorted((head_root / "compiled").glob("*/helm-values")):
        cluster = values.parent.name
        before, after = base.get(cluster) or {}, head.get(cluster) or {}
        reusable = (
            same_lock
            and before.get("charts") == after.get("charts")
            and before.get("kubernetes") == after.get("kubernetes")
            and _files(base_root / "compiled" / cluster / "helm-values") == _files(values)
        )
        if not reusable:
            to_render.append(cluster)
        elif (base_root / "rendered" / cluster).is_dir():
            shutil.copytree(base_root / "rendered" / cluster, head_root / "rendered" / cluster, copy_function=_link_or_copy)
    if not to_render:
        return subprocess.CompletedProcess([], 0, "", "")
    return render_charts_into(source, head_root, to_render)


def render_parameters(source: Path) -> Parameters:
    """Each target's merged inventory parameters, as the compile renders them (Kapitan + reclass):
    for a base whose compile.py cannot write them itself."""
    from mnops.kapitan_inventory import render_inventory

    # Through JSON: plain dicts and lists, the same shape the cache gives back.
    return dict(json.loads(json.dumps(render_inventory(source / "inventory"), default=str)))


# --- cache of compiled base trees -----------------------------------------------------------------


def helm_identity() -> str:
    """The Helm that renders the charts cached with the base (its version), or that there is none."""
    from mnops.charts.render import helm_version

    helm = os.environ.get("HELM") or str(ROOT / ".tools" / "helm" / "helm")  # as scripts/charts.py finds it
    try:
        return helm_version(helm)
    except (OSError, subprocess.CalledProcessError):
        return f"no helm at {helm}"


def base_cache_key(repo: Path, base: str) -> str:
    """The git tree ids of the base's compile inputs and the tools that compile and render them:
    equal keys, equal compiled output, renders and parses."""
    listing = git(repo, "ls-tree", base, "--", *COMPILE_INPUTS)
    tools = "\n".join([CACHE_FORMAT, tool_versions(), helm_identity(), yamlio.PARSER])
    return hashlib.sha256(tools.encode() + listing).hexdigest()[:32]


def head_cache_key(repo: Path) -> str:
    """Every compile input of the working tree as it is on disk (edits and new files included) and
    the tools: equal keys, equal compiled output, renders and parses."""
    tools = "\n".join([CACHE_FORMAT, helm_identity(), yamlio.PARSER])
    return hashlib.sha256(f"{tools}\n{inputs_digest(repo)}".encode()).hexdigest()[:32]


def cache_dir(repo: Path) -> Path:
    return repo / ".cache" / "diff"


def head_cache_dir(repo: Path) -> Path:
    """Apart from the bases: a working tree's compile never takes a base's place in the cache."""
    return repo / ".cache" / "diff-head"


def cached_base(repo: Path, key: str, folder: Path | None = None) -> tuple[Path, Parameters] | None:
    """A cached base's tree and parameters (or a cached head's, from `folder`); its parsed YAML goes
    into mnops.yamlio's memory."""
    entry = (folder or cache_dir(repo)) / key
    try:
        parameters = json.loads((entry / "parameters.json").read_text())
        parses = pickle.loads((entry / "parsed.pickle").read_bytes())  # noqa: S301 - written by store_base
    except (OSError, ValueError, pickle.UnpicklingError):
        parses = None
    if not (isinstance(parses, dict) and all(isinstance(v, tuple) and len(v) == 2 for v in parses.values())):
        shutil.rmtree(entry, ignore_errors=True)  # incomplete, or from an older make diff: make room for a new one
        return None
    yamlio.remember(parses)  # keyed by the digest of each file's bytes: a parse of other bytes is never used
    entry.touch()  # most recently used
    return entry / "tree", parameters


def store_base(  # noqa: PLR0917 - the entry, what it holds, and where
    repo: Path, key: str, tree: Path, parameters: Parameters, folder: Path | None = None, keep: int = CACHE_ENTRIES
) -> None:
    """Copy a compiled base (or head, into `folder`) and its parsed YAML into the cache (complete or
    not at all), keeping the newest `keep` entries."""
    folder = folder or cache_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
    shutil.copytree(tree, staging / "tree", symlinks=True)
    (staging / "parameters.json").write_text(json.dumps(parameters, sort_keys=True))
    (staging / "parsed.pickle").write_bytes(pickle.dumps(yamlio.parsed(), protocol=pickle.HIGHEST_PROTOCOL))
    try:
        staging.rename(folder / key)
    except OSError:  # another run stored the same key first
        shutil.rmtree(staging, ignore_errors=True)
    entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
    for old in entries[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


# --- the run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    base_root: Path
    head_root: Path
    base_parameters: Parameters
    head_parameters: Parameters
    head_reused: bool
    head_cached: bool


def cached_head(repo: Path, output_root: Path, key: str) -> Side | None:
    """The working tree as an earlier `make diff` compiled it (compiled/, argocd/ and rendered/),
    if its compile inputs and the tools are what they were then (`key`: head_cache_key)."""
    hit = cached_base(repo, key, head_cache_dir(repo))
    if hit is None:
        return None
    tree, parameters = hit
    # reuse_compiled may have made output_root (and found compiled/ not current): copied into it.
    shutil.copytree(tree, output_root, symlinks=True, copy_function=_link_or_copy, dirs_exist_ok=True)
    return Side(output_root, subprocess.CompletedProcess([], 0, "", ""), parameters, cached=True)


def compile_both(repo: Path, base: str, work: Path) -> Compiled | str:
    """Compiled roots and parameters of base and head, or the error of the side that failed.

    In parallel: the head (reused or compiled) in one thread; the base's export and, when it is
    not cached, its compile in the other."""
    key, head_key = base_cache_key(repo, base), head_cache_key(repo)
    hit = cached_base(repo, key)
    with ThreadPoolExecutor(max_workers=2) as pool:
        # With the base cached, the head compile has both cores.
        head_job = pool.submit(head_side, repo, work / "head", 1 if hit is None else 2, head_key)
        export_revision(repo, base, work / "base-src")  # sections read the base's inventory files too
        base_job: Future[Side] | None = None if hit else pool.submit(compile_tree, work / "base-src", work / "base")
        head = head_job.result()
        base_side = base_job.result() if base_job else None
    results = {"working tree": head.result, **({f"base {base}": base_side.result} if base_side else {})}
    for side, result in results.items():
        if result.returncode != 0:
            return f"compiling the {side} failed:\n{result.stderr.strip()}"
    head_parameters = head.parameters if head.parameters is not None else render_parameters(repo)
    if base_side is None and hit is not None:
        base_root, base_parameters = hit
    else:
        base_root = work / "base"
        base_parameters = (
            base_side.parameters if base_side and base_side.parameters is not None else render_parameters(work / "base-src")
        )
    if not head.cached:  # a cached head holds its renders
        rendered = render_head_charts(repo, work / "head", work / "base-src", base_root, base_parameters, head_parameters)
        if rendered.returncode != 0:
            return f"rendering the working tree's charts failed:\n{rendered.stderr.strip()}"
    if hit is None:
        load_tree(base_root)  # parse the base once here, so its cache entry carries the parses
        store_base(repo, key, base_root, base_parameters)
    # Kept only when the inputs did not move while it compiled: the key must name what was compiled.
    if not (head.reused or head.cached) and head_cache_key(repo) == head_key:
        load_tree(work / "head")
        store_base(repo, head_key, work / "head", head_parameters, head_cache_dir(repo), HEAD_CACHE_ENTRIES)
    return Compiled(base_root, work / "head", base_parameters, head_parameters, head.reused, head.cached)


def recover_outputs(repo: Path) -> None:
    """Finish or discard what a killed `make compile` left in the checkout, as every reader of the
    outputs does first (mnops.transaction)."""
    note = recover(repo)
    if note:
        print(f"diff: {note}", file=sys.stderr)


def write_lines(path: Path | None, lines: tuple[str, ...]) -> None:
    if path is not None:
        path.write_text("".join(f"{line}\n" for line in lines))


def unwritable(outputs: Sequence[Path | None]) -> str | None:
    """The first output file whose folder does not exist (or that is a folder), so a typo fails in
    one line before any compile rather than in a traceback after it."""
    for path in outputs:
        if path is not None and not path.parent.is_dir():
            return f"diff: cannot write {path}: no folder {path.parent}"
        if path is not None and path.is_dir():
            return f"diff: cannot write {path}: it is a folder"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=DEFAULT_BASE, help="git revision to compare against (default origin/main)")
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout whose working tree is compared")
    parser.add_argument("--markdown", type=Path, help="also write the report as Markdown (PR comment) to this file")
    parser.add_argument("--labels", type=Path, help="write the PR labels (risk/<class>), one per line, to this file")
    parser.add_argument("--reviewers", type=Path, help="write the required reviewers (@login, @org/team), one per line")
    parser.add_argument("--full", action="store_true", help="show every object diff whole on the terminal")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    args = parser.parse_args(argv)
    started = time.monotonic()
    problem = unwritable((args.markdown, args.labels, args.reviewers))
    if problem:
        print(problem, file=sys.stderr)
        return 2
    repo = args.repo.resolve()
    base = resolve_base(repo, args.base)
    if base is None:
        print(f"diff: unknown base revision {args.base!r} in {repo} (try BASE=HEAD~1 or BASE=main)", file=sys.stderr)
        return 2
    recover_outputs(repo)
    write_lines(args.labels, ())
    write_lines(args.reviewers, ())
    if inputs_unchanged(repo, base):
        print("no changes in compiled/ or argocd/ (no compile input differs from the base)")
        if args.markdown:
            args.markdown.write_text(f"## Rendered changes against `{base}`\n\nNo compile input differs from the base.\n")
        print(f"make diff took {time.monotonic() - started:.1f}s (base {base})")
        return 0
    with tempfile.TemporaryDirectory(prefix="mnops-diff-") as tmp:
        compiled = compile_both(repo, base, Path(tmp))
        if isinstance(compiled, str):
            print(f"diff: {compiled}", file=sys.stderr)
            return 2
        if compiled.head_reused:
            print("diff: the working tree's compiled/ is what `make compile` made of these inputs; not compiling it again",
                  file=sys.stderr)  # fmt: skip
        if compiled.head_cached:
            print("diff: an earlier make diff compiled these same inputs (.cache/diff-head/); using its compile",
                  file=sys.stderr)  # fmt: skip
        changes = diff_loaded(load_tree(compiled.base_root), load_tree(compiled.head_root))
        review_input = ReviewInput(
            Path(tmp) / "base-src", repo, compiled.base_root, compiled.head_root,
            compiled.base_parameters, compiled.head_parameters, changes, repo / ".cache" / "alert-sweeps",
        )  # fmt: skip
        result = review(review_input)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    sys.stdout.write(render_text(changes, result.sections, color=color, full=args.full))
    if args.markdown:
        args.markdown.write_text(render_markdown(changes, base, result.sections))
        print(f"Markdown report written to {args.markdown}")
    write_lines(args.labels, result.routing.labels)
    write_lines(args.reviewers, result.routing.reviewers)
    print(f"make diff took {time.monotonic() - started:.1f}s (base {base})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
