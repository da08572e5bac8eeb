#!/usr/bin/env python3
"""Promote one service's image from an environment to the next one, as a reviewable change.

Usage (normally through `make promote SERVICE=memory-service FROM=dev TO=staging`):
    scripts/promote.py --service memory-service --from staging --to prod \
        --argocd-url https://argocd.{cluster}.example --prometheus-url https://prometheus.{cluster}.example
    scripts/promote.py ... --recorded tests/fixtures/promotion/healthy.json   # recorded API answers
    scripts/promote.py ... --force --reason "hotfix for INC-123, staging Prometheus down"
    scripts/promote.py ... --tag 1.4.2 --digest sha256:...   # refuse unless FROM runs exactly this
    scripts/promote.py ... --evidence evidence.md --no-diff   # write the PR body; skip the diff

First the health gate (lib/mnops/promotion): every serving cluster of FROM must have run exactly
the image FROM pins, healthily: its Argo CD Application Synced and Healthy with that image, the
Rollout completed and its AnalysisRuns Successful, no P0/P1 alert firing for the service, and
every SLO's remaining error budget at or above review.promotion.min_error_budget_remaining.
Evidence comes from Argo CD (/api/v1/applications, token in ARGOCD_AUTH_TOKEN) and Prometheus
(/api/v1/query); URLs may contain {cluster} and default to ARGOCD_URL and PROMETHEUS_URL. The
verdict is one line; the evidence is printed as Markdown (the promote workflow puts it in the
PR body). `--force --reason` overrides a refusal and the reason is logged in the evidence.

Then the edit: the `images.<service>` block (tag and digest) of inventory/classes/env/<FROM>.yml
is copied into inventory/classes/env/<TO>.yml with a ruamel.yaml round-trip edit (comments,
quotes and key order survive), compiled/ is recompiled and the rendered diff against HEAD
shown, ready to commit as a PR. The edit is undone if TO's rules reject the image. Refuses,
with one line and exit status 1: an unknown service or environment (with a did-you-mean), a
step that skips an environment or goes backwards (dev -> staging -> prod; prod-dr shares
prod's class), an image FROM does not run, --tag/--digest that FROM's image does not match, a
bare tag that would replace TO's digest pin, and a release FROM did not run healthily.
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.promotion.api import Evidence, EvidenceUnavailable, Live, Recorded  # noqa: E402
from mnops.promotion.evidence import evidence_markdown  # noqa: E402
from mnops.promotion.health import Check, Verdict, judge  # noqa: E402
from mnops.promotion.release import release_targets  # noqa: E402

ORDER = ("dev", "staging", "prod")
IMAGE_KEYS = ("tag", "digest")


class Refused(Exception):
    """A promotion that must not happen; the message says why and what to do instead."""


def round_trip() -> YAML:
    yaml = YAML()  # round-trip mode: keeps comments, quotes, flow style and key order
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def env_file(root: Path, env: str) -> Path:
    return root / "inventory" / "classes" / "env" / f"{env}.yml"


def known_services(root: Path) -> list[str]:
    yaml = round_trip()
    names: set[str] = set()
    for path in sorted((root / "inventory" / "classes" / "services").glob("*.yml")):
        params = (yaml.load(path.read_text()) or {}).get("parameters") or {}
        names |= set(params.get("services") or {})
    return sorted(names)


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_step(service: str, source: str, destination: str, services: list[str]) -> None:
    for env in (source, destination):
        if env not in ORDER:
            raise Refused(
                f"unknown environment {env!r}{did_you_mean(env, ORDER)}; "
                f"environments are {', '.join(ORDER)} (prod-dr follows prod)"
            )
    if service not in services:
        raise Refused(f"unknown service {service!r}{did_you_mean(service, services)}; services are {', '.join(services)}")
    step = ORDER.index(destination) - ORDER.index(source)
    if step != 1:
        path = " -> ".join(ORDER)
        why = "skips an environment" if step > 1 else "does not move forward"
        raise Refused(f"{source} -> {destination} {why}; promotion goes {path}, one step at a time")


def image_block(document: Any, service: str) -> CommentedMap | None:
    images = ((document or {}).get("parameters") or {}).get("images") or {}
    block = images.get(service)
    return block if isinstance(block, CommentedMap) else None


def source_pin(root: Path, service: str, source: str, *, tag: str | None = None, digest: str | None = None) -> CommentedMap:
    """The image block FROM pins for the service, checked against the --tag/--digest guards."""
    image = image_block(round_trip().load(env_file(root, source).read_text()), service)
    if image is None or not any(k in image for k in IMAGE_KEYS):
        raise Refused(f"{source} does not run an image of {service} (no images.{service} in {env_file(root, source).name})")
    for wanted, key in ((tag, "tag"), (digest, "digest")):
        if wanted is not None and image.get(key) != wanted:
            raise Refused(
                f"{source} runs {service} with {key} {image.get(key)!r}, not {wanted!r}: promote only what {source} runs"
            )
    return image


def promote(root: Path, service: str, source: str, destination: str, *, tag: str | None = None, digest: str | None = None) -> str:
    """Edit env/<destination>.yml in place; return a one-line description. Raises Refused."""
    check_step(service, source, destination, known_services(root))
    yaml = round_trip()
    image = source_pin(root, service, source, tag=tag, digest=digest)
    path = env_file(root, destination)
    doc = yaml.load(path.read_text())
    params = doc.setdefault("parameters", CommentedMap())
    images = params.setdefault("images", CommentedMap())
    target = images.get(service)
    before = {k: target.get(k) for k in IMAGE_KEYS if k in target} if isinstance(target, CommentedMap) else {}
    after = {k: image[k] for k in IMAGE_KEYS if k in image}
    if before.get("digest") and not after.get("digest"):
        raise Refused(
            f"{destination} pins {service} by digest and {source} runs the bare tag {after.get('tag')!r}: a promotion "
            f"never replaces a digest pin by a tag; pin {source} by digest first (scripts/set_image.py --env {source})"
        )
    if before == after:
        return f"{destination} already runs {service} {describe(after)}; nothing to promote"
    if not isinstance(target, CommentedMap):
        target = images[service] = CommentedMap()
    for key in IMAGE_KEYS:  # edit in place so comments attached to the block survive
        if key in image:
            target[key] = image[key]
        elif key in target:
            del target[key]
    out = StringIO()
    yaml.dump(doc, out)
    path.write_text(out.getvalue())
    return f"{service}: {destination} {describe(before) or '(none)'} -> {describe(after)} (from {source})"


def describe(image: dict[str, Any]) -> str:
    text = str(image.get("tag", ""))
    if image.get("digest"):
        text += f"@{str(image['digest'])[:19]}..."
    return text


def evidence_source(args: argparse.Namespace) -> Evidence | None:
    """Recorded answers if given, else the live APIs if their URLs are known, else None."""
    if args.recorded is not None:
        return Recorded.load(args.recorded)
    if args.argocd_url and args.prometheus_url:
        return Live(args.argocd_url, args.prometheus_url, os.environ.get("ARGOCD_AUTH_TOKEN", ""))
    return None


def health_verdict(root: Path, service: str, source: str, pin: CommentedMap, evidence: Evidence | None) -> Verdict:
    """Judge FROM's serving clusters; refuse outright when compiled/ does not run FROM's pin."""
    from mnops.kapitan_inventory import render_inventory

    if evidence is None:
        raise Refused(
            "no evidence that the release ran healthily: set ARGOCD_URL and PROMETHEUS_URL (or --argocd-url and "
            "--prometheus-url, or --recorded FILE; make: RECORDED=FILE), or override with --force --reason '...' "
            "(make: FORCE=1 REASON='...')"
        )
    if not (root / "compiled").is_dir():
        raise Refused(f"{root / 'compiled'} does not exist: run `make compile` first")
    targets = release_targets(root / "compiled", render_inventory(root / "inventory"), service, source)
    wanted = str(pin.get("tag", "")) + (f"@{pin['digest']}" if pin.get("digest") else "")
    for target in targets:
        if not target.image.endswith(wanted):
            raise Refused(f"compiled/{target.cluster} runs {target.image}, not {wanted}: run `make compile` first")
    return judge(evidence, targets)


def forced_verdict(source: str, refusal: Exception) -> Verdict:
    """The verdict of a promotion forced past a gate that could not look: why, in the one-line
    answer and the evidence table, not "no serving cluster runs it" (what an empty verdict means)."""
    return Verdict((Check(source, "health gate", False, f"not checked: {refusal}"),))


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", required=True)
    parser.add_argument("--from", dest="source", required=True, help="environment that runs the image now")
    parser.add_argument("--to", dest="destination", required=True, help="the next environment")
    parser.add_argument("--tag", help="refuse unless FROM runs exactly this tag")
    parser.add_argument("--digest", help="refuse unless FROM runs exactly this digest")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository checkout to edit")
    parser.add_argument("--no-diff", action="store_true", help="do not show the rendered diff against HEAD")
    parser.add_argument("--argocd-url", default=os.environ.get("ARGOCD_URL"), help="Argo CD API base URL ({cluster} allowed)")
    parser.add_argument(
        "--prometheus-url", default=os.environ.get("PROMETHEUS_URL"), help="Prometheus base URL ({cluster} allowed)"
    )
    parser.add_argument("--recorded", type=Path, help="recorded Argo CD and Prometheus answers (JSON) instead of the live APIs")
    parser.add_argument("--evidence", type=Path, help="write the evidence Markdown (the PR body) here instead of printing it")
    parser.add_argument("--force", action="store_true", help="promote even if the health gate refuses (needs --reason)")
    parser.add_argument("--reason", help="why --force is needed; logged in the evidence")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = arguments().parse_args(argv)
    if args.force and not (args.reason or "").strip():
        print("promote refused: --force needs --reason '...' (make: FORCE=1 REASON='...'); it is logged in the pull request",
              file=sys.stderr)  # fmt: skip
        return 1
    root = args.root.resolve()
    path = env_file(root, args.destination)
    original = path.read_text() if path.exists() else None
    try:
        check_step(args.service, args.source, args.destination, known_services(root))
        pin = source_pin(root, args.service, args.source, tag=args.tag, digest=args.digest)
        try:
            verdict = health_verdict(root, args.service, args.source, pin, evidence_source(args))
        except (Refused, EvidenceUnavailable) as refusal:
            if not args.force:
                raise Refused(str(refusal)) from refusal
            verdict = forced_verdict(args.source, refusal)
        wanted = str(pin.get("tag", "")) + (f"@{pin['digest']}" if pin.get("digest") else "")
        forced = args.reason.strip() if args.force else None
        report = evidence_markdown(
            args.service, args.source, args.destination, image=wanted, verdict=verdict, forced_reason=forced
        )
        print(verdict.line(args.service, args.source, args.destination))
        if args.evidence:
            args.evidence.write_text(report)
        else:
            print(report)
        if not verdict.healthy and not args.force:
            return 1
        message = promote(root, args.service, args.source, args.destination, tag=args.tag, digest=args.digest)
    except Refused as refusal:
        print(f"promote refused: {refusal}", file=sys.stderr)
        return 1
    print(message)
    if path.read_text() == original:
        return 0
    return recompile_and_show(root, args, path, original)


def recompile_and_show(root: Path, args: argparse.Namespace, path: Path, original: str | None) -> int:
    """Compile the edited tree; undo the edit if TO rejects the image, else show the diff."""
    python = sys.executable
    compiled = subprocess.run([python, str(root / "scripts" / "compile.py")], cwd=root, check=False)
    if compiled.returncode != 0:
        path.write_text(original or "")
        print(f"promote refused: {args.destination} rejects this image (see above); {path.name} was restored", file=sys.stderr)
        return 1
    if not args.no_diff:
        subprocess.run([python, str(root / "scripts" / "diff.py"), "--repo", str(root), "--base", "HEAD"], check=False)
    print(f"Review, then commit: git add -A && git commit -m 'Promote {args.service} {args.source} -> {args.destination}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
