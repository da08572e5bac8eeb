"""Cross-field rules of the data layer, run after the schema passed (see mnops.inventory.rules)."""

from __future__ import annotations

from collections.abc import Iterator

from mnops import units
from mnops.data import postgres_seconds
from mnops.data.alerts import cron_period_seconds
from mnops.errors import Problem
from mnops.inventory.rules import Params, Rule


def archive_timeout_within_rpo(target: str, params: Params) -> Iterator[Problem]:
    """A restore from object storage loses up to archive_timeout of writes: it must stay under the RPO."""
    value = params["postgres"]["parameters"]["archive_timeout"]
    path = "parameters.postgres.parameters.archive_timeout"
    try:
        seconds = postgres_seconds(value)
    except ValueError as error:
        yield Problem(target, path, repr(value), "a PostgreSQL time such as '30s' or '5min'", str(error))
        return
    rpo = units.duration_seconds(params["data"]["rpo"])
    if seconds <= 0 or seconds >= rpo:
        yield Problem(target, path, repr(value), f"more than 0 and less than the RPO ({params['data']['rpo']})",
                      "WAL not yet archived is lost when the primary's volumes are")  # fmt: skip


def production_data_is_highly_available(target: str, params: Params) -> Iterator[Problem]:
    if params["cluster"]["environment"] != "prod":
        return
    if params["postgres"]["enabled"] and params["postgres"]["instances"] < 3:
        yield Problem(target, "parameters.postgres.instances", str(params["postgres"]["instances"]), "at least 3 in prod",
                      "one instance per zone: a zone loss leaves a primary and a replica")  # fmt: skip
    redis = params["redis"]
    if redis["enabled"] and redis["topology"] == "standalone":
        yield Problem(target, "parameters.redis.topology", "'standalone'", "sentinel or cluster in prod",
                      "a single Redis pod is a single point of failure")  # fmt: skip


def redis_topology_is_sound(target: str, params: Params) -> Iterator[Problem]:
    redis = params["redis"]
    if not redis["enabled"] or redis["topology"] != "sentinel":
        return
    if redis["sentinels"] < 3 or redis["sentinels"] % 2 == 0:
        yield Problem(target, "parameters.redis.sentinels", str(redis["sentinels"]), "an odd number of at least 3",
                      "Sentinel needs a majority quorum to fail over")  # fmt: skip
    if redis["replicas"] < 2:
        yield Problem(target, "parameters.redis.replicas", str(redis["replicas"]), "at least 2 with Sentinel",
                      "a primary and at least one replica to fail over to")  # fmt: skip
    if not redis["persistence"]["appendonly"]:
        yield Problem(target, "parameters.redis.persistence.appendonly", "false", "true",
                      "without the AOF a crash loses everything since the last RDB snapshot")  # fmt: skip


def redis_copy_within_rpo(target: str, params: Params) -> Iterator[Problem]:
    copy = params["redis"]["snapshot_copy"]
    if not params["redis"]["enabled"] or not copy["enabled"]:
        return
    rpo = units.duration_seconds(params["data"]["rpo"])
    if cron_period_seconds(copy["schedule"]) > rpo:
        yield Problem(target, "parameters.redis.snapshot_copy.schedule", repr(copy["schedule"]),
                      f"a copy at least every {params['data']['rpo']} (the RPO)",
                      "losing every Redis volume loses the writes since the last copy")  # fmt: skip


def prod_copy_job_images_have_digests(target: str, params: Params) -> Iterator[Problem]:
    """Production runs exactly the bytes that were tested: the copy job's images need a digest too."""
    copy = params["redis"]["snapshot_copy"]
    if params["cluster"]["environment"] != "prod" or not params["redis"]["enabled"] or not copy["enabled"]:
        return
    for key in ("redis_cli", params["cluster"]["cloud"]):
        image = copy["images"][key]
        if "@sha256:" not in image:
            yield Problem(target, f"parameters.redis.snapshot_copy.images.{key}", repr(image),
                          "an image with @sha256: digest in prod",
                          "or set redis.snapshot_copy.enabled: false until the digest is pinned")  # fmt: skip


def standby_has_a_primary_elsewhere(target: str, params: Params) -> Iterator[Problem]:
    if params["cluster"]["role"] != "standby":
        return
    data = params["data"]
    if data["primary_cluster"] == params["cluster"]["name"]:
        yield Problem(target, "parameters.data.primary_cluster", repr(data["primary_cluster"]),
                      "the name of the primary cluster this standby replicates",
                      "set it in the environment class, e.g. primary_cluster: prod")  # fmt: skip
    if data["regions"]["primary"] == data["regions"]["dr"]:
        yield Problem(target, "parameters.data.regions.dr", repr(data["regions"]["dr"]),
                      "a region other than the primary region",
                      "a standby in the same region survives no regional outage")  # fmt: skip
    elif params["cluster"]["region"] != data["regions"]["dr"]:
        yield Problem(target, "parameters.cluster.region", repr(params["cluster"]["region"]),
                      f"the DR region {data['regions']['dr']!r} (parameters.data.regions.dr)")  # fmt: skip


RULES: tuple[Rule, ...] = (
    archive_timeout_within_rpo,
    production_data_is_highly_available,
    redis_topology_is_sound,
    redis_copy_within_rpo,
    prod_copy_job_images_have_digests,
    standby_has_a_primary_elsewhere,
)
