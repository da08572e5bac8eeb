#!/usr/bin/env python3
"""Pin the image a service runs in one environment (used by .github/workflows/image.yml).

Usage:
    scripts/set_image.py --env dev --service memory-service --digest sha256:<64 hex> [--tag sha-<commit>]
    scripts/set_image.py --env dev --service memory-service --digest ... --inventory tests/fixtures/x

Edits `parameters.images.<service>` in inventory/classes/env/<env>.yml with a round-trip YAML
edit (comments and order kept) and nothing else; `make compile` then renders the change. Refuses
an unknown environment or service, a malformed digest, and a moving tag such as `latest`.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.images import is_moving_tag  # noqa: E402 (the one moving-tag list, shared with the inventory rules)

DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def unknown(kind: str, name: str, folder: Path) -> ValueError:
    """`unknown environment 'stagin' (did you mean 'staging'?); environments are dev, prod, staging`."""
    known = sorted(p.stem for p in folder.glob("*.yml") if p.stem != "init")
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    plural = "environments" if kind == "environment" else "services"
    return ValueError(f"unknown {kind} {name!r}{hint}; {plural} are {', '.join(known)}")


def set_image(inventory: Path, env: str, service: str, digest: str, tag: str | None) -> Path:
    env_file = inventory / "classes" / "env" / f"{env}.yml"
    if not env_file.exists():
        raise unknown("environment", env, env_file.parent)
    if not (inventory / "classes" / "services" / f"{service}.yml").exists():
        raise unknown("service", service, inventory / "classes" / "services")
    if not DIGEST.match(digest):
        raise ValueError(f"digest {digest!r} is not sha256:<64 lowercase hex>")
    if tag is not None and (not TAG.match(tag) or is_moving_tag(tag)):
        raise ValueError(f"tag {tag!r} is not an immutable image tag")
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # a digest stays on one line
    data = yaml.load(env_file.read_text())
    images = data["parameters"].setdefault("images", {})
    pin = images.get(service)
    if not isinstance(pin, dict):
        pin = images[service] = {}
    # Edit in place so comments on the block survive; a tag not given is dropped (it would name another image).
    if tag:
        pin["tag"] = tag
    else:
        pin.pop("tag", None)
    pin["digest"] = digest
    with env_file.open("w") as out:
        yaml.dump(data, out)
    return env_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--digest", required=True)
    parser.add_argument("--tag")
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventory")
    args = parser.parse_args(argv)
    try:
        path = set_image(args.inventory, args.env, args.service, args.digest, args.tag)
    except ValueError as error:
        print(f"set_image: {error}", file=sys.stderr)
        return 1
    print(f"{path}: images.{args.service} = {args.digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
