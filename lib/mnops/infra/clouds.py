"""One entry per cloud a workload cluster can run on (`cloud.provider`): how the management cluster's
Crossplane reaches that cloud and which managed resources make up the cluster's layer.

    cloud = cloud_of(infra)                     # the entry for infra.cloud, e.g. AwsCloud
    cloud.packages(target)                      # [(provider name, pinned package), ...]
    cloud.runtime(target, identity)             # how the provider pods authenticate (runtime config, ...)
    cloud.provider_config(infra, target, ident) # the namespaced ProviderConfig of infra-<cluster>
    cloud.resources(infra, ident)               # every managed resource of the cluster

mnops.infra.management dispatches on this table; a provider without an entry gets no layer (the
infrastructure doc lists such clusters as not generated).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from mnops.infra.aws import AwsLayer
from mnops.infra.azure import TOKEN_AUDIENCE, AzureLayer
from mnops.infra.gcp import GcpLayer
from mnops.infra.model import ClusterInfra
from mnops.inventory.model import Target
from mnops.k8s.core import config_map
from mnops.k8s.crossplane import deployment_runtime_config, provider_config
from mnops.k8s.meta import Identity

Obj = dict[str, Any]
PROVIDER_CONFIG = "default"
CROSSPLANE_NAMESPACE = "crossplane-system"


class Cloud(Protocol):
    name: str
    runtime_config: str  # name of the DeploymentRuntimeConfig every provider package of this cloud runs with

    def packages(self, target: Target) -> list[tuple[str, str]]:
        """(provider name, package) for each family member the layer's managed resources need."""
        ...

    def runtime(self, target: Target, ident: Identity) -> list[Obj]:
        """That DeploymentRuntimeConfig, and anything else its pods need to authenticate."""
        ...

    def provider_config(self, infra: ClusterInfra, target: Target, ident: Identity) -> Obj:
        """How the provider reaches this cluster's account, project or subscription."""
        ...

    def resources(self, infra: ClusterInfra, ident: Identity) -> list[Obj]:
        """The cluster's managed resources, all in its infra-<cluster> namespace."""
        ...


def family_packages(registry: str, cloud: str, version: str, families: list[str]) -> list[tuple[str, str]]:
    """The family's config package and one package per member, all at the same pinned release."""
    named = [(f"provider-family-{cloud}", f"{registry}/provider-family-{cloud}:{version}")]
    named += [(f"provider-{cloud}-{f}", f"{registry}/provider-{cloud}-{f}:{version}") for f in families]
    return sorted(named)


class AwsCloud:
    name = "aws"
    runtime_config = "provider-aws"

    def packages(self, target: Target) -> list[tuple[str, str]]:
        crossplane = target.parameters["crossplane"]
        return family_packages(crossplane["provider_registry"], "aws", crossplane["provider_version"], crossplane["aws_families"])

    def runtime(self, target: Target, ident: Identity) -> list[Obj]:
        # Pod Identity binds this ServiceAccount to Crossplane's IAM role in the management account.
        return [deployment_runtime_config(self.runtime_config, ident, self.runtime_config)]

    def provider_config(self, infra: ClusterInfra, target: Target, ident: Identity, namespace: str | None = None) -> Obj:
        """`namespace`: another folder in the cluster's account (the environment's DNS zone, mnops.infra.management)."""
        role = f"arn:aws:iam::{infra.account}:role/{target.parameters['crossplane']['account_role']}"
        return provider_config(
            "aws.m.upbound.io/v1beta1",
            "ProviderConfig",
            PROVIDER_CONFIG,
            ident,
            spec={"credentials": {"source": "PodIdentity"}, "assumeRoleChain": [{"roleARN": role}]},
            namespace=namespace or infra.namespace,
        )

    def resources(self, infra: ClusterInfra, ident: Identity) -> list[Obj]:
        return AwsLayer(infra, ident, PROVIDER_CONFIG).all()


class GcpCloud:
    """Crossplane on the (AWS) management cluster reaches GCP by workload identity federation: the
    provider pods exchange their projected ServiceAccount token at a workload identity pool that
    trusts the management cluster's OIDC issuer, then impersonate each project's provisioner."""

    name = "gcp"
    runtime_config = "provider-gcp"
    credentials = "gcp-workload-identity-federation"
    mount = "/var/run/secrets/gcp"

    def packages(self, target: Target) -> list[tuple[str, str]]:
        crossplane = target.parameters["crossplane"]
        gcp = crossplane["gcp"]
        return family_packages(crossplane["provider_registry"], "gcp", gcp["provider_version"], gcp["families"])

    def runtime(self, target: Target, ident: Identity) -> list[Obj]:
        audience = target.parameters["crossplane"]["gcp"]["token_audience"]
        # An external-account credential configuration holds no secret: where the token file is and
        # where to exchange it (Google's STS). ADC reads it through GOOGLE_APPLICATION_CREDENTIALS.
        configuration = {
            "type": "external_account",
            "audience": audience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "credential_source": {"file": f"{self.mount}/token"},
        }
        # Named after its content: a new audience rolls the provider pods.
        settings = config_map(
            self.credentials,
            CROSSPLANE_NAMESPACE,
            ident,
            {"credential-configuration.json": json.dumps(configuration, sort_keys=True, indent=2) + "\n"},
        )
        pod = {
            "containers": [
                {
                    "name": "package-runtime",
                    "env": [{"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": f"{self.mount}/credential-configuration.json"}],
                    "volumeMounts": [{"name": "gcp-federation", "mountPath": self.mount, "readOnly": True}],
                }
            ],
            "volumes": [
                {
                    "name": "gcp-federation",
                    "projected": {
                        "sources": [
                            {"configMap": {"name": settings["metadata"]["name"]}},
                            {"serviceAccountToken": {"audience": audience, "expirationSeconds": 3600, "path": "token"}},
                        ]
                    },
                }
            ],
        }
        return [deployment_runtime_config(self.runtime_config, ident, self.runtime_config, pod), settings]

    def provider_config(self, infra: ClusterInfra, target: Target, ident: Identity) -> Obj:
        account = target.parameters["crossplane"]["gcp"]["provisioner_service_account"]
        return provider_config(
            "gcp.m.upbound.io/v1beta1",
            "ProviderConfig",
            PROVIDER_CONFIG,
            ident,
            spec={
                "projectID": infra.account,
                "credentials": {
                    "source": "ImpersonateServiceAccount",
                    "impersonateServiceAccount": {"name": f"{account}@{infra.account}.iam.gserviceaccount.com"},
                },
            },
            namespace=infra.namespace,
        )

    def resources(self, infra: ClusterInfra, ident: Identity) -> list[Obj]:
        return GcpLayer(infra, ident, PROVIDER_CONFIG).all()


class AzureCloud:
    """Crossplane on the (AWS) management cluster reaches Azure by workload identity federation: the
    provider pods present their projected ServiceAccount token, which Crossplane's Entra ID identity
    (`crossplane.azure.client_id`) trusts through a federated credential on the management cluster's issuer."""

    name = "azure"
    runtime_config = "provider-azure"
    token_dir = "/var/run/secrets/azure/tokens"  # noqa: S105 - where the token file is mounted, not a secret

    def packages(self, target: Target) -> list[tuple[str, str]]:
        crossplane = target.parameters["crossplane"]
        azure = crossplane["azure"]
        return family_packages(crossplane["provider_registry"], "azure", azure["provider_version"], azure["families"])

    def runtime(self, target: Target, ident: Identity) -> list[Obj]:
        pod = {
            "containers": [
                {
                    "name": "package-runtime",
                    "volumeMounts": [{"name": "azure-identity-token", "mountPath": self.token_dir, "readOnly": True}],
                }
            ],
            "volumes": [
                {
                    "name": "azure-identity-token",
                    "projected": {
                        "sources": [
                            {
                                "serviceAccountToken": {
                                    "audience": TOKEN_AUDIENCE,
                                    "expirationSeconds": 3600,
                                    "path": "azure-identity-token",
                                }
                            }
                        ]
                    },
                }
            ],
        }
        return [deployment_runtime_config(self.runtime_config, ident, self.runtime_config, pod)]

    def provider_config(self, infra: ClusterInfra, target: Target, ident: Identity) -> Obj:
        azure = target.parameters["crossplane"]["azure"]
        return provider_config(
            "azure.m.upbound.io/v1beta1",
            "ProviderConfig",
            PROVIDER_CONFIG,
            ident,
            spec={
                "credentials": {"source": "OIDCTokenFile"},
                "oidcTokenFilePath": f"{self.token_dir}/azure-identity-token",
                "clientID": azure["client_id"],
                "tenantID": azure["tenant_id"],
                "subscriptionID": infra.account,
            },
            namespace=infra.namespace,
        )

    def resources(self, infra: ClusterInfra, ident: Identity) -> list[Obj]:
        tenant = str(infra.parameters["crossplane"]["azure"]["tenant_id"])
        return AzureLayer(infra, ident, PROVIDER_CONFIG, tenant).all()


CLOUDS: dict[str, Cloud] = {"aws": AwsCloud(), "gcp": GcpCloud(), "azure": AzureCloud()}


def cloud_of(infra: ClusterInfra) -> Cloud:
    return CLOUDS[infra.cloud]
