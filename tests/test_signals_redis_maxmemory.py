"""Redis gets a maxmemory from the inventory (a share of its memory limit), so the eviction
policy acts before the OOM killer and the "memory used / maxmemory" panel has a denominator.

Proven on a real redis-server (Debian) loaded with the compiled redis.conf lines: INFO reports
the maxmemory (redis_exporter's `redis_memory_max_bytes` is that field), and with the same
lines and a small maxmemory, writing past it evicts keys under the compiled policy.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ROOT, real_parameters

from mnops import units
from mnops.data import data_settings
from mnops.dr.local import RedisServer, compiled_redis_config, free_port
from mnops.inventory import problems_in
from mnops.inventory.model import build_target

COMPILED = ROOT / "compiled"
StartRedis = Callable[[list[str]], RedisServer]


def redis_targets() -> list[str]:
    params = real_parameters()
    return [
        t for t in sorted(params) if params[t].get("redis", {}).get("enabled") and (COMPILED / t / "manifests" / "redis").is_dir()
    ]


def info_field(server: RedisServer, section: str, name: str) -> str:
    with server.connect() as conn:
        return str(conn.info(section)[name])


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[StartRedis]:
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), "redis-server=redis-server"], check=True)
    servers: list[RedisServer] = []

    def start(config: list[str]) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}", free_port(), config)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize("target", redis_targets())
def test_compiled_maxmemory_is_the_inventory_share_of_the_memory_limit(target: str, redis: StartRedis) -> None:
    params = real_parameters()[target]
    limit = units.memory_bytes(params["redis"]["resources"]["limits"]["memory"])
    expected = limit * params["redis"]["maxmemory_percent"] // 100
    assert 0 < expected < limit
    server = redis(compiled_redis_config(COMPILED, target))
    assert int(info_field(server, "memory", "maxmemory")) == expected
    assert info_field(server, "memory", "maxmemory_policy") == params["redis"]["maxmemory_policy"]


def test_writes_past_maxmemory_evict_under_the_compiled_policy(redis: StartRedis) -> None:
    """The compiled lines with only maxmemory shrunk to 2 MiB: keys with a TTL get evicted."""
    target = redis_targets()[0]
    lines = [
        line for line in compiled_redis_config(COMPILED, target) if not line.startswith(("maxmemory ", "appendonly", "save"))
    ]
    server = redis([*lines, "maxmemory 2mb", "appendonly no", 'save ""'])
    with server.connect() as conn:
        for index in range(400):
            conn.set(f"key-{index}", "x" * 10_000, ex=3600)
    assert int(info_field(server, "stats", "evicted_keys")) > 0


def test_a_share_outside_ten_to_ninety_percent_is_rejected() -> None:
    params = copy.deepcopy(real_parameters()[redis_targets()[0]])
    params["redis"]["maxmemory_percent"] = 100
    assert [p.path for p in problems_in("prod", params)] == ["parameters.redis.maxmemory_percent"]


def test_maxmemory_follows_the_memory_limit() -> None:
    params = copy.deepcopy(real_parameters()[redis_targets()[0]])
    params["redis"]["resources"]["limits"]["memory"] = "2Gi"
    params["redis"]["maxmemory_percent"] = 50
    settings = data_settings(build_target(params)).redis
    assert f"maxmemory {2**30}" in settings.config_lines()
