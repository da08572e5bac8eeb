"""The hosted zone belongs to the environment, not to whichever of its clusters is primary: one `Zone` per
environment, in the management cluster's infra-dns-<environment> folder, which a DR role swap does not move
(a second Zone object would make Route 53 create a second zone of the same name).

Environments, primaries and standbys come from the inventory, never from a list in this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import journey_support as journey
import pytest
import yaml
from conftest import ROOT, real_parameters

from mnops.infra.model import zone_namespace
from mnops.kapitan_inventory import compiles_manifests


def zones(repo: Path) -> dict[str, dict[str, Any]]:
    """Every hosted zone the management trees create: '<folder>/<name>' -> its forProvider."""
    found = {}
    for path in sorted(repo.glob("compiled/*/infra/*/zone.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found[f"{path.parent.name}/{doc['metadata']['name']}"] = doc["spec"]["forProvider"]
    return found


def standby_pairs() -> list[tuple[str, str, str]]:
    """(environment, primary, standby) for each standby cluster of the inventory."""
    return [
        (params["cluster"]["environment"], params["data"]["primary_cluster"], name)
        for name, params in sorted(real_parameters().items())
        if compiles_manifests(params) and params["cluster"]["role"] == "standby"
    ]


def test_each_environment_has_one_zone_in_its_own_folder() -> None:
    serving = {
        p["cluster"]["environment"]
        for n, p in real_parameters().items()
        if compiles_manifests(p) and p["gateway"].get("hostnames") and p.get("infra", {}).get("management_cluster") != n
    }
    found = zones(ROOT)
    assert sorted(key.split("/")[0] for key in found) == sorted(zone_namespace(env) for env in serving)
    names = [zone["name"] for zone in found.values()]
    assert len(names) == len(set(names)), f"two Zone objects of one name: {names}"


@pytest.mark.slow
@pytest.mark.parametrize(("environment", "primary", "standby"), standby_pairs())
def test_a_role_swap_keeps_the_environments_one_zone(environment: str, primary: str, standby: str, tmp_path: Path) -> None:
    """The DR runbook's last step on a repository copy: the standby becomes primary, the old primary its
    standby (it replicates the new primary, whose region is now the primary region). The compile must
    succeed, and every Zone stay exactly where it was."""
    repo = journey.copy_repository(tmp_path / "repo")
    before = zones(repo)
    assert f"{zone_namespace(environment)}/public" in before
    journey.swap_roles(repo, environment, primary, standby)
    result = journey.regenerate(repo)
    assert result.returncode == 0, result.stderr[-3000:]
    assert zones(repo) == before
