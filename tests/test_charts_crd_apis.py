"""What a render's CRDs serve (the API versions the second render pass and the chart pins are given) is read
once per CRD text and kept by that text: the kept reading equals a fresh parse, and an edited CRD is read anew."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mnops.charts import render as render_module
from mnops.charts.render import crd_api_versions, crd_documents, documents, served_crd_apis


def crd(group: str, kind: str, versions: dict[str, bool]) -> str:
    listed = "".join(f"    - name: {name}\n      served: {str(served).lower()}\n      storage: false\n"
                     for name, served in versions.items())  # fmt: skip
    return (f"---\n# Source: chart/crds/{kind.lower()}.yaml\napiVersion: apiextensions.k8s.io/v1\n"
            f"kind: CustomResourceDefinition\nmetadata:\n  name: {kind.lower()}s.{group}\nspec:\n  group: {group}\n"
            f"  names:\n    kind: {kind}\n    plural: {kind.lower()}s\n  scope: Namespaced\n  versions:\n{listed}")  # fmt: skip


SERVICE = "---\n# Source: chart/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"


def test_the_apis_read_from_a_render_are_those_of_its_served_crd_versions(tmp_path: Path) -> None:
    text = crd("example.io", "Widget", {"v1": True, "v1beta1": False}) + SERVICE + crd("other.io", "Gadget", {"v2": True})
    assert served_crd_apis(text, tmp_path) == crd_api_versions(documents(text))
    assert served_crd_apis(text, tmp_path) == {"example.io/v1", "example.io/v1/Widget", "other.io/v2", "other.io/v2/Gadget"}


def test_a_crd_read_before_is_not_parsed_again_and_an_edited_one_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = crd("example.io", "Widget", {"v1": True})
    assert served_crd_apis(before, tmp_path) == {"example.io/v1", "example.io/v1/Widget"}
    assert list((tmp_path / "crd-apis").iterdir()), "the reading was not kept"
    parsed: list[str] = []
    monkeypatch.setattr(render_module, "documents", lambda text: parsed.append(text) or documents(text))
    # Another chart's render (another cluster, the other pass, an edited inventory) with the same CRD text.
    assert served_crd_apis(before + SERVICE, tmp_path) == {"example.io/v1", "example.io/v1/Widget"}
    assert parsed == []
    after = crd("example.io", "Widget", {"v1": True, "v2": True})
    assert served_crd_apis(after, tmp_path) == {"example.io/v1", "example.io/v1/Widget", "example.io/v2", "example.io/v2/Widget"}
    assert len(parsed) == 1


def test_the_crds_a_render_installs_are_read_back_as_parsed_and_kept_only_when_json_holds_them(tmp_path: Path) -> None:
    text = crd("example.io", "Widget", {"v1": True}) + SERVICE
    assert crd_documents(text, tmp_path) == documents(crd("example.io", "Widget", {"v1": True}))
    [kept] = (tmp_path / "crd-apis").glob("*.json")
    kept.write_text(kept.read_text().replace("widgets.example.io", "from-the-cache"))
    assert [c["metadata"]["name"] for c in crd_documents(text, tmp_path)] == ["from-the-cache"]
    # What the compile keeps while reading the API list is what crd_documents reads back.
    other = crd("other.io", "Gadget", {"v2": True})
    served_crd_apis(other, tmp_path)
    assert len(list((tmp_path / "crd-apis").glob("*.json"))) == 2
    dated = other.replace("scope: Namespaced", "scope: 2026-01-31")  # a YAML date: JSON would make it a string
    assert crd_documents(dated, tmp_path) == documents(dated) and isinstance(documents(dated)[0]["spec"]["scope"], date)
    assert len(list((tmp_path / "crd-apis").glob("*.json"))) == 2
