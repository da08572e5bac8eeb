"""Every capability a compiled cluster uses has its provider in the tree (a bare EKS cluster has none).

Each check is proven able to fail: a copy of a real compiled cluster with the provider taken away
must report exactly that gap.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, real_parameters

from mnops.infra.capabilities import capability_gaps
from mnops.kapitan_inventory import compiles_manifests

COMPILED = ROOT / "compiled"


def clusters() -> dict[str, str]:
    """Workload cluster -> its management cluster, from the inventory."""
    return {
        name: params["infra"]["management_cluster"]
        for name, params in sorted(real_parameters().items())
        if compiles_manifests(params)
        and params["services"]
        and params["cloud"]["provider"] == "aws"
        and params.get("infra", {}).get("management_cluster") != name
    }


CLUSTERS = sorted(clusters())


def uses_autoscaling(cluster: str) -> bool:
    return any("kind: HorizontalPodAutoscaler" in p.read_text() for p in (COMPILED / cluster / "manifests").rglob("*.yaml"))


def infra_dir(root: Path, cluster: str) -> Path:
    return root / clusters()[cluster] / "infra" / f"infra-{cluster}"


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_used_capability_has_its_provider(cluster: str) -> None:
    assert capability_gaps(COMPILED / cluster, infra_dir(COMPILED, cluster)) == []


def drop_chart_app(chart: str) -> Callable[[Path], None]:
    def edit(cluster_dir: Path) -> None:
        path = cluster_dir / "manifests" / "argocd" / "application.yaml"
        docs = list(yaml.safe_load_all(path.read_text()))
        kept = [d for d in docs if all(s.get("chart") != chart for s in d["spec"].get("sources", []))]
        assert len(kept) < len(docs), f"no Application for {chart} to remove"
        path.write_text(yaml.safe_dump_all(kept))

    return edit


def rename_storage_class(cluster_dir: Path) -> None:
    path = cluster_dir / "helm-values" / "aws-ebs-csi-driver.yaml"
    values = yaml.safe_load(path.read_text())
    values["storageClasses"][0]["name"] = "something-else"
    path.write_text(yaml.safe_dump(values))


def narrow_dns_zone(cluster_dir: Path) -> None:
    path = cluster_dir / "helm-values" / "external-dns.yaml"
    values = yaml.safe_load(path.read_text())
    values["domainFilters"] = ["example.org"]
    path.write_text(yaml.safe_dump(values))


def drop_association(infra: Path) -> None:
    path = infra / "podidentityassociation.yaml"
    docs = list(yaml.safe_load_all(path.read_text()))
    path.write_text(yaml.safe_dump_all([d for d in docs if not d["metadata"]["name"].endswith("-velero-velero")]))


BROKEN = {
    "no metrics-server": (drop_chart_app("metrics-server"), None, "HorizontalPodAutoscalers need the metrics API"),
    "no gp3 StorageClass": (rename_storage_class, None, "volumes use StorageClass 'gp3'"),
    "no load balancer controller": (
        drop_chart_app("aws-load-balancer-controller"),
        None,
        "need the AWS Load Balancer Controller",
    ),
    "no external-dns": (drop_chart_app("external-dns"), None, "need DNS records: no external-dns Application"),
    "hostname outside the zone": (narrow_dns_zone, None, "is in none of external-dns's zones"),
    "no Pod Identity association": (None, drop_association, "-velero-velero': no PodIdentityAssociation"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_missing_provider_is_reported(case: str, tmp_path: Path) -> None:
    edit_cluster, edit_infra, expected = BROKEN[case]
    # A cluster that uses every capability (some environments run no autoscalers).
    cluster = next(c for c in CLUSTERS if (COMPILED / c / "manifests" / "gateway").is_dir() and uses_autoscaling(c))
    cluster_copy = tmp_path / cluster
    shutil.copytree(COMPILED / cluster, cluster_copy)
    infra_copy = tmp_path / "infra"
    shutil.copytree(infra_dir(COMPILED, cluster), infra_copy)
    if edit_cluster:
        edit_cluster(cluster_copy)
    if edit_infra:
        edit_infra(infra_copy)
    gaps = capability_gaps(cluster_copy, infra_copy)
    assert len(gaps) == 1 and expected in gaps[0], gaps
