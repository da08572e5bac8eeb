"""Disaster-recovery impact section (lib/mnops/review/dr_impact.py) on a real compile of a change
that shortens a retention and slows WAL archiving, and on a head tree that loses a coverage cell."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
import yaml
from conftest import real_parameters
from review_support import env_class, kept_clusters

from mnops import yamlio
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
