#!/usr/bin/env python3
"""Generate docs/infrastructure.md: per-cluster network, capacity, data services, buckets, DNS, cost.

Usage (normally through `make infra-docs`; `make compile` writes it too, through render_docs):
    .venv/bin/python scripts/infra_docs.py --write docs/infrastructure.md   # regenerate

One section per management cluster in the inventory (the targets that compile `infra`), listing the
clusters whose `infra.management_cluster` names it. Whether the committed file is current is
`make check`'s question, as for every generated file (lib/mnops/generated.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.infra.docs import render  # noqa: E402
from mnops.infra.management import SUPPORTED_CLOUDS, managed_clusters, managed_targets  # noqa: E402
from mnops.inventory import load_target  # noqa: E402
from mnops.kapitan_inventory import render_inventory  # noqa: E402


def generate(inventory: Path) -> str:
    return render_docs(render_inventory(inventory))


def render_docs(parameters: Mapping[str, Mapping[str, Any]]) -> str:
    """docs/infrastructure.md for every management cluster of the rendered inventory."""
    managers = [n for n, p in parameters.items() if any(e.get("output_path") == "infra" for e in p["kapitan"]["compile"])]
    pages = []
    for name in sorted(managers):
        target = load_target(name, parameters[name])
        left_out = [
            f"{n} ({p['cloud']['provider']})"
            for n, p in managed_targets(target, parameters).items()
            if p["cloud"]["provider"] not in SUPPORTED_CLOUDS
        ]
        pages.append(render(target, managed_clusters(target, parameters), left_out))
    return "\n".join(pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, required=True, help="the file to (re)write")
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventory")
    args = parser.parse_args(argv)
    text = generate(args.inventory)
    path = args.write if args.write.is_absolute() else ROOT / args.write
    path.write_text(text)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
