"""The chart lock and the tools that read it: Helm verified by checksum, packages by digest."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, real_parameters

from mnops.charts.fetch import fetch, sha256_of
from mnops.charts.lock import LOCK_FILE, ChartLockError, LockedChart, chart_catalog, read_lock, render_lock, stale_entries

MIRROR = Path(os.environ.get("CHART_MIRROR") or ROOT.parent / "shared" / "charts")
HELM = Path(os.environ.get("HELM") or ROOT / ".tools" / "helm" / "helm")
needs_mirror = pytest.mark.skipif(not (MIRROR / "index.yaml").exists(), reason="no CHART_MIRROR with an index.yaml")


def test_lock_covers_exactly_the_catalog_of_the_real_inventory() -> None:
    catalog = chart_catalog(real_parameters())
    lock = read_lock(ROOT / LOCK_FILE)
    assert catalog, "the inventory declares no charts"
    assert stale_entries(catalog, lock) == []


def test_lock_file_is_byte_for_byte_what_chart_lock_writes() -> None:
    text = (ROOT / LOCK_FILE).read_text()
    assert render_lock(read_lock(ROOT / LOCK_FILE)) == text


def test_a_catalog_version_bump_without_relocking_is_reported() -> None:
    parameters = real_parameters()
    target = next(iter(parameters))
    key = sorted(parameters[target]["charts"])[0]
    for params in parameters.values():
        params["charts"][key]["version"] = "0.0.0-not-locked"
    problems = stale_entries(chart_catalog(parameters), read_lock(ROOT / LOCK_FILE))
    assert len(problems) == 1
    assert problems[0].startswith(f"charts.lock: {key}:") and "make chart-lock" in problems[0]


def test_two_targets_pinning_different_versions_of_one_chart_is_an_error() -> None:
    parameters = real_parameters()
    first, *others = sorted(parameters)
    if not others:
        pytest.skip("needs two targets")
    key = sorted(parameters[first]["charts"])[0]
    parameters[first]["charts"][key]["version"] = "0.0.1"
    with pytest.raises(ChartLockError, match=rf"parameters\.charts\.{key}"):
        chart_catalog(parameters)


@needs_mirror
def test_fetch_returns_the_locked_package_and_caches_it_by_digest(tmp_path: Path) -> None:
    lock = read_lock(ROOT / LOCK_FILE)
    locked = min(lock.values(), key=lambda e: (MIRROR / f"{e.chart}-{e.version}.tgz").stat().st_size)
    package = fetch(locked, tmp_path, MIRROR, str(HELM))
    assert package == tmp_path / f"{locked.digest}.tgz"
    assert sha256_of(package) == locked.digest


@needs_mirror
def test_a_package_whose_digest_differs_from_the_lock_is_refused(tmp_path: Path) -> None:
    lock = read_lock(ROOT / LOCK_FILE)
    locked = min(lock.values(), key=lambda e: (MIRROR / f"{e.chart}-{e.version}.tgz").stat().st_size)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(MIRROR / "index.yaml", mirror / "index.yaml")
    package = mirror / f"{locked.chart}-{locked.version}.tgz"
    package.write_bytes((MIRROR / package.name).read_bytes() + b"tampered")
    with pytest.raises(ChartLockError, match=rf"{locked.key}: .* has sha256 [0-9a-f]{{64}}, the lock says {locked.digest}"):
        fetch(locked, tmp_path / "cache", mirror, str(HELM))
    assert not list((tmp_path / "cache").glob("*.tgz")), "a refused package must not stay in the cache"


@needs_mirror
def test_a_version_the_mirror_does_not_have_is_a_one_line_error(tmp_path: Path) -> None:
    missing = LockedChart("ghost", "ghost-chart", "9.9.9", "https://example.invalid/charts", "0" * 64)
    with pytest.raises(ChartLockError, match=r"^CHART_MIRROR=.*: index.yaml has no ghost-chart 9.9.9 \(catalog key ghost\)$"):
        fetch(missing, tmp_path, MIRROR, str(HELM))


def test_lock_entries_name_repository_version_and_a_sha256_digest() -> None:
    document = yaml.safe_load((ROOT / LOCK_FILE).read_text())
    for key, entry in document["charts"].items():
        assert set(entry) == {"chart", "version", "repository", "digest"}, key
        assert len(entry["digest"]) == 64 and int(entry["digest"], 16) >= 0, key


def _committed_sums() -> dict[str, str]:
    lines = (ROOT / "tools" / "helm-layer.sha256").read_text().splitlines()
    return {line.split()[1]: line.split()[0] for line in lines if line and not line.startswith("#")}


@pytest.mark.skipif(not HELM.exists(), reason="helm is not installed (make helm)")
def test_installed_helm_and_kubectl_are_the_committed_checksums() -> None:
    sums = _committed_sums()
    assert set(sums) == {"helm/helm", "kubectl/kubectl"}
    tools = HELM.parent.parent
    for relative, expected in sums.items():
        assert hashlib.sha256((tools / relative).read_bytes()).hexdigest() == expected, relative
    version = subprocess.run([str(HELM), "version", "--short"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v4.1.4")


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_install_helm_refuses_binaries_with_another_checksum(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sha256"
    bad.write_text("".join(f"{'0' * 64}  {name}\n" for name in _committed_sums()))
    proc = subprocess.run([str(ROOT / "scripts" / "install-helm"), str(tmp_path / "tools")], capture_output=True,
                          text=True, env={**os.environ, "HELM_LAYER_SUMS": str(bad)}, check=False, timeout=300)  # fmt: skip
    assert proc.returncode == 1
    assert "checksum mismatch" in proc.stderr
    assert not (tmp_path / "tools" / "helm" / "helm").exists()
