"""Cluster add-ons the compiled tree assumes, provided by the tree: their Helm values and objects.

On EKS nothing below comes with a bare cluster: HPAs need metrics-server, `gp3` claims need the EBS
CSI driver and a `gp3` StorageClass, the gateway's NLB annotations need the AWS Load Balancer
Controller, the gateway's hostnames need external-dns, and Karpenter adds nodes. Crossplane runs on
the management cluster. Each chart's ServiceAccount name is the one its Pod Identity association
names (mnops.infra.identities).
"""

from __future__ import annotations

from typing import Any

from mnops.infra.identities import ADDON_NAMESPACE
from mnops.inventory.model import Target
from mnops.k8s.meta import Identity, k8s_object, metadata

Values = dict[str, Any]
EBS_PROVISIONER = "ebs.csi.aws.com"


def _replicas(target: Target) -> int:
    return 2 if target.cluster.environment == "prod" else 1


def _resources(cpu: str, memory: str) -> dict[str, dict[str, str]]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}


def metrics_server(target: Target) -> Values:
    """The metrics API (metrics.k8s.io) every HorizontalPodAutoscaler reads CPU and memory from."""
    return {
        "replicas": _replicas(target),
        "podDisruptionBudget": {"enabled": _replicas(target) > 1, "maxUnavailable": 1},
        "resources": _resources("100m", "200Mi"),
    }


def ebs_csi_driver(target: Target) -> Values:
    """The EBS CSI driver and the StorageClass every PersistentVolumeClaim names (cloud.storage_class)."""
    return {
        "controller": {
            "replicaCount": _replicas(target),
            "serviceAccount": {"create": True, "name": "ebs-csi-controller-sa"},
            "resources": _resources("10m", "128Mi"),
        },
        "storageClasses": [
            {
                "name": target.cloud["storage_class"],
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                "volumeBindingMode": "WaitForFirstConsumer",
                # Data volumes outlive their claim: deleting a PVC by mistake keeps the EBS volume.
                "reclaimPolicy": "Retain",
                "allowVolumeExpansion": True,
                "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": f"alias/{target.cluster.name}-data"},
            }
        ],
    }


def load_balancer_controller(target: Target) -> Values:
    return {
        "clusterName": target.cluster.name,
        "region": target.cluster.region,
        "replicaCount": _replicas(target),
        "serviceAccount": {"create": True, "name": "aws-load-balancer-controller"},
        "resources": _resources("50m", "256Mi"),
        # The webhook's serving certificate from cert-manager: without it the chart generates a CA at
        # template time (genCA), so every render, and every Argo CD sync, differs.
        "enableCertManager": True,
    }


def external_dns(target: Target) -> Values:
    """Records for the gateway's hostnames, only in our zone, never deleting what it did not create."""
    zone = target.parameters["infra"]["dns"]["zone"]
    # Once the public names are CloudFront's (alias records from the management cluster, mnops.infra.edge),
    # external-dns no longer writes them: only the origin name, from the gateway Service's annotation. On every
    # cluster of the environment: the names stay CloudFront's whichever cluster is primary (a failover moves
    # only the origin name), so a standby must not write them either.
    cut_over = (target.parameters["infra"]["edge"].get("outputs") or {}).get("distribution_domain")
    return {
        "provider": {"name": "aws"},
        "sources": ["service"] if cut_over else ["gateway-httproute", "service"],
        "domainFilters": [zone],
        "policy": "upsert-only",
        "registry": "txt",
        "txtOwnerId": target.cluster.name,
        "env": [{"name": "AWS_DEFAULT_REGION", "value": target.cluster.region}],
        "serviceAccount": {"create": True, "name": "external-dns"},
        "resources": _resources("50m", "128Mi"),
    }


def karpenter(target: Target) -> Values:
    return {
        "replicas": _replicas(target),
        "serviceAccount": {"create": True, "name": "karpenter"},
        "settings": {"clusterName": target.cluster.name},
        "controller": {"resources": _resources("500m", "1Gi")},
    }


def crossplane(target: Target) -> Values:
    return {"replicas": _replicas(target), "resourcesCrossplane": _resources("100m", "512Mi")}


def external_secrets(target: Target) -> Values:
    """External Secrets on the management cluster: pushes managed databases' endpoints and generated
    credentials into the workload clusters' secret stores (mnops.infra.aws_data). Its ServiceAccount
    is the one the bootstrap's Pod Identity association names; no ServiceMonitor (no Prometheus here)."""
    restricted = {
        "enabled": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    component = {"resources": _resources("50m", "256Mi"), "securityContext": restricted}
    return {
        "installCRDs": True,
        "leaderElect": True,
        "replicaCount": _replicas(target),
        "serviceAccount": {"create": True, "name": "external-secrets"},
        # Only what the management cluster needs: namespaced stores and PushSecrets.
        "processClusterExternalSecret": False,
        "processClusterPushSecret": False,
        **component,
        "webhook": {"replicaCount": _replicas(target), **component},
        "certController": {"replicaCount": 1, **component},
    }


WORKLOAD_ADDONS = {
    "metrics-server": metrics_server,
    "aws-ebs-csi-driver": ebs_csi_driver,
    "aws-load-balancer-controller": load_balancer_controller,
    "external-dns": external_dns,
    "karpenter": karpenter,
}
MANAGEMENT_ADDONS = {"crossplane": crossplane, "external-secrets": external_secrets}


def addon_values(target: Target) -> dict[str, Values]:
    """helm-values/<chart key> for every enabled add-on chart of this target."""
    builders = MANAGEMENT_ADDONS if not target.services else WORKLOAD_ADDONS
    enabled = target.parameters["charts"]
    return {key: build(target) for key, build in builders.items() if enabled.get(key, {}).get("enabled")}


def capacity_objects(target: Target, identity: Identity) -> list[dict[str, Any]]:
    """Karpenter's NodePool and EC2NodeClass: nodes in the private subnets, with the cluster's node role."""
    nodes = target.parameters["infra"]["nodes"]
    name = target.cluster.name
    node_class = k8s_object(
        "karpenter.k8s.aws/v1",
        "EC2NodeClass",
        metadata("default", identity),
        spec={
            "role": f"{name}-nodes",
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": name}}],
            "securityGroupSelectorTerms": [{"tags": {"Name": f"{name}-nodes"}}],
            "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {"volumeSize": f"{nodes['disk_gib']}Gi", "volumeType": "gp3", "encrypted": True},
                }
            ],
        },
    )
    capacity_type = ["on-demand"] if target.cluster.environment == "prod" else ["spot", "on-demand"]
    node_pool = k8s_object(
        "karpenter.sh/v1",
        "NodePool",
        metadata("default", identity),
        spec={
            "template": {
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
                    "requirements": [
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": capacity_type},
                        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": list(target.cluster.zones)},
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                    ],
                    "expireAfter": "720h",
                }
            },
            "limits": {"cpu": str(nodes["karpenter_cpu_limit"])},
            "disruption": {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "5m"},
        },
    )
    return [node_class, node_pool]


__all__ = ["ADDON_NAMESPACE", "addon_values", "capacity_objects"]
