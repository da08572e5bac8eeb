"""Builders for the OT-Container-Kit redis-operator kinds (redis.redis.opstreelabs.in/v1beta2).

Redis (standalone), RedisReplication (1 primary + replicas), RedisSentinel (failover quorum) and
RedisCluster (sharded). The operator copies the custom resource's labels onto the pods, so the
identity labels (app.kubernetes.io/name=redis) reach the pods that network policies and monitors
select.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata

REDIS_API = "redis.redis.opstreelabs.in/v1beta2"
EXPORTER_PORT = 9121


@dataclass(frozen=True)
class RedisPods:
    """What every Redis pod shares, whatever the topology."""

    image: str
    exporter_image: str
    resources: Mapping[str, Mapping[str, str]]
    storage_class: str
    storage_size: str
    config_map: str  # ConfigMap holding redis-additional.conf
    password_secret: str
    password_key: str
    spread_zones: bool

    def kubernetes_config(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "imagePullPolicy": "IfNotPresent",
            "resources": {k: dict(v) for k, v in sorted(self.resources.items())},
            "redisSecret": {"name": self.password_secret, "key": self.password_key},
        }

    def storage(self) -> dict[str, Any]:
        return {
            "volumeClaimTemplate": {
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": self.storage_class,
                    "resources": {"requests": {"storage": self.storage_size}},
                }
            }
        }

    def exporter(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "image": self.exporter_image,
            "port": EXPORTER_PORT,
            "securityContext": {**CONTAINER_SECURITY_CONTEXT, "readOnlyRootFilesystem": True},
        }

    def spread(self, app: str) -> list[dict[str, Any]]:
        return spread_over_zones(app) if self.spread_zones else []


def spread_over_zones(app: str) -> list[dict[str, Any]]:
    """Hard spread over zones, soft over nodes; `app` is the operator's per-resource pod label."""
    selector = {"matchLabels": {"app": app}}
    return [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": selector},
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": selector},
    ]  # fmt: skip


# The operator's images run as uid 1000; fsGroup makes the volume writable for it.
POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "fsGroup": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}


# Pod Security "restricted" without a read-only root: the operator's entrypoint writes redis.conf.
CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _common(pods: RedisPods, app: str) -> dict[str, Any]:
    return {
        "kubernetesConfig": pods.kubernetes_config(),
        "redisConfig": {"additionalRedisConfig": pods.config_map},
        "redisExporter": pods.exporter(),
        "storage": pods.storage(),
        "podSecurityContext": POD_SECURITY_CONTEXT,
        "securityContext": CONTAINER_SECURITY_CONTEXT,
        "topologySpreadConstraints": pods.spread(app),
    }


def redis_standalone(name: str, namespace: str, identity: Identity, pods: RedisPods) -> dict[str, Any]:
    """One Redis instance (dev)."""
    spec = _common(pods, name)
    spec.pop("topologySpreadConstraints", None)
    return k8s_object(REDIS_API, "Redis", metadata(name, identity, namespace), spec=spec)


def redis_replication(name: str, namespace: str, identity: Identity, pods: RedisPods, size: int) -> dict[str, Any]:
    """1 primary + (size - 1) replicas; at most one pod may be voluntarily evicted at a time."""
    if size < 2:
        raise BuildError(f"redis replication {name} needs at least 2 pods (a primary and a replica), got {size}")
    return k8s_object(
        REDIS_API,
        "RedisReplication",
        metadata(name, identity, namespace),
        spec={"clusterSize": size, **_common(pods, name), "pdb": {"enabled": True, "maxUnavailable": 1}},
    )


def redis_sentinel(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    replication: str,
    size: int,
    image: str,
    password_secret: str,
    password_key: str,
    spread_zones: bool,
) -> dict[str, Any]:
    """Sentinels watching `replication`; a majority (quorum) must agree before a failover."""
    if size < 3 or size % 2 == 0:
        raise BuildError(f"redis sentinel {name} needs an odd number of at least 3 sentinels, got {size}")
    spread = spread_over_zones(name) if spread_zones else []
    return k8s_object(
        REDIS_API,
        "RedisSentinel",
        metadata(name, identity, namespace),
        spec={
            "clusterSize": size,
            "kubernetesConfig": {
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
            },
            "redisSentinelConfig": {
                "redisReplicationName": replication,
                "quorum": str(size // 2 + 1),
                "downAfterMilliseconds": "5000",
                "failoverTimeout": "60000",
                "parallelSyncs": "1",
                "redisReplicationPassword": {"secretKeyRef": {"name": password_secret, "key": password_key}},
            },
            "podSecurityContext": POD_SECURITY_CONTEXT,
            "securityContext": CONTAINER_SECURITY_CONTEXT,
            "pdb": {"enabled": True, "maxUnavailable": 1},
            "topologySpreadConstraints": spread,
        },
    )


def redis_cluster(
    name: str, namespace: str, identity: Identity, *, pods: RedisPods, shards: int, replicas_per_shard: int
) -> dict[str, Any]:
    """A sharded Redis Cluster: `shards` primaries, each with `replicas_per_shard` replicas."""
    if shards < 3:
        raise BuildError(f"redis cluster {name} needs at least 3 shards (Redis Cluster's minimum), got {shards}")
    common = _common(pods, name)
    common.pop("topologySpreadConstraints")
    # RedisCluster takes the container security context per role, not at the top of the spec.
    security = common.pop("securityContext")
    pdb = {"enabled": True, "maxUnavailable": 1}
    # The operator runs leaders and followers as two StatefulSets labelled app=<name>-leader/-follower.
    leader = {"pdb": pdb, "securityContext": security, "topologySpreadConstraints": pods.spread(f"{name}-leader")}
    follower = {"pdb": pdb, "securityContext": security, "topologySpreadConstraints": pods.spread(f"{name}-follower")}
    return k8s_object(
        REDIS_API,
        "RedisCluster",
        metadata(name, identity, namespace),
        spec={
            "clusterSize": shards,
            "clusterVersion": "v7",
            "persistenceEnabled": True,
            **common,
            "redisLeader": {"replicas": shards, **leader},
            "redisFollower": {"replicas": shards * replicas_per_shard, **follower},
        },
    )
