"""Where each change came from: the inventory file and line that set a value, and the clusters it reaches."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from conftest import ROOT, real_parameters
from ruamel.yaml import YAML

from mnops.gitops.diffing import Key, TargetChanges, leaves
from mnops.inventory.sources import locate_all, read_sources
from mnops.review import ReviewInput
from mnops.review.provenance import Origins, build


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


INVENTORY = {
    "inventory/classes/common.yml": "parameters:\n  sizes:\n    replicas: 1\n    memory: 512Mi\n  list: [a]\n",
    "inventory/classes/services/init.yml": "classes:\n  - services.api\n",
    "inventory/classes/services/api.yml": "classes: [common]\nparameters:\n  services:\n    api:\n      port: 8000\n",
    "inventory/classes/env/prod.yml": "parameters:\n  # prod is bigger\n  sizes:\n    replicas: 3\n  ~list: [b]\n",
    "inventory/targets/prod.yml": "classes: [common, services, env.prod]\nparameters:\n  cluster: {name: prod}\n",
    "inventory/targets/dev.yml": "classes: [common, services]\nparameters:\n  cluster: {name: dev}\n",
}


def test_the_chain_is_in_merge_order_with_each_class_once_and_the_target_last(tmp_path):
    sources = read_sources(write(tmp_path, INVENTORY) / "inventory")
    assert sources.chains["prod"] == [
        "inventory/classes/common.yml",
        "inventory/classes/services/api.yml",
        "inventory/classes/services/init.yml",
        "inventory/classes/env/prod.yml",
        "inventory/targets/prod.yml",
    ]


def test_the_last_layer_that_writes_a_key_wins_with_its_line(tmp_path):
    repo = write(tmp_path, INVENTORY)
    origins = Origins()
    assert origins.where(repo, "prod", ("sizes", "replicas")) == "inventory/classes/env/prod.yml:4"
    assert origins.where(repo, "dev", ("sizes", "replicas")) == "inventory/classes/common.yml:3"
    assert origins.where(repo, "prod", ("sizes", "memory")) == "inventory/classes/common.yml:4"
    assert origins.where(repo, "prod", ("list", "[0]")) == "inventory/classes/env/prod.yml:5"  # `~list` replaces
    assert origins.where(repo, "prod", ("services", "api", "port")) == "inventory/classes/services/api.yml:5"
    assert origins.where(repo, "prod", ("nowhere",)) == "(not found)"


def test_an_inventory_that_fails_the_file_checks_has_no_origins_instead_of_an_error(tmp_path):
    repo = write(tmp_path, {**INVENTORY, "inventory/classes/common.yml": "parameters:\n  mode: 0755\n"})
    assert Origins().where(repo, "prod", ("mode",)) == "(not found)"


@cache
def parsed(file: Path):
    return YAML(typ="rt").load(file.read_text())


def written_value(file: Path, path: tuple[str, ...]):
    node = parsed(file)["parameters"]
    for part in path:
        node = node[part] if part in node else node[f"~{part}"]
    return node


def test_every_rendered_value_comes_from_the_file_the_lookup_names():
    """Against reclass itself: for every scalar of every target, the named file writes exactly the rendered value."""
    sources = read_sources(ROOT / "inventory")
    checked = 0
    for target, parameters in real_parameters().items():
        for path, value in leaves({k: v for k, v in parameters.items() if not k.startswith("_")}):
            if any(part.startswith("[") for part in path) or isinstance(value, list | dict):
                continue
            if path[0] == "kapitan" and not sources.has(target, path):
                continue  # Kapitan adds its own defaults (target_full_path, secrets, ...) while rendering
            location = locate_all(sources, target, path)
            assert location is not None and sources.has(target, path), f"{target}: {'.'.join(path)} found in no file"
            written = written_value(ROOT / location.file, path)
            if isinstance(written, str) and "${" in written:
                continue  # a reference: the file that writes it is still the one to edit
            assert written == value, f"{target}: {'.'.join(path)} is {value!r} but {location} writes {written!r}"
            checked += 1
    assert checked > 100


def deployment(replicas):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}, "spec": {"replicas": replicas}}


def test_the_section_names_file_line_and_clusters_and_traces_the_compiled_field(tmp_path):
    base = write(tmp_path / "base", INVENTORY)
    head = write(
        tmp_path / "head",
        {
            **INVENTORY,
            "inventory/classes/common.yml": INVENTORY["inventory/classes/common.yml"].replace("replicas: 1", "replicas: 2"),
        },
    )
    changes = TargetChanges()
    changes.changed[Key("dev", "Deployment", "", "api", "apps")] = (deployment(1), deployment(2))
    review = ReviewInput(
        base, head, tmp_path, tmp_path,
        {"dev": {"sizes": {"replicas": 1}}, "prod": {"sizes": {"replicas": 3}}},
        {"dev": {"sizes": {"replicas": 2}}, "prod": {"sizes": {"replicas": 3}}},
        {"dev": changes},
    )  # fmt: skip
    section = build(review)
    assert section is not None
    assert section.text.splitlines() == [
        "Inventory values changed (file:line that sets them, clusters that get them):",
        "  sizes.replicas: 1 -> 2  [inventory/classes/common.yml:3] (dev)",
        "Compiled fields and the inventory key behind them:",
        "  dev: Deployment api spec.replicas <- sizes.replicas [inventory/classes/common.yml:3]",
    ]


def test_no_inventory_change_no_section(tmp_path):
    same = {"dev": {"a": 1}}
    assert build(ReviewInput(tmp_path, tmp_path, tmp_path, tmp_path, same, same)) is None


def node_group(desired):
    return {"apiVersion": "eks.aws.m.upbound.io/v1beta1", "kind": "NodeGroup", "metadata": {"name": "system"},
            "spec": {"forProvider": {"scalingConfig": [{"desiredSize": desired}]}}}  # fmt: skip


def test_a_managed_resource_is_traced_to_the_inventory_of_the_cluster_it_is_for(tmp_path):
    """The management cluster's NodeGroup in infra-<cluster> comes from <cluster>'s target file, not the manager's."""
    managed = {
        **INVENTORY,
        "inventory/targets/mgmt.yml": "classes: [common]\nparameters:\n  cluster: {name: mgmt}\n",
        "inventory/targets/dev.yml": INVENTORY["inventory/targets/dev.yml"] + "  infra:\n    nodes:\n      desired_size: 2\n",
    }
    base = write(tmp_path / "base", managed)
    bigger = managed["inventory/targets/dev.yml"].replace("desired_size: 2", "desired_size: 4")
    head = write(tmp_path / "head", {**managed, "inventory/targets/dev.yml": bigger})
    changes = TargetChanges()
    changes.changed[Key("mgmt", "NodeGroup", "infra-dev", "system", "eks.aws.m.upbound.io")] = (node_group(2), node_group(4))
    review = ReviewInput(
        base, head, tmp_path, tmp_path,
        {"dev": {"infra": {"management_cluster": "mgmt", "nodes": {"desired_size": 2}}}, "mgmt": {"sizes": {"replicas": 1}}},
        {"dev": {"infra": {"management_cluster": "mgmt", "nodes": {"desired_size": 4}}}, "mgmt": {"sizes": {"replicas": 1}}},
        {"mgmt": changes},
    )  # fmt: skip
    section = build(review)
    assert section is not None
    assert section.text.splitlines()[-1] == (
        "  dev (in mgmt): NodeGroup infra-dev/system spec.forProvider.scalingConfig[0].desiredSize"
        " <- infra.nodes.desired_size [inventory/targets/dev.yml:6]"
    ), section.text
