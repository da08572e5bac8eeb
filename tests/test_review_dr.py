"""Disaster-recovery impact section (lib/mnops/review/dr_impact.py) on a real compile of a change
that shortens a retention and slows WAL archiving, on one that only shortens a cluster's RDS backups
(compiled under the management cluster), and on a head tree that loses a coverage cell."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
import yaml
from conftest import real_parameters
from review_support import env_class, kept_clusters

from mnops import yamlio
from mnops.data.managed import OPERATOR_CHARTS
from mnops.review import dr_impact
from mnops.review.registry import SECTIONS


def test_section_is_registered():
    assert dr_impact.build in SECTIONS


@pytest.mark.parametrize(
    ("cron", "seconds"),
    [
        ("0 * * * *", 3600),
        ("*/5 * * * *", 300),
        ("0 3 * * *", 86400),
        ("0 4 * * 0", 604800),
        ("0 5 1 * *", 2678400),
        ("0 0 2 * * *", 86400),
    ],
)
def test_cron_period(cron, seconds):
    assert dr_impact.cron_period(cron) == seconds


def test_retention_targets_need_frequency_and_age():
    met = dr_impact.DrFacts({"h": (3600, 86400), "d": (86400, 7 * 86400), "w": (604800, 28 * 86400), "m": (2678400, 365 * 86400)},
                            30, "", "30d", 3, "", 3)  # fmt: skip
    assert met.retention_misses() == [] and met.rpo_miss() is None
    short = dataclasses.replace(met, schedules={**met.schedules, "d": (86400, 3 * 86400)})
    assert short.retention_misses() == ["no backup at least daily kept 7d"]
    assert dataclasses.replace(met, postgres_rpo=900).rpo_miss() == "PostgreSQL RPO 15m is not under 15m"


def test_managed_stores_miss_the_plan_on_retention_multi_az_and_deletion_protection():
    met = dr_impact.ManagedFacts(rds_retention_days=30, rds_multi_az=True, rds_deletion_protection=True,
                                 cache_retention_days=7, cache_multi_az=True)  # fmt: skip
    assert met.misses(prod=True) == []
    weak = dr_impact.ManagedFacts(rds_retention_days=3, rds_multi_az=False, rds_deletion_protection=False,
                                  cache_retention_days=1, cache_multi_az=False)  # fmt: skip
    assert weak.misses(prod=False) == [
        "RDS backups kept 3d, under the daily tier's 7d",
        "ElastiCache snapshots kept 1d, under the daily tier's 7d",
        "RDS deletion protection off: deleting the instance takes its automated backups with it",
    ]
    assert "RDS Multi-AZ off in prod: a zone loss becomes a restore (RTO target 1h)" in weak.misses(prod=True)
    assert "ElastiCache Multi-AZ off in prod: a zone loss has no replica to promote" in weak.misses(prod=True)
    assert dr_impact.ManagedFacts().misses(prod=True) == []  # a cluster without managed stores misses nothing


def managed_postgres_cluster() -> tuple[str, str]:
    """A primary with services whose cloud resources a management cluster creates (from the inventory)."""
    parameters = real_parameters()
    cluster = next(
        c
        for c, p in sorted(parameters.items())
        if p["cluster"]["role"] == "primary" and p.get("services") and p["cloud"]["provider"] == "aws"
        and p["infra"].get("management_cluster") not in (None, c)
    )  # fmt: skip
    return cluster, parameters[cluster]["infra"]["management_cluster"]


def on_rds(cluster: str, **more: object) -> list[dict[str, object]]:
    """docs/infrastructure.md's recipe (the choice, the operator charts off) in the cluster's environment class."""
    charts = {f"parameters.charts.{key}.enabled": False for key in OPERATOR_CHARTS["postgres"]}
    return [{"file": env_class(real_parameters(), cluster),
             "set": {"parameters.infra.data_services.postgres": "rds", **charts, **more}}]  # fmt: skip


@pytest.mark.slow  # compiles two copies of the inventory (base and head)
def test_a_shorter_rds_retention_alone_is_reviewed_for_its_cluster_and_risky(review_sides):
    cluster, manager = managed_postgres_cluster()
    # The compile keeps RDS at least as long as the recovery window: both are shortened.
    shorter = {"parameters.infra.data_services.rds.backup_retention_days": 3, "parameters.postgres.backup.retention": "3d"}
    review = review_sides(on_rds(cluster, **shorter), keep=(cluster, manager), base_edits=on_rds(cluster))
    assert dr_impact.managed_documents(review.head_root, cluster, manager), f"no RDS instance for {cluster} under {manager}"
    # Only the management cluster's tree changed: the cluster's own folder is the same on both sides.
    assert cluster not in review.changed_clusters
    section = dr_impact.build(review)
    assert section is not None
    assert f"{cluster}: PostgreSQL backups kept: 30d (RDS automated backups) -> 3d (RDS automated backups)" in section.text
    mine = [r.message for r in section.risks if r.target == cluster]
    assert mine == ["misses the plan's target: RDS backups kept 3d, under the daily tier's 7d"]


def weaker_backups():
    cluster = kept_clusters()[0]
    return cluster, [
        {
            "file": env_class(real_parameters(), cluster),
            "set": {
                "parameters.backup.schedules.daily.ttl": "3d",
                # The cross-region copy is daily too: shortened as well, or it alone meets the 7-day target.
                "parameters.backup.cross_region.ttl": "3d",
                "parameters.postgres.parameters.archive_timeout": "10min",
            },
        }
    ]


def test_a_shorter_retention_misses_the_plan_and_slower_archiving_shows_its_rpo(review_sides):
    cluster, edits = weaker_backups()
    section = dr_impact.build(review_sides(edits))
    assert section is not None
    assert f"{cluster}: velero daily: every 1d, kept 7d -> every 1d, kept 3d" in section.text
    assert (
        f"{cluster}: PostgreSQL RPO: 30s (WAL archived, archive_timeout 30s) -> 10m (WAL archived, archive_timeout 10min)"
        in section.text
    )
    mine = sorted(r.message for r in section.risks if r.target == cluster)
    # 10 minutes of WAL at risk is still under the 15-minute RPO (the inventory refuses more).
    assert mine == ["misses the plan's target: no backup at least daily kept 7d"]


def test_a_coverage_cell_turned_off_is_risky(review_sides, tmp_path):
    review = review_sides([])
    cluster = kept_clusters()[0]
    head = tmp_path / "head"
    shutil.copytree(review.base_root, head, symlinks=False)
    service = sorted(real_parameters()[cluster]["services"])[0]
    dashboards = head / "compiled" / cluster / "manifests" / "dashboards" / "configmap.yaml"
    kept = [d for d in yamlio.load_all(dashboards.read_text()) if d and service not in str(d["metadata"]["name"])]
    assert len(kept) < len(yamlio.load_all(dashboards.read_text())), f"no dashboard ConfigMap names {service}"
    dashboards.write_text(yaml.safe_dump_all(kept))
    section = dr_impact.build(dataclasses.replace(review, head_root=head))
    assert section is not None
    assert any(
        r.message == f"observability coverage turned off: {service} / dashboard" and r.target == cluster for r in section.risks
    )


def test_no_change_gives_no_section(review_sides):
    assert dr_impact.build(review_sides([])) is None
