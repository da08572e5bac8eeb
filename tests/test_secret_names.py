"""Secret paths become names each cloud's secret store accepts (mnops.security.secret_names), and a path
that cannot, or two paths that would share a name, fail the compile with one line naming the key."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from security_support import parameters

from mnops.errors import InventoryError
from mnops.inventory import load_target, problems_in
from mnops.security.secret_names import store_name, store_names

TARGET = "dev"


def on_store(provider: str, **platform: dict[str, Any]) -> dict[str, Any]:
    """The dev target reading from `provider`, with extra platform secrets."""
    params = copy.deepcopy(dict(parameters()[TARGET]))
    params["cloud"]["secret_store"]["provider"] = provider
    params["secrets"]["platform_secrets"].update(platform)
    return params


def test_each_store_gets_the_documented_name_for_a_path() -> None:
    path = "machine-native-ops/prod/redis"
    assert store_name("aws-secrets-manager", path) == path
    assert store_name("gcp-secret-manager", path) == "machine-native-ops_prod_redis"
    assert store_name("azure-key-vault", path) == "machine-native-ops--prod--redis"


@pytest.mark.parametrize("provider", ["aws-secrets-manager", "gcp-secret-manager", "azure-key-vault"])
def test_every_secret_path_of_the_inventory_has_a_valid_name_on_every_store(provider: str) -> None:
    params = on_store(provider)
    assert store_names(params), "no secret path: the check would be empty"
    assert [p.render() for p in problems_in(TARGET, params) if "secret" in p.path] == []


def test_two_paths_that_become_one_gcp_name_fail_with_one_line_naming_the_key() -> None:
    prefix = parameters()[TARGET]["secrets"]["key_prefix"]  # machine-native-ops/dev/
    twin = prefix.rstrip("/") + "_redis"  # `_` on GCP, like the `/` of the prefix's own redis
    params = on_store("gcp-secret-manager", twin={"namespace": "monitoring", "remote_key": twin, "keys": ["password"]})
    with pytest.raises(InventoryError) as raised:
        load_target(TARGET, params)
    (line,) = [line for line in str(raised.value).splitlines() if "secret" in line]
    assert "parameters.secrets.platform_secrets" in line and twin in line and "gcp-secret-manager" in line, line


def test_a_path_with_a_character_key_vault_refuses_fails_with_one_line() -> None:
    params = on_store("azure-key-vault", odd={"namespace": "monitoring", "remote_key": "monitoring/smtp_relay", "keys": ["x"]})
    problems = [p.render() for p in problems_in(TARGET, params)]
    (line,) = problems
    assert "parameters.secrets.platform_secrets.odd.remote_key" in line and "monitoring--smtp_relay" in line, line
    assert "\n" not in line.strip()
