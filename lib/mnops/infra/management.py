"""The folders of the management cluster: providers, one infrastructure folder per workload cluster,
and the Argo CD Applications that sync them without ever cascading a deletion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from mnops.infra.aws import AwsLayer
from mnops.infra.model import ClusterInfra, cluster_infra
from mnops.inventory import load_target
from mnops.inventory.model import Target
from mnops.k8s.argocd import ProjectSpec, Source, Sync, app_project, application
from mnops.k8s.core import namespace
from mnops.k8s.crossplane import deployment_runtime_config, provider, provider_config
from mnops.k8s.meta import Identity
from mnops.kapitan_inventory import compiles_manifests

Obj = dict[str, Any]
PROVIDER_SERVICE_ACCOUNT = "provider-aws"
RUNTIME_CONFIG = "provider-aws"
ARGOCD_NAMESPACE = "argocd"
CROSSPLANE_NAMESPACE = "crossplane-system"


SUPPORTED_CLOUDS = frozenset({"aws"})


def managed_targets(target: Target, parameters_by_target: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Every cluster target whose `infra.management_cluster` names this one, whatever its cloud."""
    me = target.cluster.name
    return {
        name: params
        for name, params in sorted(parameters_by_target.items())
        if name != me and compiles_manifests(params) and params.get("infra", {}).get("management_cluster") == me
    }


def managed_clusters(target: Target, parameters_by_target: Mapping[str, Mapping[str, Any]]) -> list[ClusterInfra]:
    """The managed clusters whose cloud layer is generated: AWS only so far (GKE/AKS are not; the
    infrastructure doc lists the clusters left out, so nobody assumes their cloud layer exists)."""
    return [
        cluster_infra(load_target(name, params))
        for name, params in managed_targets(target, parameters_by_target).items()
        if params["cloud"]["provider"] in SUPPORTED_CLOUDS
    ]


def provider_packages(target: Target) -> list[tuple[str, str]]:
    """(provider name, package) for each family the managed resources use, from the inventory's pin."""
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


def crossplane_folder(target: Target, ident: Identity) -> list[Obj]:
    objs = [deployment_runtime_config(RUNTIME_CONFIG, ident, PROVIDER_SERVICE_ACCOUNT)]
    objs += [provider(name, ident, package, RUNTIME_CONFIG) for name, package in provider_packages(target)]
    return objs


def cluster_folder(infra: ClusterInfra, target: Target, ident: Identity) -> list[Obj]:
    """The workload cluster's namespace, how the provider reaches its account, and its resources."""
    role = f"arn:aws:iam::{infra.account}:role/{target.parameters['crossplane']['account_role']}"
    config = provider_config(
        "aws.m.upbound.io/v1beta1",
        "ProviderConfig",
        "default",
        ident,
        spec={"credentials": {"source": "PodIdentity"}, "assumeRoleChain": [{"roleARN": role}]},
        namespace=infra.namespace,
    )
    return [namespace(infra.namespace, ident), config, *AwsLayer(infra, ident, "default").all()]


def argocd_folder(target: Target, folders: Iterable[str], ident: Identity) -> list[Obj]:
    """One Application per folder; none has the resources finalizer, so deleting an Application
    (or the root) never deletes a managed resource, and with it a cloud resource."""
    name = target.cluster.name
    project = f"{name}-infrastructure"
    sync = Sync(
        automated=True,
        prune=False,
        self_heal=True,
        allow_empty=False,
        options=("ServerSideApply=true", "FailOnSharedResource=true", "PruneLast=true"),
        retry_limit=5,
        backoff="30s",
        factor=2,
        max_backoff="10m",
    )
    repo, revision = target.repo_url, target.parameters["argocd"]["revision"]
    folders = list(folders)
    spec = ProjectSpec(
        description="Crossplane and the cloud infrastructure of every workload cluster",
        source_repos=(repo,),
        destination_namespaces=(CROSSPLANE_NAMESPACE, *(f for f in folders if f.startswith("infra-"))),
        cluster_resources=(
            ("", "Namespace"),
            ("pkg.crossplane.io", "Provider"),
            ("pkg.crossplane.io", "DeploymentRuntimeConfig"),
        ),
    )
    objs = [app_project(project, ARGOCD_NAMESPACE, ident, spec)]
    for wave, folder in enumerate(sorted(folders, key=lambda f: (f != "crossplane", f))):
        objs.append(
            application(
                f"{name}-{folder}",
                ARGOCD_NAMESPACE,
                ident,
                project=project,
                sources=(Source(repo, revision, path=f"compiled/{name}/infra/{folder}"),),
                destination_namespace=folder if folder.startswith("infra-") else CROSSPLANE_NAMESPACE,
                wave=0 if folder == "crossplane" else 5 + wave,
                sync=sync,
                cascade_delete=False,
            )
        )
    for key, chart in sorted(target.parameters["charts"].items()):
        if not chart["enabled"]:
            continue
        # Multi-source: the upstream chart at its pinned version, values from this repository.
        sources = (
            Source(chart["repo_url"], chart["version"], chart=chart["chart"], release_name=key,
                   value_files=(f"$values/compiled/{name}/helm-values/{key}.yaml",)),
            Source(repo, revision, ref="values"),
        )  # fmt: skip
        objs.append(
            application(
                f"{name}-{key}",
                ARGOCD_NAMESPACE,
                ident,
                project=project,
                sources=sources,
                destination_namespace=chart["namespace"],
                wave=chart["wave"],
                sync=replace(sync, options=(*sync.options, "CreateNamespace=true")),
                cascade_delete=False,
            )
        )
    return objs


def management_folders(
    target: Target, parameters_by_target: Mapping[str, Mapping[str, Any]], ident: Identity
) -> dict[str, list[Obj]]:
    folders: dict[str, list[Obj]] = {"crossplane": crossplane_folder(target, ident)}
    for infra in managed_clusters(target, parameters_by_target):
        folders[infra.namespace] = cluster_folder(infra, target, ident)
    folders["argocd"] = argocd_folder(target, list(folders), ident)
    return folders
