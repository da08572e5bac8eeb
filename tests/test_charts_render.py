"""Every enabled chart rendered per cluster with its compiled values, and what that render must pass.

Renders come from the cache in .cache/renders (keyed by chart digest, values, Kubernetes and API
versions): the first run renders everything, later ones only what changed.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

from charts_support import NEEDS_HELM, ONE_WORKER
from charts_support import clusters as _clusters
from charts_support import rendered as _rendered
from conftest import CRD_SCHEMAS, ROOT

from mnops.charts.checks import check_rendered
from mnops.charts.compile_check import helm_binary
from mnops.charts.lock import LOCK_FILE, read_lock
from mnops.charts.render import RenderJob, render, split_documents
from mnops.gitops.plan import delivery_plan
from mnops.manifest_validation import crd_validator

pytestmark = [NEEDS_HELM, ONE_WORKER]


def test_every_enabled_chart_renders_for_every_cluster() -> None:
    expected = {(t, c.key) for t, p in _clusters().items() for c in delivery_plan(p).enabled_charts}
    rendered = _rendered()
    assert {(r.target, r.key) for r in rendered} == expected
    assert all(split_documents(r.text) for r in rendered), "a chart rendered no objects"


def test_every_rendered_document_is_strictly_valid(tmp_path: Path) -> None:
    report = check_rendered(_clusters(), _rendered(), CRD_SCHEMAS, ROOT / ".cache" / "checks")
    assert report.documents > 0
    assert report.problems == []


def test_an_invalid_rendered_document_is_reported_with_cluster_chart_and_path(tmp_path: Path) -> None:
    good = _rendered()[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "---\n# Source: x/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\n"
        "spec:\n  replicas: two\n  selector: {}\n  template: {spec: {containers: []}}\n"
    )
    broken = dataclasses.replace(good, rendered=bad, cache_key="test-invalid-" + good.cache_key)
    report = check_rendered(_clusters(), [broken], CRD_SCHEMAS, tmp_path / "checks")
    assert report.documents == 1
    assert any(p.startswith(f"{good.target}: chart {good.key} rendered with") and "Deployment/broken: $.spec.replicas" in p
               for p in report.problems), report.problems  # fmt: skip


CERTIFICATE = (
    "---\n# Source: x/templates/certificate.yaml\napiVersion: cert-manager.io/v1\nkind: Certificate\n"
    "metadata: {name: web, namespace: web}\nspec: {secretName: web-tls, dnsNames: [web.example.com], "
    "issuerRef: {name: letsencrypt, kind: ClusterIssuer}}\n"
)


def test_a_crd_schema_edited_in_place_is_checked_again_not_answered_from_the_kept_result(tmp_path: Path) -> None:
    """Kept results are keyed by the schema location's name; the schema files they read are checked on reuse."""
    good = _rendered()[0]
    location = tmp_path / "crd-schemas"
    schema_file = location / "cert-manager.io" / "certificate_v1.json"
    schema_file.parent.mkdir(parents=True)
    schema_file.write_bytes((Path(CRD_SCHEMAS) / "cert-manager.io" / "certificate_v1.json").read_bytes())
    render_file = tmp_path / "certificate.yaml"
    render_file.write_text(CERTIFICATE)
    chart = dataclasses.replace(good, rendered=render_file, cache_key="test-schema-edit")
    assert check_rendered(_clusters(), [chart], str(location), tmp_path / "checks").problems == []
    schema = json.loads(schema_file.read_text())
    schema["properties"]["spec"]["required"] = [*schema["properties"]["spec"].get("required", []), "renewBefore"]
    schema_file.write_text(json.dumps(schema))  # a stricter schema at the same location
    crd_validator.cache_clear()  # as the next compile, a new process, would: only the kept result remains
    problems = check_rendered(_clusters(), [chart], str(location), tmp_path / "checks").problems
    assert any("Certificate/web/web" in p and "renewBefore" in p for p in problems), problems


def test_charts_that_can_generate_secrets_render_the_same_bytes_twice() -> None:
    """Helm functions such as genCA or randAlphaNum make a render differ each time; our values
    must switch such templates off (existing secrets, cert-manager certificates)."""
    generating = ("genCA", "genSignedCert", "genSelfSignedCert", "randAlphaNum", "randAlpha", "randBytes", "uuidv4")
    checked = 0
    for chart in _rendered():
        if chart.target != min(r.target for r in _rendered()):
            continue
        job = RenderJob(chart.target, chart.key, chart.namespace, _package(chart.key), _digest(chart.key), chart.values_file,
                        f"{_clusters()[chart.target]['kubernetes']['supported_versions'][0]}.0")  # fmt: skip
        if not _package_uses(job.package, generating):
            continue
        # The same inputs as the first pass of rendered(): that render (in the shared cache, from this
        # run or an earlier one) against a fresh run of Helm with them (its output is what render() keeps).
        earlier = render(job, helm_binary(ROOT), ROOT / ".cache" / "renders").read_bytes()
        fresh = subprocess.run([helm_binary(ROOT), *job.arguments()], capture_output=True, check=True).stdout
        assert earlier == fresh, f"{chart.key} renders differently each time"
        checked += 1
    assert checked, "no enabled chart uses a generating function: this test would prove nothing"


def _digest(key: str) -> str:
    return read_lock(ROOT / LOCK_FILE)[key].digest


def _package(key: str) -> Path:
    return ROOT / ".cache" / "charts" / f"{_digest(key)}.tgz"


def _package_uses(package: Path, functions: tuple[str, ...]) -> bool:
    listing = subprocess.run(["tar", "-xzOf", str(package)], capture_output=True, check=True).stdout
    return any(f.encode() in listing for f in functions)
