"""The review names every section that found nothing, so "no change" is told apart from "not looked at"."""

from __future__ import annotations

from pathlib import Path

from conftest import real_parameters

from mnops.gitops.diff_render import render_markdown, render_text
from mnops.gitops.diffing import Key, TargetChanges
from mnops.review import ReviewInput
from mnops.review.registry import SECTIONS, build_sections, title_of

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
  namespace: machine-native-ops
data:
  note: {note}
"""


def one_configmap_changed(tmp_path: Path) -> ReviewInput:
    """Two compiled trees that differ in one ConfigMap value of one cluster: no section has anything to say."""
    cluster = sorted(real_parameters())[0]
    roots = []
    for side, note in (("base", "before"), ("head", "after")):
        folder = tmp_path / side / "compiled" / cluster / "manifests" / "notes"
        folder.mkdir(parents=True)
        (folder / "configmap.yaml").write_text(CONFIGMAP.format(note=note))
        roots.append(tmp_path / side)
    key = Key(cluster, "ConfigMap", "machine-native-ops", "notes")
    changes = {cluster: TargetChanges(changed={key: ({"data": {"note": "before"}}, {"data": {"note": "after"}})})}
    parameters = {cluster: real_parameters()[cluster]}
    return ReviewInput(roots[0], roots[1], roots[0], roots[1], parameters, parameters, changes)


def test_sections_that_find_nothing_are_named_in_one_closing_line(tmp_path: Path) -> None:
    sections = build_sections(one_configmap_changed(tmp_path))
    closing = sections[-1]
    assert closing.key == "unchanged" and closing.inline
    quiet = {title_of(builder) for builder in SECTIONS} - {s.title for s in sections[:-1]}
    assert quiet, "the one-value change should leave some section with nothing to say"
    for title in quiet:
        assert title in closing.text and title in closing.markdown


def test_no_closing_line_without_a_change(tmp_path: Path) -> None:
    review = one_configmap_changed(tmp_path)
    quiet = ReviewInput(review.base_repo, review.head_repo, review.base_root, review.base_root,
                        review.base_parameters, review.base_parameters)  # fmt: skip
    assert all(section.key != "unchanged" for section in build_sections(quiet))


def test_every_section_has_a_title() -> None:
    assert all(title_of(builder) for builder in SECTIONS)


def test_the_closing_line_is_shown_as_one_sentence_on_the_terminal_and_in_the_comment(tmp_path: Path) -> None:
    review = one_configmap_changed(tmp_path)
    sections = build_sections(review)
    closing = sections[-1]
    text = render_text(review.changes, sections)
    markdown = render_markdown(review.changes, "main", sections)
    assert closing.text.strip() in text and f"-- {closing.title} --" not in text
    assert closing.markdown.strip() in markdown and f"<b>{closing.title}</b>" not in markdown
