"""Generate an inventory with N synthetic services in place of the real ones (make bench, tests).

    from synthetic import synthetic_inventory
    inventory = synthetic_inventory(ROOT, tmp / "synthetic", services=1000)

The copy keeps every cluster target of the real inventory but `local` (a laptop's Compose
stack, not a cluster), every platform class and every environment; only the services change.
Each service depends on the one before it, every other one on Redis, all on PostgreSQL, and
each has a public path, so every generator (routes, network policies, dashboards, rules,
analysis) works at full width.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ruamel.yaml import YAML

DIGEST = "sha256:" + "ab" * 32


def service_names(services: int) -> list[str]:
    width = max(3, len(str(services - 1)))
    return [f"svc-{i:0{width}d}" for i in range(services)]


def synthetic_inventory(root: Path, base: Path, services: int) -> Path:
    """A copy of root/inventory under base/inventory with `services` generated service classes."""
    inventory = base / "inventory"
    shutil.copytree(root / "inventory", inventory)
    service_dir = inventory / "classes" / "services"
    for path in service_dir.glob("*.yml"):
        path.unlink()
    names = service_names(services)
    for index, name in enumerate(names):
        deps = f"[{names[index - 1]}]" if index else "[]"
        (service_dir / f"{name}.yml").write_text(
            "parameters:\n  services:\n"
            f"    {name}:\n      description: Synthetic service {index}.\n"
            f"      image: {{repository: ghcr.io/machinenativeops/{name}}}\n"
            f"      public_path: /api/{name}\n"
            f"      dependencies: {{redis: {str(index % 2 == 0).lower()}, postgres: true, services: {deps}}}\n"
            f"      config: {{SERVICE_NAME: {name}}}\n"
            f"      secret_refs: [{{name: {name}-db, keys: [DATABASE_URL]}}]\n"
        )
    (inventory / "targets" / "local.yml").unlink(missing_ok=True)  # the clusters only
    (service_dir / "init.yml").write_text("classes:\n" + "".join(f"  - services.{n}\n" for n in names))
    yaml = YAML()
    for env_file in (inventory / "classes" / "env").glob("*.yml"):
        document = yaml.load(env_file.read_text())
        parameters = document["parameters"]
        parameters.pop("services", None)  # per-service overrides name the real services
        parameters.get("tracing", {}).pop("service_sampling", None)
        parameters["images"] = {n: {"tag": "1.0.0", "digest": DIGEST} for n in names}
        with env_file.open("w") as handle:
            yaml.dump(document, handle)
    return inventory
