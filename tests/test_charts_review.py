"""Renders laid out for `make diff`: CRD schemas summarised, everything else as rendered."""

from __future__ import annotations

import copy
from pathlib import Path

from mnops.cache_files import write_atomically
from mnops.charts.cluster import RenderedChart
from mnops.charts.crd_summary import CRD_KIND, keep_summary, kept_summary, summary_path
from mnops.charts.render import document_pieces, documents, kind_of, served_crd_apis
from mnops.charts.review import laid_out, review_objects, review_path, review_text, summarised

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.org"},
    "spec": {
        "group": "example.org",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "string"}}}}}],
    },
}  # fmt: skip


def test_a_crd_schema_becomes_its_digest_and_field_count() -> None:
    summary = summarised(copy.deepcopy(CRD))["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["summary"]
    assert set(summary) == {"sha256", "fields"} and summary["fields"] == 2 and len(summary["sha256"]) == 64


def test_a_schema_change_changes_the_summary_and_served_versions_stay_visible() -> None:
    changed = copy.deepcopy(CRD)
    changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["type"] = "integer"
    before, after = summarised(copy.deepcopy(CRD)), summarised(changed)
    assert before["spec"]["versions"][0]["schema"] != after["spec"]["versions"][0]["schema"]
    assert after["spec"]["versions"][0]["served"] is True and after["spec"]["names"] == CRD["spec"]["names"]


def test_objects_other_than_crds_are_left_as_rendered() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    assert summarised(config_map) is config_map


# A render as Helm writes it: comments, an empty document, a CRD, a List wrapping a CRD and a ConfigMap.
RENDER = """---
# Source: chart/crds/widgets.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.org
  annotations:
    released: 2024-01-02
spec:
  group: example.org
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, properties: {spec: {type: string}}}
---
# Source: chart/templates/empty.yaml
---
# Source: chart/templates/list.yaml
apiVersion: v1
kind: List
items:
- apiVersion: apiextensions.k8s.io/v1
  kind: CustomResourceDefinition
  metadata: {name: gadgets.example.org}
  spec:
    group: example.org
    names: {kind: Gadget, plural: gadgets}
    scope: Namespaced
    versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: string}}}]
---
# Source: chart/templates/config.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {k: "0755"}
"""


def rendered_chart(folder: Path) -> RenderedChart:
    path = folder / "0123abcd.yaml"
    path.write_text(RENDER)
    return RenderedChart("dev", "chart", "ns", 0, folder / "values.yaml", path, "0123abcd")


def crd_document() -> str:
    return next(piece for piece in document_pieces(RENDER) if kind_of(piece) == CRD_KIND)


def test_the_review_layout_is_the_whole_render_parsed_and_summarised_with_or_without_kept_summaries(tmp_path: Path) -> None:
    chart = rendered_chart(tmp_path)
    whole = [summarised(obj) for obj in documents(RENDER)]
    assert [o["kind"] for o in whole] == ["CustomResourceDefinition", "CustomResourceDefinition", "ConfigMap"]
    assert review_objects(chart) == whole  # no summary kept yet: made here, and kept
    assert summary_path(tmp_path, crd_document()).is_file()
    assert review_objects(chart) == whole  # read from what was kept


def test_a_fresh_render_keeps_each_crd_summarised_by_its_text(tmp_path: Path) -> None:
    served_crd_apis(RENDER, tmp_path)  # what render() runs on Helm's output
    assert kept_summary(tmp_path, crd_document()) == [summarised(documents(crd_document())[0])]
    assert kept_summary(tmp_path, crd_document().replace("widgets", "gizmos")) is None  # other bytes: none kept


def test_a_kept_summary_is_what_the_review_shows(tmp_path: Path) -> None:
    chart = rendered_chart(tmp_path)
    keep_summary(tmp_path, crd_document(), documents(crd_document().replace("widgets.example.org", "other.example.org")))
    assert review_objects(chart)[0]["metadata"]["name"] == "other.example.org"


def test_the_review_file_is_made_once_per_render_and_then_read(tmp_path: Path) -> None:
    chart = rendered_chart(tmp_path)
    made = review_text(chart)
    assert made == laid_out([summarised(obj) for obj in documents(RENDER)])
    assert review_path(chart.rendered).read_text() == made
    write_atomically(review_path(chart.rendered), "kept: true\n")  # what is kept is what is shown
    assert review_text(chart) == "kept: true\n"
