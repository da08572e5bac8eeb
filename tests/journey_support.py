"""A user's everyday journey on a copy of the repository: add or remove a service exactly as the
README and the deployment guide say, then run the gate's pieces on the copy.

    repo = copy_repository(tmp)                 # the tracked files, nothing else
    add_service(repo, "audit-service")          # the README's "Add a service" recipe
    regenerate(repo)                            # `make compile`
    failures = gate(repo)                       # {step: output} of every failing gate piece

Which services, environments and clusters exist is read from the copy's inventory, never listed
here, so the journey holds when services or clusters are added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PROD_DIGEST = "sha256:" + "0123456789abcdef" * 4


def copy_repository(destination: Path) -> Path:
    """The repository's tracked files (what a fresh clone has) copied to destination."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    for relative in listed.decode().split("\0"):
        source = ROOT / relative
        if relative and source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def run(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """One of the copy's own scripts, with the copy's lib/ (what `make` runs there)."""
    env = {**os.environ, "PYTHONPATH": str(repo / "lib")}
    return subprocess.run([PYTHON, *argv], cwd=repo, capture_output=True, text=True, env=env, check=False, timeout=600)


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)  # the inventory's style: list items indented under their key
    return yaml


def load(path: Path) -> Any:
    return _yaml().load(path.read_text())


def dump(path: Path, document: Any) -> None:
    with path.open("w") as handle:
        _yaml().dump(document, handle)


def services_in(repo: Path) -> list[str]:
    """Services listed in services/init.yml, in its order."""
    classes = load(repo / "inventory" / "classes" / "services" / "init.yml")["classes"]
    return [c.removeprefix("services.") for c in classes]


def environment_files(repo: Path) -> list[Path]:
    return sorted((repo / "inventory" / "classes" / "env").glob("*.yml"))


def environment_class(repo: Path, environment: str) -> Path:
    """The class file of one environment (inventory/classes/env/<file>.yml setting cluster.environment)."""
    (path,) = [p for p in environment_files(repo) if load(p)["parameters"]["cluster"]["environment"] == environment]
    return path


def swap_roles(repo: Path, environment: str, primary: str, standby: str) -> None:
    """The DR runbook's last step: the standby becomes primary and the old primary its standby, which
    replicates the new primary (whose region is now the primary region)."""
    for cluster, role in ((primary, "standby"), (standby, "primary")):
        target = repo / "inventory" / "targets" / f"{cluster}.yml"
        document = load(target)
        document["parameters"]["cluster"]["role"] = role
        dump(target, document)
    path = environment_class(repo, environment)
    document = load(path)
    data = document["parameters"]["data"]
    data["primary_cluster"] = standby
    data["regions"]["primary"], data["regions"]["dr"] = data["regions"]["dr"], data["regions"]["primary"]
    dump(path, document)


def add_service(repo: Path, name: str) -> str:
    """The README's recipe, step by step. Returns the service it copied."""
    services = repo / "inventory" / "classes" / "services"
    template = sorted(services_in(repo))[0]
    # 1. Write services/<name>.yml by copying an existing one; its own name becomes the new one.
    text = (services / f"{template}.yml").read_text().replace(template, name)
    (services / f"{name}.yml").write_text(text)
    document = load(services / f"{name}.yml")
    service = document["parameters"]["services"][name]
    if "public_path" in service:
        service["public_path"] = f"/api/{name}"  # two services cannot share a route
    dump(services / f"{name}.yml", document)
    # 2. List it in services/init.yml.
    init = load(services / "init.yml")
    init["classes"].append(f"services.{name}")
    dump(services / "init.yml", init)
    # 3. Pin its image in every environment, with a digest in prod.
    for path in environment_files(repo):
        env = load(path)
        pin: dict[str, str] = {"tag": "1.0.0"}
        if env["parameters"]["cluster"]["environment"] == "prod":
            pin["digest"] = PROD_DIGEST
        env["parameters"].setdefault("images", {})[name] = pin
        dump(path, env)
    return template


def _drop_references(node: Any, name: str) -> bool:
    """Delete keys and list items naming the service; True if node changed. A mapping or list
    left empty by that goes too, as a person would delete `service_sampling:` with its last key."""
    changed = False
    if isinstance(node, dict):
        for key in list(node):
            if key == name:
                del node[key]
                changed = True
            elif _drop_references(node[key], name):
                changed = True
                if isinstance(node[key], dict | list) and not node[key]:
                    del node[key]
    elif isinstance(node, list):
        for item in list(node):
            if item in (name, f"services.{name}"):
                node.remove(item)
                changed = True
            elif _drop_references(item, name):
                changed = True
    return changed


def remove_service(repo: Path, name: str) -> None:
    """The deployment guide's removal procedure: delete the class file and every reference
    (the list in services/init.yml, images and per-service settings in the environments)."""
    (repo / "inventory" / "classes" / "services" / f"{name}.yml").unlink()
    for path in sorted((repo / "inventory").rglob("*.yml")):
        document = load(path)
        if _drop_references(document, name):
            dump(path, document)


def regenerate(repo: Path) -> subprocess.CompletedProcess[str]:
    """`make compile` on the copy: every generated doc too (the registry, lib/mnops/generated.py)."""
    return run(repo, "scripts/compile.py")


def cluster_targets(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / "compiled").iterdir() if (p / "manifests").is_dir())


def security_policy_violations(repo: Path) -> list[str]:
    from mnops.kapitan_inventory import render_inventory
    from mnops.security.policy import Expectations, check_all, load_documents

    parameters = render_inventory(repo / "inventory")
    return [
        f"{target}: {v.render()}"
        for target in cluster_targets(repo)
        for v in check_all(load_documents(repo / "compiled" / target), Expectations.from_parameters(parameters[target]))
    ]


def coverage_doc_is_current(repo: Path) -> subprocess.CompletedProcess[str]:
    """scripts/coverage.py, writing its table into a scratch copy of docs/observability.md."""
    doc = repo / "docs" / "observability.md"
    scratch = repo / ".coverage-check.md"
    shutil.copy2(doc, scratch)
    result = run(repo, "scripts/coverage.py", "--write-docs", "--docs", str(scratch))
    if result.returncode == 0 and scratch.read_text() != doc.read_text():
        result = subprocess.CompletedProcess(result.args, 1, result.stdout, "docs/observability.md: coverage table is stale")
    scratch.unlink()
    return result


def _generated_files(repo: Path, paths: list[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for relative in paths:
        top = repo / relative
        for path in sorted(top.rglob("*")) if top.is_dir() else [top] if top.exists() else []:
            if path.is_file():
                found[str(path.relative_to(repo))] = path.read_bytes()
    return found


def generated_paths(repo: Path) -> list[str]:
    """`scripts/compile.py --list-generated` of the copy. While the copy's registry is byte for byte this
    checkout's, that is this process's GENERATED (test_compile_transaction proves the option prints exactly
    its paths), without starting the copy's Python for it."""
    from mnops import generated

    if (repo / "lib" / "mnops" / "generated.py").read_bytes() == Path(generated.__file__).read_bytes():
        return [artefact.path for artefact in generated.GENERATED]
    return run(repo, "scripts/compile.py", "--list-generated").stdout.split()


# What compiling a copy gave, by the copy and the digest of its compile inputs (the compile record's
# definition: inventory, components, lib, scripts, templates, tools). The compile is deterministic
# (each first check proves it on its copy), so a second check of unchanged inputs compares the files
# with this instead of compiling the same inventory again.
_COMPILED: dict[tuple[Path, str], tuple[list[str], dict[str, bytes]]] = {}


def generated_files_are_current(repo: Path) -> subprocess.CompletedProcess[str]:
    """`make check` on the copy, which is no git checkout: compile again, and every generated file
    (scripts/compile.py --list-generated, the registry) must stay exactly as it was. Compiles once per
    copy and state of its inputs (_COMPILED)."""
    from mnops.gitops.compile_record import inputs_digest

    key = (repo, inputs_digest(repo))
    args: list[str] = [PYTHON, "scripts/compile.py"]
    if key in _COMPILED:
        paths, after = _COMPILED[key]
        before = _generated_files(repo, paths)
    else:
        paths = generated_paths(repo)
        before = _generated_files(repo, paths)
        compiled = run(repo, "scripts/compile.py")
        if compiled.returncode != 0:
            return compiled
        after = _generated_files(repo, paths)
        _COMPILED[key] = (paths, after)
    stale = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    return subprocess.CompletedProcess(args, 1 if stale else 0, "", "".join(f"stale: {name}\n" for name in stale))


def gate(repo: Path, crd_schemas: str) -> dict[str, str]:
    """Every gate piece on the copy; {step: its output} for each one that failed."""
    os.environ.setdefault("CRD_SCHEMA_LOCATION", crd_schemas)
    steps = {
        "check": generated_files_are_current(repo),
        "validate": run(repo, "scripts/validate.py", "compiled", "argocd"),
        "coverage": coverage_doc_is_current(repo),
    }
    failures = {name: (r.stdout + r.stderr)[-3000:] for name, r in steps.items() if r.returncode != 0}
    violations = security_policy_violations(repo)
    if violations:
        failures["security-policy"] = "\n".join(violations)
    return failures
