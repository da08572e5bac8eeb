"""Redis with the OT-Container-Kit redis-operator: manifests/redis/.

Topology from the inventory: standalone (dev), sentinel (RedisReplication + RedisSentinel, the
default) or cluster (RedisCluster, sharded). Every topology gets the same durability config
(AOF everysec + RDB snapshots, a content-hashed ConfigMap), the redis_exporter sidecar, a password
from External Secrets, and a CronJob that copies an RDB snapshot of the primary to object storage.
Nothing at all where the environment chose ElastiCache (infra.data_services.redis).
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.data import DataSettings, data_settings
from mnops.data.cloud import identity_annotations, identity_pod_labels, upload_command
from mnops.inventory import Target
from mnops.k8s.core import config_map, service_account
from mnops.k8s.data_extras import JobContainer, cron_job, external_secret
from mnops.k8s.redis import RedisPods, redis_cluster, redis_replication, redis_sentinel, redis_standalone
from mnops.security.secret_names import store_name

CONFIG_KEY = "redis-additional.conf"
COPY_JOB = "redis-rdb-copy"


def primary_host(data: DataSettings) -> str:
    """The Service that always points at the writable primary, per topology (operator naming)."""
    name, ns = data.redis.name, data.data_namespace
    if data.redis.topology == "sentinel":
        return f"{name}-master.{ns}.svc"
    if data.redis.topology == "cluster":
        return f"{name}-leader.{ns}.svc"
    return f"{name}.{ns}.svc"


def redis_objects(target: Target, data: DataSettings) -> list[dict[str, Any]]:
    rd = data.redis
    if not rd.enabled or not data.in_cluster("redis"):
        return []
    ns = data.data_namespace
    ident = identity(target, "redis", "cache", version=rd.image.rsplit(":", 1)[-1])
    config = config_map(f"{rd.name}-config", ns, ident, {CONFIG_KEY: "\n".join(rd.config_lines()) + "\n"})
    secret = external_secret(
        rd.password_secret,
        ns,
        ident,
        store_kind=data.secret_store.kind,
        store_name=data.secret_store.name,
        keys={rd.password_key: (store_name(target.cloud["secret_store"]["provider"], rd.password_remote_key), rd.password_key)},
        refresh_interval=data.secret_store.refresh_interval,
    )
    pods = RedisPods(
        image=rd.image,
        exporter_image=rd.exporter_image,
        resources=rd.resources.as_k8s(),
        storage_class=target.cloud["storage_class"],
        storage_size=rd.storage_size,
        config_map=config["metadata"]["name"],
        password_secret=rd.password_secret,
        password_key=rd.password_key,
        spread_zones=len(target.cluster.zones) > 1,
    )
    objects = [config, secret]
    if rd.topology == "standalone":
        objects.append(redis_standalone(rd.name, ns, ident, pods))
    elif rd.topology == "sentinel":
        objects.append(redis_replication(rd.name, ns, ident, pods, rd.replicas))
        sentinel_ident = identity(target, "redis", "sentinel", version=rd.sentinel_image.rsplit(":", 1)[-1])
        objects.append(
            redis_sentinel(
                f"{rd.name}-sentinel",
                ns,
                sentinel_ident,
                replication=rd.name,
                size=rd.sentinels,
                image=rd.sentinel_image,
                password_secret=rd.password_secret,
                password_key=rd.password_key,
                spread_zones=pods.spread_zones,
            )
        )
    else:
        objects.append(redis_cluster(rd.name, ns, ident, pods=pods, shards=rd.shards, replicas_per_shard=rd.replicas_per_shard))
    if rd.snapshot_copy_enabled:
        objects += snapshot_copy_job(target, data)
    return objects


def snapshot_copy_job(target: Target, data: DataSettings) -> list[dict[str, Any]]:
    """Pull an RDB snapshot from the primary (redis-cli --rdb) and upload it with the cloud identity."""
    rd, ns = data.redis, data.data_namespace
    ident = identity(target, COPY_JOB, "backup")
    bucket = next(b for b in data.buckets() if b.purpose == "redis")
    dump = "/backup/dump.rdb"
    fetch = JobContainer(
        name="fetch-rdb",
        image=rd.uploader_images["redis_cli"],
        command=["/bin/sh", "-c", f'redis-cli -h {primary_host(data)} -a "$REDIS_PASSWORD" --no-auth-warning --rdb {dump}'],
        secret_env={"REDIS_PASSWORD": (rd.password_secret, rd.password_key)},
        mounts={"backup": "/backup"},
    )
    upload = JobContainer(
        name="upload",
        image=rd.uploader_images[data.provider],
        command=upload_command(data.provider, dump, bucket, f"{data.cluster}/{rd.name}"),
        env={"HOME": "/tmp"},  # noqa: S108 - the CLIs write their cache under $HOME, a pod-private emptyDir
        mounts={"backup": "/backup", "tmp": "/tmp"},  # noqa: S108
    )
    return [
        service_account(COPY_JOB, ns, ident, annotations=identity_annotations(target, ns, COPY_JOB)),
        cron_job(
            COPY_JOB,
            ns,
            ident,
            cron=rd.snapshot_copy_schedule,
            service_account=COPY_JOB,
            init_containers=[fetch],
            containers=[upload],
            scratch_volumes=["backup", "tmp"],
            pod_labels=identity_pod_labels(target),
        ),
    ]


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    return output({"redis": redis_objects(target, data_settings(target))})
