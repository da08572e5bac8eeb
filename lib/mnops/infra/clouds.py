"""One entry per cloud a workload cluster can run on (`cloud.provider`): how the management cluster's
Crossplane reaches that cloud and which managed resources make up the cluster's layer.

    cloud = cloud_of(infra)                     # the entry for infra.cloud, e.g. AwsCloud
    cloud.packages(target)                      # [(provider name, pinned package), ...]
    cloud.runtime_config(identity)              # how the provider pods authenticate
    cloud.provider_config(infra, target, ident) # the namespaced ProviderConfig of infra-<cluster>
    cloud.resources(infra, ident)               # every managed resource of the cluster

mnops.infra.management dispatches on this table; a provider without an entry gets no layer (the
infrastructure doc lists such clusters as not generated).
"""

from __future__ import annotations

from typing import Any, Protocol

from mnops.infra.aws import AwsLayer
from mnops.infra.model import ClusterInfra
from mnops.inventory.model import Target
from mnops.k8s.crossplane import deployment_runtime_config, provider_config
from mnops.k8s.meta import Identity

Obj = dict[str, Any]
PROVIDER_CONFIG = "default"


class Cloud(Protocol):
    name: str

    def packages(self, target: Target) -> list[tuple[str, str]]:
        """(provider name, package) for each family member the layer's managed resources need."""
        ...

    def runtime_config(self, ident: Identity) -> Obj:
        """The DeploymentRuntimeConfig every provider package of this cloud runs with."""
        ...

    def provider_config(self, infra: ClusterInfra, target: Target, ident: Identity) -> Obj:
        """How the provider reaches this cluster's account, project or subscription."""
        ...

    def resources(self, infra: ClusterInfra, ident: Identity) -> list[Obj]:
        """The cluster's managed resources, all in its infra-<cluster> namespace."""
        ...


class AwsCloud:
    name = "aws"
    service_account = "provider-aws"

    def packages(self, target: Target) -> list[tuple[str, str]]:
        crossplane = target.parameters["crossplane"]
        registry, version = crossplane["provider_registry"], crossplane["provider_version"]
        families = ["family-aws", *crossplane["aws_families"]]
        return [
            (
                f"provider-aws-{f}" if f != "family-aws" else "provider-family-aws",
                f"{registry}/provider-{f if f == 'family-aws' else 'aws-' + f}:{version}",
            )
            for f in sorted(families)
        ]

    def runtime_config(self, ident: Identity) -> Obj:
        # Pod Identity binds this ServiceAccount to Crossplane's IAM role in the management account.
        return deployment_runtime_config(self.service_account, ident, self.service_account)

    def provider_config(self, infra: ClusterInfra, target: Target, ident: Identity) -> Obj:
        role = f"arn:aws:iam::{infra.account}:role/{target.parameters['crossplane']['account_role']}"
        return provider_config(
            "aws.m.upbound.io/v1beta1",
            "ProviderConfig",
            PROVIDER_CONFIG,
            ident,
            spec={"credentials": {"source": "PodIdentity"}, "assumeRoleChain": [{"roleARN": role}]},
            namespace=infra.namespace,
        )

    def resources(self, infra: ClusterInfra, ident: Identity) -> list[Obj]:
        return AwsLayer(infra, ident, PROVIDER_CONFIG).all()


CLOUDS: dict[str, Cloud] = {"aws": AwsCloud()}


def cloud_of(infra: ClusterInfra) -> Cloud:
    return CLOUDS[infra.cloud]
