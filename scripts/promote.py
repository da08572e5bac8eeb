#!/usr/bin/env python3
"""Promote one service's image from an environment to the next one, as a reviewable change.

Usage (normally through `make promote SERVICE=memory-service FROM=dev TO=staging`):
    .venv/bin/python scripts/promote.py --service memory-service --from dev --to staging
    .venv/bin/python scripts/promote.py --service memory-service --from staging --to prod --tag 1.4.2
    .venv/bin/python scripts/promote.py ... --no-diff        # skip the rendered diff at the end

Copies the `images.<service>` block (tag and digest) of inventory/classes/env/<FROM>.yml into
inventory/classes/env/<TO>.yml with a ruamel.yaml round-trip edit (comments, quotes and key
order survive), recompiles compiled/ and shows the rendered diff against HEAD, ready to commit
as a PR. The edit is undone if the target environment's rules reject the image (prod needs a
digest, for example). Refuses, with a clear message and exit status 1: an unknown service or
environment, a step that skips an environment or goes backwards (promotion is dev -> staging ->
prod; prod-dr shares prod's class), an image FROM does not run, or --tag/--digest that FROM's
image does not match.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

ROOT = Path(__file__).resolve().parent.parent
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


def check_step(service: str, source: str, destination: str, services: list[str]) -> None:
    for env in (source, destination):
        if env not in ORDER:
            raise Refused(f"unknown environment {env!r}; environments are {', '.join(ORDER)} (prod-dr follows prod)")
    if service not in services:
        raise Refused(f"unknown service {service!r}; services are {', '.join(services)}")
    step = ORDER.index(destination) - ORDER.index(source)
    if step != 1:
        path = " -> ".join(ORDER)
        why = "skips an environment" if step > 1 else "does not move forward"
        raise Refused(f"{source} -> {destination} {why}; promotion goes {path}, one step at a time")


def image_block(document: Any, service: str) -> CommentedMap | None:
    images = ((document or {}).get("parameters") or {}).get("images") or {}
    block = images.get(service)
    return block if isinstance(block, CommentedMap) else None


def promote(root: Path, service: str, source: str, destination: str, *, tag: str | None = None, digest: str | None = None) -> str:
    """Edit env/<destination>.yml in place; return a one-line description. Raises Refused."""
    check_step(service, source, destination, known_services(root))
    yaml = round_trip()
    source_doc = yaml.load(env_file(root, source).read_text())
    image = image_block(source_doc, service)
    if image is None or not any(k in image for k in IMAGE_KEYS):
        raise Refused(f"{source} does not run an image of {service} (no images.{service} in {env_file(root, source).name})")
    for wanted, key in ((tag, "tag"), (digest, "digest")):
        if wanted is not None and image.get(key) != wanted:
            raise Refused(
                f"{source} runs {service} with {key} {image.get(key)!r}, not {wanted!r}: promote only what {source} runs"
            )
    path = env_file(root, destination)
    doc = yaml.load(path.read_text())
    params = doc.setdefault("parameters", CommentedMap())
    images = params.setdefault("images", CommentedMap())
    target = images.get(service)
    before = {k: target.get(k) for k in IMAGE_KEYS if k in target} if isinstance(target, CommentedMap) else {}
    after = {k: image[k] for k in IMAGE_KEYS if k in image}
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", required=True)
    parser.add_argument("--from", dest="source", required=True, help="environment that runs the image now")
    parser.add_argument("--to", dest="destination", required=True, help="the next environment")
    parser.add_argument("--tag", help="refuse unless FROM runs exactly this tag")
    parser.add_argument("--digest", help="refuse unless FROM runs exactly this digest")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository checkout to edit")
    parser.add_argument("--no-diff", action="store_true", help="do not show the rendered diff against HEAD")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    path = env_file(root, args.destination)
    original = path.read_text() if path.exists() else None
    try:
        message = promote(root, args.service, args.source, args.destination, tag=args.tag, digest=args.digest)
    except Refused as refusal:
        print(f"promote refused: {refusal}", file=sys.stderr)
        return 1
    print(message)
    if path.read_text() == original:
        return 0
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
