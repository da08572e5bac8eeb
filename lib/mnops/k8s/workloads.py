"""Builders for apps/v1 Deployment and the pod template pieces it is made of."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, drop_empty_fields, k8s_object, metadata

# The hardened defaults every container gets: Pod Security "restricted" plus a read-only root.
CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True)
class HttpProbes:
    port_name: str
    liveness_path: str
    readiness_path: str
    startup_timeout_seconds: int
    period_seconds: int

    def as_k8s(self) -> dict[str, Any]:
        """Startup probe guards slow starts, so liveness can be strict without killing booting pods."""
        if self.startup_timeout_seconds < self.period_seconds:
            raise BuildError("startup timeout must be at least one probe period")

        def http(path: str) -> dict[str, Any]:
            return {"httpGet": {"path": path, "port": self.port_name}, "periodSeconds": self.period_seconds}

        return {
            "startupProbe": {
                **http(self.liveness_path),
                "failureThreshold": -(-self.startup_timeout_seconds // self.period_seconds),
            },
            "livenessProbe": {**http(self.liveness_path), "failureThreshold": 3, "timeoutSeconds": 2},
            "readinessProbe": {**http(self.readiness_path), "failureThreshold": 3, "timeoutSeconds": 2},
        }


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    ports: Mapping[str, int]
    resources: Mapping[str, Mapping[str, str]]
    probes: HttpProbes | None = None
    env_from_config_maps: Sequence[str] = ()
    env_from_secrets: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    writable_paths: Mapping[str, str] = field(default_factory=dict)  # volume name -> mount path

    def as_k8s(self) -> dict[str, Any]:
        if ":" not in self.image.rsplit("/", 1)[-1] and "@" not in self.image:
            raise BuildError(f"container {self.name}: image {self.image!r} has neither tag nor digest")
        if self.image.split("@")[0].endswith(":latest"):
            raise BuildError(f"container {self.name}: image tag 'latest' is never allowed")
        if not self.resources.get("limits") or not self.resources.get("requests"):
            raise BuildError(f"container {self.name}: resources need both requests and limits")
        env_from = [{"configMapRef": {"name": name}} for name in self.env_from_config_maps]
        env_from += [{"secretRef": {"name": name}} for name in self.env_from_secrets]
        return drop_empty_fields(
            {
                "name": self.name,
                "image": self.image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in sorted(self.ports.items())],
                "env": [{"name": k, "value": v} for k, v in sorted(self.env.items())],
                "envFrom": env_from,
                "resources": {k: dict(v) for k, v in sorted(self.resources.items())},
                **(self.probes.as_k8s() if self.probes else {}),
                "securityContext": CONTAINER_SECURITY_CONTEXT,
                "volumeMounts": [{"name": v, "mountPath": p} for v, p in sorted(self.writable_paths.items())],
            }
        )


def zone_spread(identity: Identity) -> list[dict[str, Any]]:
    """Hard spread across zones (a zone outage keeps most replicas), soft across nodes."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": identity.selector()},
        },
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": identity.selector()},
        },
    ]


@dataclass(frozen=True)
class PodSpec:
    service_account: str
    containers: Sequence[Container]
    termination_grace_seconds: int = 30
    spread: Sequence[Mapping[str, Any]] = ()
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def template(self, identity: Identity) -> dict[str, Any]:
        if not self.containers:
            raise BuildError("a pod needs at least one container")
        # Every writable path is an emptyDir: the root filesystem stays read-only.
        volumes = sorted({v for c in self.containers for v in c.writable_paths})
        return drop_empty_fields(
            {
                "metadata": {"labels": {**identity.labels(), **self.pod_labels}, "annotations": dict(self.annotations)},
                "spec": {
                    "serviceAccountName": self.service_account,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": POD_SECURITY_CONTEXT,
                    "terminationGracePeriodSeconds": self.termination_grace_seconds,
                    "topologySpreadConstraints": [dict(s) for s in self.spread],
                    "containers": [c.as_k8s() for c in self.containers],
                    "volumes": [{"name": v, "emptyDir": {"sizeLimit": "256Mi"}} for v in volumes],
                },
            }
        )


def deployment(
    name: str, namespace: str, identity: Identity, *, pod: PodSpec, replicas: int | None, max_surge: str = "25%"
) -> dict[str, Any]:
    """replicas=None leaves the count to a HorizontalPodAutoscaler (so Argo CD never fights it)."""
    if replicas is not None and replicas < 1:
        raise BuildError(f"deployment {name}: replicas must be at least 1")
    return k8s_object(
        "apps/v1",
        "Deployment",
        metadata(name, identity, namespace),
        spec={
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": identity.selector()},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": 0}},
            "template": pod.template(identity),
        },
    )
