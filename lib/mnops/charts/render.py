"""`helm template` for one chart on one cluster, cached by everything that decides the output.

Argo CD renders a chart Application the same way (`helm template --include-crds` with the
release name, namespace, values files, Kubernetes version and API versions), so what we render
here is what it applies, provided those inputs match: the cache key is exactly those inputs plus
the chart digest and the Helm version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mnops.cache_files import write_atomically
from mnops.charts.crd_summary import CRD_KIND, keep_summary


class ChartRenderError(Exception):
    """Helm refused to render a chart with our values (one line per failure, naming the values file)."""


@dataclass(frozen=True)
class RenderJob:
    """One chart on one cluster: the inputs Argo CD hands to Helm."""

    target: str
    release: str  # the catalog key: Argo CD's helm.releaseName
    namespace: str
    package: Path
    digest: str
    values_file: Path
    kube_version: str
    api_versions: tuple[str, ...] = ()

    def arguments(self) -> list[str]:
        args = ["template", self.release, str(self.package), "--namespace", self.namespace, "--include-crds",
                "--values", str(self.values_file), "--kube-version", self.kube_version]  # fmt: skip
        for api in self.api_versions:
            args += ["--api-versions", api]
        return args

    def cache_key(self, helm_version: str) -> str:
        digest = hashlib.sha256()
        # Paths are left out (the package's digest and the values' content stand in for them), so
        # the same inputs hit the cache from any compiled tree, make diff's temporary ones included.
        values = self.values_file.read_text(encoding="utf-8")
        for part in (helm_version, self.digest, self.release, self.namespace, values, self.kube_version, *self.api_versions):
            digest.update(part.encode() + b"\0")
        return digest.hexdigest()


@cache
def helm_version(helm: str) -> str:
    return subprocess.run([helm, "version", "--short"], check=True, capture_output=True, text=True).stdout.strip()


def render(job: RenderJob, helm: str, cache_dir: Path) -> Path:
    """The cached file holding the chart's rendered YAML; Helm runs only for inputs not seen before.

    Beside it, `<key>.apis` lists the API versions its CRDs serve, so a warm run learns what a
    cluster's charts install without parsing megabytes of CRDs again.
    """
    key = job.cache_key(helm_version(helm))
    cached = cache_dir / f"{key}.yaml"
    if cached.exists() and cached.with_suffix(".apis").exists():
        return cached
    proc = subprocess.run([helm, *job.arguments()], capture_output=True, text=True, check=False, timeout=300)
    if proc.returncode != 0:
        reason = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise ChartRenderError(f"{job.values_file}: helm template {job.release} failed for cluster {job.target}: {reason}")
    apis = served_crd_apis(proc.stdout, cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(cached, proc.stdout)
    write_atomically(cached.with_suffix(".apis"), "".join(f"{api}\n" for api in sorted(apis)))
    return cached


@cache
def _reader_fingerprint() -> str:
    """Changes with this module, so CRD readings kept by an older reader are never used."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _kept_reading(chunk: str, cache_dir: Path) -> Path:
    """Where what is read from one CRD's text is kept (`.apis`, `.json`): keyed by the text and the reader."""
    return cache_dir / "crd-apis" / hashlib.sha256(f"{_reader_fingerprint()}\0{chunk}".encode()).hexdigest()


def served_crd_apis(text: str, cache_dir: Path) -> set[str]:
    """The API versions the CRDs of a render serve (crd_api_versions), each CRD's text parsed once.

    A chart's CRDs seldom depend on its values, so the same CRD text comes back for every cluster, both
    render passes and every edited inventory; parsing megabytes of schema again was most of a fresh
    render's cost after Helm's. Each reading is kept under cache_dir/crd-apis/, keyed by the CRD's text,
    and with it the CRD summarised for review (mnops.charts.crd_summary), for the same reason.
    """
    found: set[str] = set()
    for chunk in split_documents(text):
        if kind_of(chunk) != CRD_KIND:
            continue
        kept = _kept_reading(chunk, cache_dir).with_suffix(".apis")
        if kept.exists():
            found |= set(kept.read_text(encoding="utf-8").split())
            continue
        objects = _parse_crd(chunk, kept.with_suffix(".json"))
        apis = crd_api_versions(objects)
        keep_summary(cache_dir, chunk, objects)
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(kept, "".join(f"{api}\n" for api in sorted(apis)))
        found |= apis
    return found


def crd_documents(text: str, cache_dir: Path) -> list[dict[str, Any]]:
    """The CRDs of a render, each read from the JSON kept when its text was first parsed (the compile
    parses every CRD for what it serves; JSON reads some 25 times faster than the YAML)."""
    found: list[dict[str, Any]] = []
    for chunk in split_documents(text):
        if kind_of(chunk) == CRD_KIND:
            kept = _kept_reading(chunk, cache_dir).with_suffix(".json")
            found += json.loads(kept.read_text(encoding="utf-8")) if kept.exists() else _parse_crd(chunk, kept)
    return found


def _parse_crd(chunk: str, kept: Path) -> list[dict[str, Any]]:
    """One CRD's text parsed, and kept at `kept` as JSON when JSON holds it exactly (not a YAML date)."""
    objects = documents(chunk)
    try:
        text = json.dumps(objects)
    except (TypeError, ValueError):
        return objects
    if json.loads(text) == objects:
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(kept, text)
    return objects


def provided_apis(rendered: Path) -> set[str]:
    """The API versions a cached render's CRDs serve (written by render())."""
    return set(rendered.with_suffix(".apis").read_text(encoding="utf-8").split())


# `group/version` or `group/version/Kind`, as templates test them with .Capabilities.APIVersions.Has.
_API_TOKEN = re.compile(r"[A-Za-z0-9.-]+/v[0-9]+[a-z0-9]*(?:/[A-Za-z0-9]+)?")


def mentioned_apis(package: Path) -> frozenset[str]:
    """Every API version string a chart package's templates (subcharts included) contain.

    A chart can only react to an API version it names, so a render given just the cluster's API
    versions that its templates mention is the render given all of them; the Application pins this
    smaller list (tests/test_charts_application_pins.py renders both and compares). Cached beside the
    package, whose name is its sha256.
    """
    cached = package.with_name(f"{package.stem}.apis.json")
    if cached.exists():
        return frozenset(json.loads(cached.read_text(encoding="utf-8")))
    tokens: set[str] = set()
    with tarfile.open(package) as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if member.isfile() and ("templates" in parts or member.name.endswith(".tpl")):
                handle = archive.extractfile(member)
                if handle is not None:
                    tokens |= set(_API_TOKEN.findall(handle.read().decode("utf-8", errors="replace")))
    write_atomically(cached, json.dumps(sorted(tokens)))
    return frozenset(tokens)


# How a template can see the API list: `.Capabilities.APIVersions`, or the whole object handed on
# (`$caps := .Capabilities`, `include "x" $.Capabilities`, `toYaml .Capabilities`, `index $ "Capabilities"`).
# Only `.Capabilities.KubeVersion` and `.HelmVersion` are known to be something else, so anything
# else counts as reading it: a false "reads" costs one render, a false "cannot" a wrong one.
_READS_API_LIST = re.compile(r"APIVersions|\.Capabilities(?!\.(?:KubeVersion|HelmVersion)\b)|[\"'`]Capabilities[\"'`]")
# A `{{ ... }}` action (an unclosed one runs to the end of the text).
_ACTION = re.compile(r"\{\{.*?(?:\}\}|\Z)", re.DOTALL)


def reads_api_list(text: str, *, template: bool) -> bool:
    """Whether this text can read the API list: a template anywhere; other text (values, chart
    files) only through `tpl`, which evaluates nothing but its `{{ ... }}` actions."""
    return any(_READS_API_LIST.search(part) for part in ([text] if template else _ACTION.findall(text)))


def package_reads_api_versions(package: Path) -> bool:
    """Whether a chart package (subcharts included) can read the API list Helm is given.

    Templates are read whole, every other file (values, `.Files.Get` text) for what `tpl` could
    make of it. A chart that cannot renders the same bytes whatever --api-versions says, so
    render_clusters renders it once instead of twice. Cached beside the package (whose name is its
    sha256), keyed by the rule.
    """
    rule = hashlib.sha256(f"{_READS_API_LIST.pattern}\0{_ACTION.pattern}".encode()).hexdigest()[:12]
    cached = package.with_name(f"{package.stem}.reads-apis-{rule}.json")
    if cached.exists():
        return bool(json.loads(cached.read_text(encoding="utf-8")))
    reads = False
    with tarfile.open(package) as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member) if member.isfile() else None
            if handle is None:
                continue
            template = "templates" in member.name.split("/") or member.name.endswith(".tpl")
            if reads_api_list(handle.read().decode("utf-8", errors="replace"), template=template):
                reads = True
                break
    write_atomically(cached, json.dumps(reads))
    return reads


def can_read_api_versions(job: RenderJob) -> bool:
    """Whether the job's render can depend on its --api-versions: its package, or its values file
    (which a chart may render with `tpl`), reads the API list."""
    values = job.values_file.read_text(encoding="utf-8")
    return package_reads_api_versions(job.package) or reads_api_list(values, template=False)


_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
_TOP_LEVEL_KIND = re.compile(r"^kind:[ \t]*['\"]?([A-Za-z0-9]+)", re.MULTILINE)


def document_pieces(text: str) -> list[str]:
    """Helm's output cut at its `---` lines, without parsing: every document, in order."""
    return _SEPARATOR.split(text)


def split_documents(text: str) -> list[str]:
    """Helm's output cut at its `---` lines, without parsing: documents that carry only comments dropped."""
    return [chunk for chunk in document_pieces(text) if _TOP_LEVEL_KIND.search(chunk)]


def kind_of(chunk: str) -> str:
    """The top-level kind of one document's text (Helm writes top-level keys at column 0)."""
    found = _TOP_LEVEL_KIND.search(chunk)
    return found.group(1) if found else ""


def render_many(jobs: Sequence[RenderJob], helm: str, cache_dir: Path, workers: int | None = None) -> dict[RenderJob, Path]:
    """Render jobs in parallel (Helm runs as separate processes); every failure is reported, not the first."""
    workers = workers or min(8, (os.cpu_count() or 1) * 2)
    results: dict[RenderJob, Path] = {}
    errors: list[str] = []

    def one(job: RenderJob) -> tuple[RenderJob, Path | None, str | None]:
        try:
            return job, render(job, helm, cache_dir), None
        except ChartRenderError as error:
            return job, None, str(error)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for job, path, error in pool.map(one, jobs):
            if error:
                errors.append(error)
            elif path is not None:
                results[job] = path
    if errors:
        raise ChartRenderError("\n".join(sorted(errors)))
    return results


def documents(text: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of a render (Helm's empty documents and comments dropped).

    A `v1 List` is unwrapped into its items, as Argo CD and kubectl apply do: the API server has no
    List resource, only the objects inside it (aws-load-balancer-controller renders its IngressClass
    and IngressClassParams as one List).
    """
    return [obj for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) for obj in unwrap_list(doc)]


def unwrap_list(doc: object) -> list[dict[str, Any]]:
    """The objects one YAML document stands for: itself, the items of a `v1 List`, or none."""
    if not isinstance(doc, dict) or not doc:
        return []
    if doc.get("apiVersion") == "v1" and doc.get("kind") == "List":
        return [item for item in doc.get("items") or [] if isinstance(item, dict) and item]
    return [doc]


def crd_api_versions(objects: Iterable[Mapping[str, Any]]) -> set[str]:
    """`group/version` and `group/version/Kind` for every served version of every CRD, as Helm's
    --api-versions (and .Capabilities.APIVersions.Has) spell them."""
    found: set[str] = set()
    for obj in objects:
        if obj.get("kind") != CRD_KIND:
            continue
        spec = obj.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        for version in spec.get("versions") or []:
            if version.get("served", True):
                found |= {f"{group}/{version['name']}", f"{group}/{version['name']}/{kind}"}
    return found
