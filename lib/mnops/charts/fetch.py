"""Chart packages in a content-addressed cache (.cache/charts/<sha256>.tgz), fetched from
CHART_MIRROR (a Helm repository folder: index.yaml + packages) or else from the chart's own
repository (a Helm HTTP repository's index.yaml, or `helm pull` for oci://).

A package enters the cache only after its sha256 matched the lock, so a cached file is trusted
by its name and a chart is downloaded once per version.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mnops.charts.lock import CatalogChart, ChartLockError, LockedChart


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def _mirror_index(mirror: Path) -> dict[tuple[str, str], dict[str, Any]]:
    index_path = mirror / "index.yaml"
    if not index_path.exists():
        raise ChartLockError(f"CHART_MIRROR={mirror}: no index.yaml there (expected a Helm repository folder)")
    index = yaml.safe_load(index_path.read_text(encoding="utf-8")) or {}
    return {(name, str(e["version"])): e for name, entries in (index.get("entries") or {}).items() for e in entries}


def _from_mirror(chart: CatalogChart, mirror: Path, into: Path) -> None:
    entry = _mirror_index(mirror).get((chart.chart, chart.version))
    if entry is None:
        raise ChartLockError(f"CHART_MIRROR={mirror}: index.yaml has no {chart.chart} {chart.version} (catalog key {chart.key})")
    shutil.copyfile(mirror / str(entry["urls"][0]), into)


def _from_repository(chart: CatalogChart, helm: str, into: Path) -> None:
    if chart.repository.startswith("oci://"):
        with tempfile.TemporaryDirectory() as work:
            reference = f"{chart.repository.rstrip('/')}/{chart.chart}"
            subprocess.run([helm, "pull", reference, "--version", chart.version, "--destination", work],
                           check=True, capture_output=True, timeout=300)  # fmt: skip
            shutil.move(next(Path(work).glob("*.tgz")), into)
        return
    base = chart.repository.rstrip("/") + "/"
    if not base.startswith("https://"):
        raise ChartLockError(f"{chart.key}: repository {chart.repository} is neither https:// nor oci://")
    with urllib.request.urlopen(base + "index.yaml", timeout=60) as response:  # noqa: S310 # nosec B310 - https only
        index = yaml.load(response.read(), Loader=yaml.CSafeLoader) or {}
    entries = [e for e in (index.get("entries") or {}).get(chart.chart, []) if str(e["version"]) == chart.version]
    if not entries:
        raise ChartLockError(f"{chart.key}: {chart.repository} has no {chart.chart} {chart.version}")
    url = urllib.parse.urljoin(base, str(entries[0]["urls"][0]))
    if not url.startswith("https://"):
        raise ChartLockError(f"{chart.key}: package URL {url} is not https://")
    with urllib.request.urlopen(url, timeout=300) as response, into.open("wb") as out:  # noqa: S310 # nosec B310
        shutil.copyfileobj(response, out)


def download(chart: CatalogChart, cache_dir: Path, mirror: Path | None, helm: str) -> Path:
    """Fetch a chart whose digest we do not know yet (for `make chart-lock`); returns the package path."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".part", delete=False) as part:
        partial = Path(part.name)
    try:
        if mirror is not None:
            _from_mirror(chart, mirror, partial)
        else:
            try:
                _from_repository(chart, helm, partial)
            except (OSError, subprocess.SubprocessError) as error:
                raise ChartLockError(
                    f"{chart.key}: cannot fetch {chart.chart} {chart.version} from {chart.repository} ({error}); "
                    "offline, set CHART_MIRROR to a Helm repository folder"
                ) from None
        final = cache_dir / f"{sha256_of(partial)}.tgz"
        os.replace(partial, final)
        return final
    finally:
        partial.unlink(missing_ok=True)


def fetch(locked: LockedChart, cache_dir: Path, mirror: Path | None, helm: str) -> Path:
    """The package the lock names, from the cache or fetched and verified; a digest mismatch is an error."""
    cached = cache_dir / f"{locked.digest}.tgz"
    if cached.exists():
        return cached
    wanted = CatalogChart(locked.key, locked.chart, locked.version, locked.repository)
    got = download(wanted, cache_dir, mirror, helm)
    if got != cached:
        got.unlink()
        source = f"CHART_MIRROR={mirror}" if mirror else locked.repository
        raise ChartLockError(
            f"charts.lock: {locked.key}: {locked.chart} {locked.version} from {source} has sha256 {got.stem}, "
            f"the lock says {locked.digest}; refusing it (a republished chart? check, then `make chart-lock`)"
        )
    return cached
