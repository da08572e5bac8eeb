"""The folders of the management cluster: providers, one infrastructure folder per workload cluster,
and the Argo CD Applications that sync them without ever cascading a deletion."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any

from mnops.data.managed import data_services
from mnops.errors import BuildError
from mnops.infra.addons import addon_values
from mnops.infra.aws import AwsLayer
from mnops.infra.aws_data import AwsDataServices
from mnops.infra.clouds import CLOUDS, CROSSPLANE_NAMESPACE, PROVIDER_CONFIG, AwsCloud, cloud_of, family_packages
from mnops.infra.edge import edge_plan, environment_edge_objects
from mnops.infra.model import ClusterInfra, cluster_infra
from mnops.infra.rules import declared_first
from mnops.inventory import load_target
from mnops.inventory.model import Target
from mnops.k8s.argocd import ProjectSpec, Source, Sync, app_project, application
from mnops.k8s.core import namespace
from mnops.k8s.crossplane import provider
from mnops.k8s.meta import Identity
from mnops.kapitan_inventory import compiles_manifests

Obj = dict[str, Any]
ARGOCD_NAMESPACE = "argocd"


SUPPORTED_CLOUDS = frozenset(CLOUDS)
# The cluster-scoped kinds the add-on charts (Crossplane, External Secrets) install.
CHART_CLUSTER_KINDS = (
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
)


def managed_targets(target: Target, parameters_by_target: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Every cluster target whose `infra.management_cluster` names this one, whatever its cloud."""
    me = target.cluster.name
    return {
        name: params
        for name, params in sorted(parameters_by_target.items())
        if name != me and compiles_manifests(params) and params.get("infra", {}).get("management_cluster") == me
    }


def managed_clusters(target: Target, parameters_by_target: Mapping[str, Mapping[str, Any]]) -> list[ClusterInfra]:
    """The managed clusters whose cloud layer is generated: those on a cloud of mnops.infra.clouds (the
    infrastructure doc lists the clusters left out, so nobody assumes their cloud layer exists)."""
    return [
        cluster_infra(load_target(name, params))
        for name, params in managed_targets(target, parameters_by_target).items()
        if params["cloud"]["provider"] in SUPPORTED_CLOUDS
    ]


def clouds_in_use(clusters: Iterable[ClusterInfra]) -> list[str]:
    """The clouds the managed clusters run on: only their provider packages are installed."""
    return sorted({infra.cloud for infra in clusters})


def crossplane_folder(target: Target, clusters: list[ClusterInfra], ident: Identity, aws_used: Collection[str] = ()) -> list[Obj]:
    """Each cloud's runtime and provider packages; on AWS also the families the managed data services
    use (rds, elasticache), only once a cluster chose them."""
    objs: list[Obj] = []
    for name in clouds_in_use(clusters):
        cloud = CLOUDS[name]
        packages = dict(cloud.packages(target))
        if name == "aws" and aws_used:
            crossplane = target.parameters["crossplane"]
            packages |= dict(
                family_packages(crossplane["provider_registry"], "aws", crossplane["provider_version"], sorted(aws_used))
            )
        objs += cloud.runtime(target, ident)
        objs += [provider(p, ident, package, cloud.runtime_config) for p, package in sorted(packages.items())]
    return objs


def data_peers(infra: ClusterInfra, clusters: list[ClusterInfra]) -> tuple[ClusterInfra | None, list[ClusterInfra]]:
    """For managed PostgreSQL: the primary a standby's read replica follows, and the standbys a
    primary's credentials are published to (both choose RDS: mnops.infra.rules' fleet rule)."""
    if not data_services(infra.parameters).managed("postgres"):
        return None, []
    by_name = {c.name: c for c in clusters}
    primary = None
    if infra.role == "standby":
        primary = by_name.get(infra.parameters["data"]["primary_cluster"])
        if primary is None:
            raise BuildError(f"{infra.name}: its RDS read replica follows {infra.parameters['data']['primary_cluster']!r}, "
                             "which this management cluster does not create: manage both from one")  # fmt: skip
    standbys = [
        c
        for c in clusters
        if c.role == "standby"
        and c.parameters["data"]["primary_cluster"] == infra.name
        and data_services(c.parameters).managed("postgres")
    ]
    return primary, standbys


def managed_data(infra: ClusterInfra, target: Target, ident: Identity, clusters: list[ClusterInfra]) -> list[Obj]:
    """RDS / ElastiCache and their publishing where the cluster chose them (AWS only: mnops.infra.rules)."""
    if infra.cloud != "aws":
        return []
    primary, standbys = data_peers(infra, clusters)
    return AwsDataServices(AwsLayer(infra, ident, PROVIDER_CONFIG), target, primary, standbys).all()


def cluster_folder(infra: ClusterInfra, target: Target, ident: Identity, clusters: list[ClusterInfra] | None = None) -> list[Obj]:
    """The workload cluster's namespace, how the provider reaches its cloud account, and its resources."""
    cloud = cloud_of(infra)
    return [
        namespace(infra.namespace, ident),
        cloud.provider_config(infra, target, ident),
        *cloud.resources(infra, ident),
        *managed_data(infra, target, ident, clusters or [infra]),
    ]


def environment_owners(clusters: list[ClusterInfra], takes_part: Callable[[ClusterInfra], bool]) -> dict[str, ClusterInfra]:
    """Per environment, its first cluster in the address plan among those taking part: the cluster whose account
    (and region) an environment's own folder uses, whichever of them is primary, so a role swap moves nothing."""
    owners: dict[str, ClusterInfra] = {}
    for infra in sorted(clusters, key=lambda i: declared_first(i.name, i.settings["networks"])):
        if takes_part(infra):
            owners.setdefault(infra.environment, infra)
    return owners


def _environment_folder(folder: str, what: str, infra: ClusterInfra, clusters: list[ClusterInfra]) -> str:
    if folder in {c.namespace for c in clusters}:
        name = folder.removeprefix("infra-")
        raise BuildError(f"cluster {name!r}: its folder {folder} is the {infra.environment} {what}'s; rename the cluster")
    return folder


def zone_folders(clusters: list[ClusterInfra], target: Target, ident: Identity) -> dict[str, list[Obj]]:
    """One hosted zone per environment whose clusters serve hostnames, in a folder of its own: a role swap
    between its clusters moves nothing. Its account is that of the environment's first cluster in the
    address plan (mnops.infra.rules makes the others share it)."""
    # GKE's and AKS's layers keep their zones (mnops.infra.gcp, azure)
    owners = environment_owners(clusters, lambda i: bool(i.hostnames) and i.cloud == "aws")
    folders = {}
    for infra in owners.values():
        folder = _environment_folder(infra.zone_namespace, "zone", infra, clusters)
        zone = AwsLayer(infra, ident, PROVIDER_CONFIG, namespace=folder).public_zone()
        folders[folder] = [namespace(folder, ident), AwsCloud().provider_config(infra, target, ident, folder), zone]
    return folders


def edge_folders(clusters: list[ClusterInfra], target: Target, ident: Identity) -> dict[str, list[Obj]]:
    """One CloudFront distribution with its WAF, certificate, log bucket and records per environment fronted by
    CloudFront, in a folder of its own (mnops.infra.edge): a role swap changes nothing in it. Read from the
    environment's first cluster in the address plan (its account, the log bucket's region); mnops.infra.rules
    holds the others' `infra.edge`, hostnames and account equal to it."""
    owners = environment_owners(clusters, lambda i: i.cloud == "aws" and edge_plan(i) is not None)
    folders = {}
    for infra in owners.values():
        folder = _environment_folder(infra.edge_namespace, "edge", infra, clusters)
        layer = AwsLayer(infra, ident, PROVIDER_CONFIG, namespace=folder, environment_scope=True)
        provider = AwsCloud().provider_config(infra, target, ident, folder)
        folders[folder] = [namespace(folder, ident), provider, *environment_edge_objects(layer)]
    return folders


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
    # Only the add-on charts this cluster compiles values for (Crossplane, External Secrets): the
    # platform classes list every workload chart, which the management cluster does not run.
    charts = {key: target.parameters["charts"][key] for key in sorted(addon_values(target))}
    spec = ProjectSpec(
        description="Crossplane and the cloud infrastructure of every workload cluster",
        source_repos=(repo, *(chart["repo_url"] for chart in charts.values())),
        destination_namespaces=(
            CROSSPLANE_NAMESPACE,
            *(f for f in folders if f.startswith("infra-")),
            *(chart["namespace"] for chart in charts.values()),
        ),
        cluster_resources=(
            ("", "Namespace"),
            ("pkg.crossplane.io", "Provider"),
            ("pkg.crossplane.io", "DeploymentRuntimeConfig"),
            *(CHART_CLUSTER_KINDS if charts else ()),
        ),
    )
    objs = [app_project(project, ARGOCD_NAMESPACE, ident, spec)]
    for wave, folder in enumerate(sorted(folders, key=lambda f: (f != "crossplane", f))):
        objs.append(
            application(
                # A folder named like a chart (crossplane) gets a suffix: two Applications cannot share a name.
                f"{name}-{folder}" if folder not in charts else f"{name}-{folder}-objects",
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
    for key, chart in charts.items():
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
    clusters = managed_clusters(target, parameters_by_target)
    folders: dict[str, list[Obj]] = {}
    for infra in clusters:
        folders[infra.namespace] = cluster_folder(infra, target, ident, clusters)
    folders.update(zone_folders(clusters, target, ident))
    folders.update(edge_folders(clusters, target, ident))
    # AWS provider families follow what is emitted: rds / elasticache only once a cluster chose them.
    aws_used = {str(o["apiVersion"]).split(".")[0] for objs in folders.values() for o in objs if ".aws.m." in o["apiVersion"]}
    if clusters:  # no managed cluster, no provider to install (an empty folder would fail its sync)
        folders = {"crossplane": crossplane_folder(target, clusters, ident, aws_used), **folders}
    folders["argocd"] = argocd_folder(target, list(folders), ident)
    return folders
