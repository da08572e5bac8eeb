"""The security policy applied to what the charts render, with every exception named and justified.

Third-party workloads are judged by what Kubernetes itself enforces plus what our policy asks of
every workload:

- Pod Security: each pod meets the level its namespace enforces (the `pod-security.kubernetes.io/
  enforce` label on our Namespace objects; Kubernetes' own checks, baseline and restricted, as
  documented for Pod Security Standards). A namespace without the label is not ours to judge.
- resources: every container has CPU and memory requests and limits (capacity planning and
  eviction order hold for the platform too).
- images: tagged, never `latest` (the chart digest in charts.lock pins which tags).

An exception is a (chart key, check, containers) entry in EXCEPTIONS with its reason; docs/security.md
lists each one and tests fail when an exception is unused or undocumented.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mnops.charts.cluster import RenderedChart
from mnops.security.policy import WORKLOAD_KINDS, containers, describe, pod_spec

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
# Pod Security Standards, baseline: capabilities a container may add.
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                         "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}  # fmt: skip
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
                      "secret", "name", "image"}  # fmt: skip


@dataclass(frozen=True)
class ChartViolation:
    target: str
    chart: str
    check: str  # pod-security | resources | image
    document: str
    container: str
    message: str

    def render(self) -> str:
        return f"{self.target}: chart {self.chart}: [{self.check}] {self.document}: {self.message}"


@dataclass(frozen=True)
class Exception_:
    chart: str
    check: str
    containers: tuple[str, ...]  # container names as the chart renders them
    reason: str

    def covers(self, v: ChartViolation) -> bool:
        return self.chart == v.chart and self.check == v.check and v.container in self.containers


# Each entry is repeated in docs/security.md ("Chart exceptions"); tests keep the two in step.
EXCEPTIONS: tuple[Exception_, ...] = (
    Exception_(
        "alloy",
        "resources",
        ("alloy", "config-reloader"),
        "Alloy's CPU use follows log volume on each node: a CPU limit would throttle log shipping in bursts, so alloy "
        "has requests and a memory limit only; the chart's config-reloader sidecar has requests only.",
    ),
    Exception_(
        "argo-cd",
        "resources",
        (
            "application-controller",
            "applicationset-controller",
            "dex-server",
            "haproxy",
            "notifications-controller",
            "redis",
            "repo-server",
            "secret-init",
            "sentinel",
            "server",
            "split-brain-fix",
        ),
        "Not sized yet: the argo-cd values set no resources, and the controller's memory grows with the number of "
        "Applications; to be sized from production measurements.",
    ),
    Exception_("argo-rollouts", "resources", ("argo-rollouts",), "Not sized yet: the argo-rollouts values set no resources."),
    Exception_(
        "aws-ebs-csi-driver",
        "resources",
        ("csi-attacher", "csi-provisioner", "csi-resizer", "ebs-plugin", "liveness-probe", "node-driver-registrar"),
        "The EBS CSI controller and node plugins have requests and memory limits, no CPU limit: a throttled "
        "node plugin delays every volume attach and mount on its node, which is exactly when pods are being "
        "rescheduled.",
    ),
    Exception_(
        "aws-load-balancer-controller",
        "resources",
        ("aws-load-balancer-controller",),
        "The controller has requests and a memory limit, no CPU limit, so reconciling load balancer targets "
        "during a rollout or a node loss is not throttled.",
    ),
    Exception_(
        "cloudnative-pg",
        "resources",
        ("manager",),
        "The operator has requests and a memory limit, no CPU limit, so reconciliation after a node failure is not throttled.",
    ),
    Exception_(
        "envoy-gateway",
        "resources",
        ("envoy-gateway-certgen",),
        "envoy-gateway-certgen is the chart's one-shot hook Job that writes the control plane's TLS secret; the chart "
        "offers no resources value for it.",
    ),
    Exception_(
        "external-dns",
        "resources",
        ("external-dns",),
        "external-dns has requests and a memory limit, no CPU limit: its work is a periodic sync whose bursts"
        " should not be throttled.",
    ),
    Exception_(
        "jaeger",
        "resources",
        ("jaeger", "jaeger-es-index-cleaner"),
        "Jaeger has requests and a memory limit, no CPU limit (query bursts); the chart renders its Elasticsearch index"
        " cleaner CronJob without a resources value.",
    ),
    Exception_(
        "karpenter",
        "resources",
        ("controller",),
        "Karpenter has requests and a memory limit, no CPU limit, so node provisioning under a scale-up burst"
        " is not throttled (upstream's recommendation).",
    ),
    Exception_(
        "kube-prometheus-stack",
        "resources",
        (
            "create",
            "grafana",
            "grafana-sc-dashboard",
            "grafana-sc-datasources",
            "kube-prometheus-stack",
            "kube-state-metrics",
            "node-exporter",
            "patch",
        ),
        "Not sized yet: our values size Prometheus and Alertmanager only; Grafana and its sidecars, kube-state-metrics,"
        " node-exporter, the operator and its webhook-certificate hook Jobs (create, patch) run with the chart's empty "
        "defaults.",
    ),
    Exception_(
        "loki",
        "resources",
        ("backend", "canary", "exporter", "loki", "loki-sc-rules", "memcached", "nginx", "read", "write"),
        "Not sized yet: the loki values size replicas and storage but set no resources for any Loki target, the gateway"
        " (nginx), canary, rules sidecar or cache exporters; memcached has no CPU limit.",
    ),
    Exception_(
        "metrics-server",
        "resources",
        ("metrics-server",),
        "metrics-server has requests and a memory limit, no CPU limit: when it is throttled every HPA in the cluster goes blind.",
    ),
    Exception_(
        "opentelemetry-collector",
        "resources",
        ("opentelemetry-collector",),
        "The collector has requests and a memory limit (with the memory_limiter processor), no CPU limit, so trace "
        "bursts are not throttled.",
    ),
    Exception_(
        "plugin-barman-cloud",
        "resources",
        ("barman-cloud",),
        "The plugin has requests and a memory limit, no CPU limit, so WAL archiving bursts are not throttled.",
    ),
    Exception_(
        "velero",
        "resources",
        ("node-agent", "velero"),
        "The node-agent DaemonSet and the chart's velero-upgrade-crds hook Job take no resources from our values (the "
        "velero Deployment itself is sized); backup volume decides their needs.",
    ),
)


def baseline_problems(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(container or '', problem) for Pod Security Standards 'baseline'."""
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            yield "", f"{key} is set"
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            yield "", f"volume {volume.get('name')} is a hostPath"
    for c in containers(spec):
        sc = c.get("securityContext") or {}
        name = str(c.get("name"))
        if sc.get("privileged"):
            yield name, "is privileged"
        added = set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            yield name, f"adds capabilities {', '.join(sorted(added))}"
        if any(p.get("hostPort") for p in c.get("ports") or []):
            yield name, "uses a hostPort"
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield name, "has an Unconfined seccomp profile"


def restricted_problems(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(container or '', problem) for Pod Security Standards 'restricted' (baseline included)."""
    yield from baseline_problems(spec)
    pod_sc = spec.get("securityContext") or {}
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - RESTRICTED_VOLUMES
        if kinds:
            yield "", f"volume {volume.get('name')} is of a type restricted forbids ({', '.join(sorted(kinds))})"
    for c in containers(spec):
        sc = c.get("securityContext") or {}
        name = str(c.get("name"))
        if sc.get("allowPrivilegeEscalation") is not False:
            yield name, "does not set allowPrivilegeEscalation: false"
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            yield name, "does not set runAsNonRoot: true"
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            yield name, "runs as user 0"
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            yield name, "does not drop ALL capabilities"
        if set((sc.get("capabilities") or {}).get("add") or []) - {"NET_BIND_SERVICE"}:
            yield name, "adds a capability other than NET_BIND_SERVICE"
        profile = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if profile not in ("RuntimeDefault", "Localhost"):
            yield name, "has no RuntimeDefault or Localhost seccomp profile"


def namespace_levels(manifest_docs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Namespace -> enforced Pod Security level, from our Namespace objects."""
    return {
        d["metadata"]["name"]: str((d["metadata"].get("labels") or {}).get(ENFORCE_LABEL))
        for d in manifest_docs
        if d.get("kind") == "Namespace" and ENFORCE_LABEL in (d["metadata"].get("labels") or {})
    }


def is_helm_test(doc: Mapping[str, Any]) -> bool:
    """Argo CD never creates Helm test hooks (`helm.sh/hook: test`): they are not part of what runs."""
    hooks = str(((doc.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", ""))
    return any(h.strip() in ("test", "test-success", "test-failure") for h in hooks.split(","))


def chart_violations(chart: RenderedChart, levels: Mapping[str, str]) -> list[ChartViolation]:
    found: list[ChartViolation] = []
    for doc in chart.objects_of_kind(WORKLOAD_KINDS):
        spec = pod_spec(doc)
        if spec is None or is_helm_test(doc):
            continue
        where = describe(doc)
        namespace = (doc.get("metadata") or {}).get("namespace") or chart.namespace
        level = levels.get(namespace, "privileged")
        problems = restricted_problems(spec) if level == "restricted" else baseline_problems(spec) if level == "baseline" else ()
        for container, problem in problems:
            message = f"{'container ' + container + ' ' if container else ''}{problem} (namespace {namespace} enforces {level})"
            found.append(ChartViolation(chart.target, chart.key, "pod-security", where, container, message))
        for c in spec.get("containers") or []:
            resources = c.get("resources") or {}
            for kind in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(kind) or {})
                if missing:
                    message = f"container {c.get('name')} has no {kind} for {', '.join(sorted(missing))}"
                    found.append(ChartViolation(chart.target, chart.key, "resources", where, str(c.get("name")), message))
        for c in containers(spec):
            image = str(c.get("image", ""))
            last = image.split("@", maxsplit=1)[0].rsplit("/", 1)[-1]
            if "@" not in image and (":" not in last or last.endswith(":latest")):
                found.append(ChartViolation(chart.target, chart.key, "image", where, str(c.get("name")),
                                            f"container {c.get('name')} image {image!r} is not pinned to a tag"))  # fmt: skip
    return found


def unexcused(violations: Sequence[ChartViolation], exceptions: Sequence[Exception_] = EXCEPTIONS) -> list[ChartViolation]:
    return [v for v in violations if not any(e.covers(v) for e in exceptions)]


def unused_exceptions(violations: Sequence[ChartViolation], exceptions: Sequence[Exception_] = EXCEPTIONS) -> list[Exception_]:
    return [e for e in exceptions if not any(e.covers(v) for v in violations)]
