"""`make validate` reuses the results of what it validated before (mnops.validation_cache), and a
reused "valid" never hides an error: an edited document, an edited or removed CRD schema, another
schema location or a damaged entry is validated again, and a result read from a URL is never kept.

Each test validates a small tree of real compiled documents (the first cluster's), in-process with
scripts/validate.py's own entry point, with its own empty CHART_CACHE."""

from __future__ import annotations

import json
import re
import shutil
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CRD_SCHEMAS, ROOT, cluster_targets, real_parameters, script_module

from mnops import manifest_validation
from mnops.manifest_validation import schema_files
from mnops.validation_cache import ValidationCache

VALIDATE = script_module("validate")


def validate(
    tree: Path, schemas: Path | str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """Exit code and output (stdout then stderr) of `scripts/validate.py tree`."""
    monkeypatch.setenv("CRD_SCHEMA_LOCATION", str(schemas))
    manifest_validation.crd_validator.cache_clear()  # each `make validate` is a new process, reading the schemas anew
    code = VALIDATE.main([str(tree)])
    out = capsys.readouterr()
    return code, out.out + out.err


def manifests(target: str) -> list[tuple[Path, list[dict[str, Any]]]]:
    folder = ROOT / "compiled" / target / "manifests"
    return [(p, list(yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader))) for p in sorted(folder.rglob("*.yaml"))]


def a_file_of(target: str, custom: bool) -> Path:
    """A one-document manifest of the target holding a built-in kind, or a custom resource whose
    schema is a file under CRD_SCHEMAS."""
    for path, docs in manifests(target):
        if len(docs) == 1 and bool(schema_files(docs[0], ("1.33",), CRD_SCHEMAS)) == custom:
            return path
    raise AssertionError(f"compiled/{target} has no such manifest")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CHART_CACHE", str(folder))
    return folder


def reused(output: str) -> int:
    """How many documents the run took from the cache (its summary line says)."""
    found = re.search(r"\((\d+) unchanged since validated before\)", output)
    assert found, output
    return int(found.group(1))


def tree_with(tmp_path: Path, target: str, *files: Path) -> Path:
    tree = tmp_path / "compiled"
    for path in files:
        copy = tree / target / path.relative_to(ROOT / "compiled" / target)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
    return tree


def test_a_second_validation_reuses_every_result_and_an_edited_document_is_validated_again(
    tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = cluster_targets()[0]
    builtin, custom = a_file_of(target, custom=False), a_file_of(target, custom=True)
    tree = tree_with(tmp_path, target, builtin, custom)
    first = validate(tree, CRD_SCHEMAS, capsys, monkeypatch)
    second = validate(tree, CRD_SCHEMAS, capsys, monkeypatch)
    assert first[0] == second[0] == 0 and "all valid" in second[1]
    assert (reused(first[1]), reused(second[1])) == (0, 2)
    # The built-in kind's file now holds an unknown field, then the custom resource's unchanged document.
    edited = tree / target / builtin.relative_to(ROOT / "compiled" / target)
    edited.write_text(builtin.read_text() + "unexpectedTopLevelField: 1\n---\n" + custom.read_text())
    third = validate(tree, CRD_SCHEMAS, capsys, monkeypatch)
    fourth = validate(tree, CRD_SCHEMAS, capsys, monkeypatch)
    for code, output in (third, fourth):  # the edited document's error, found and then reused
        assert code == 1, output
        assert output.count("'unexpectedTopLevelField' was unexpected") == 2, output  # one per Kubernetes version
        assert str(edited.relative_to(tmp_path)) in output
    # Only the edited document was validated again: the custom resource's came from the cache.
    assert (reused(third[1]), reused(fourth[1])) == (2, 3)


def test_an_edited_or_removed_crd_schema_or_another_schema_location_validates_again(
    tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = cluster_targets()[0]
    custom = a_file_of(target, custom=True)
    tree = tree_with(tmp_path, target, custom)
    (doc,) = yaml.load_all(custom.read_text(), Loader=yaml.CSafeLoader)
    (schema,) = schema_files(doc, ("1.33",), CRD_SCHEMAS) or []
    relative = schema.relative_to(CRD_SCHEMAS)
    accepting, rejecting = tmp_path / "accepting", tmp_path / "rejecting"
    for location in (accepting, rejecting):
        (location / relative).parent.mkdir(parents=True)
        shutil.copy2(schema, location / relative)
    strict = json.loads(schema.read_text())
    strict["required"] = [*strict.get("required", []), "fieldNoDocumentHas"]
    (rejecting / relative).write_text(json.dumps(strict))
    assert validate(tree, accepting, capsys, monkeypatch)[0] == 0
    code, output = validate(tree, accepting, capsys, monkeypatch)
    assert code == 0 and reused(output) == 1
    # Another location, whose schema rejects the document.
    code, output = validate(tree, rejecting, capsys, monkeypatch)
    assert code == 1 and "'fieldNoDocumentHas' is a required property" in output and reused(output) == 0, output
    # The same location, its schema edited in place.
    (accepting / relative).write_text(json.dumps(strict))
    code, output = validate(tree, accepting, capsys, monkeypatch)
    assert code == 1 and "'fieldNoDocumentHas' is a required property" in output and reused(output) == 0, output
    # The schema removed.
    (accepting / relative).unlink()
    code, output = validate(tree, accepting, capsys, monkeypatch)
    assert code == 1 and f"no schema for {doc['apiVersion']} {doc['kind']}" in output and reused(output) == 0, output


def test_a_damaged_cache_entry_is_validated_again(
    tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry cut short (a full disk, a killed writer on a file system without atomic rename) is a miss."""
    target = cluster_targets()[0]
    builtin = a_file_of(target, custom=False)
    tree = tree_with(tmp_path, target, builtin)
    (tree / target / builtin.relative_to(ROOT / "compiled" / target)).write_text(builtin.read_text() + "unexpectedField: 1\n")
    assert validate(tree, CRD_SCHEMAS, capsys, monkeypatch)[0] == 1
    entries = sorted((cache / "validate").glob("*.json"))
    assert entries
    for entry in entries:
        entry.write_text(entry.read_text()[: len(entry.read_text()) // 2])
    code, output = validate(tree, CRD_SCHEMAS, capsys, monkeypatch)
    assert code == 1 and "'unexpectedField' was unexpected" in output and reused(output) == 0, output


def test_results_that_read_crd_schemas_from_a_url_are_never_stored(tmp_path: Path) -> None:
    """A catalog on the web can change unseen: only the built-in kind's result is kept."""
    target = cluster_targets()[0]
    builtin, custom = a_file_of(target, custom=False), a_file_of(target, custom=True)
    versions = tuple(real_parameters()[target]["kubernetes"]["supported_versions"])
    cache = ValidationCache(tmp_path / "validate", "http://127.0.0.1:9/unreachable")
    parse = partial(yaml.load_all, Loader=yaml.CSafeLoader)
    with pytest.warns(UserWarning, match="unreachable"):
        custom_findings = cache.check_file(custom.read_text(), "custom.yaml", versions, True, lambda text: list(parse(text)))
    assert "cannot be validated" in custom_findings[1][0].message
    assert not list((tmp_path / "validate").glob("*.json"))
    assert cache.check_file(builtin.read_text(), "builtin.yaml", versions, True, lambda text: list(parse(text))) == (1, [])
    assert len(list((tmp_path / "validate").glob("*.json"))) == 2  # the file's entry and its document's
