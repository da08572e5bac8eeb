"""Every Argo CD and External Secrets object (compiled/ and the argocd/ bootstrap) validates
strictly against the CRD schemas at CRD_SCHEMA_LOCATION, and the validator rejects a bad field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import CRD_SCHEMAS
from gitops_checks import ROOT

from mnops.manifest_validation import validate_document

pytestmark = pytest.mark.slow  # compiles the inventory

LOCATION = CRD_SCHEMAS
GROUPS = ("argoproj.io/", "external-secrets.io/")


def gitops_documents() -> list[tuple[str, dict]]:
    found = []
    for tree in ("compiled", "argocd"):
        for path in sorted((ROOT / tree).rglob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith(GROUPS):
                    found.append((str(path.relative_to(ROOT)), doc))
    return found


@pytest.fixture(scope="module")
def documents() -> list[tuple[str, dict]]:
    if not Path(LOCATION).is_dir():
        pytest.skip(f"no CRD schemas at {LOCATION}")
    return gitops_documents()


def test_all_argocd_kinds_validate_against_the_crd_schemas(documents):
    kinds = {doc["kind"] for _, doc in documents}
    assert {"Application", "AppProject", "ExternalSecret"} <= kinds
    findings = [f.render() for path, doc in documents for f in validate_document(doc, path, ("1.33",), LOCATION)]
    assert findings == []


def test_the_crd_validation_rejects_an_unknown_field(documents):
    path, doc = next((p, d) for p, d in documents if d["kind"] == "Application" and "sources" in d["spec"])
    bad = yaml.safe_load(yaml.safe_dump(doc))
    bad["spec"]["syncPolicy"]["automated"]["selfHeel"] = True
    findings = [f.render() for f in validate_document(bad, path, ("1.33",), LOCATION)]
    assert len(findings) == 1 and "selfHeel" in findings[0]
