"""The digests `make compile` records and `make diff` checks before reusing compiled/
(mnops.gitops.compile_record), and the parse memory both sides of a diff share (mnops.yamlio):
whatever a digest or key covers, changing it must change it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnops import yamlio
from mnops.gitops import compile_record
from mnops.gitops.compile_record import CompileRecord, inputs_digest, outputs_digest, read_record, write_record


def checkout(root: Path) -> Path:
    for relative, text in {
        "inventory/targets/dev.yml": "classes: [common]\n",
        "inventory/classes/common.yml": "parameters:\n  replicas: 1\n",
        "lib/mnops/x.py": "X = 1\n",
        "components/a/__init__.py": "def main(_): return {}\n",
        "scripts/compile.py": "print('compile')\n",
        "requirements.txt": "kapitan==0.36.3\n",
        "charts.lock": "lock\n",
        "README.md": "not an input\n",
        "compiled/dev/manifests/a.yaml": "kind: ConfigMap\n",
        "argocd/dev/app.yaml": "kind: Application\n",
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


@pytest.mark.parametrize(
    "change",
    [
        lambda r: (r / "inventory/classes/common.yml").write_text("parameters:\n  replicas: 2\n"),
        lambda r: (r / "lib/mnops/new.py").write_text("Y = 2\n"),  # a new file nobody committed yet
        lambda r: (r / "components/a/__init__.py").unlink(),
        lambda r: (r / "charts.lock").write_text("lock v2\n"),
        lambda r: (r / "requirements.txt").write_text("kapitan==0.37.0\n"),
        lambda r: (r / "inventory/classes/common.yml").rename(r / "inventory/classes/base.yml"),
    ],
    ids=["edited value", "new lib file", "deleted component", "chart lock", "requirements", "renamed class"],
)
def test_every_change_to_a_compile_input_changes_the_inputs_digest(tmp_path: Path, change) -> None:
    repo = checkout(tmp_path)
    before = inputs_digest(repo)
    change(repo)
    assert inputs_digest(repo) != before


def test_outputs_bytecode_and_other_files_do_not_change_the_inputs_digest(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    before = inputs_digest(repo)
    (repo / "README.md").write_text("edited\n")
    (repo / "compiled/dev/manifests/a.yaml").write_text("kind: Secret\n")
    (repo / "lib/mnops/__pycache__").mkdir()
    (repo / "lib/mnops/__pycache__/x.cpython-311.pyc").write_bytes(b"\0")
    assert inputs_digest(repo) == before


def test_another_python_or_package_version_changes_the_inputs_digest(tmp_path: Path, monkeypatch) -> None:
    repo = checkout(tmp_path)
    before = inputs_digest(repo)
    assert "kapitan-" in compile_record.tool_versions()  # the installed Kapitan's dist-info, with its version
    monkeypatch.setattr(compile_record, "tool_versions", lambda: "Python 3.12\nkapitan-0.37.0.dist-info")
    assert inputs_digest(repo) != before


def test_an_edit_or_a_new_file_in_compiled_or_argocd_changes_the_outputs_digest(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    before = outputs_digest(repo)
    (repo / "compiled/dev/manifests/a.yaml").write_text("kind: ConfigMap\nmetadata: {name: b}\n")
    edited = outputs_digest(repo)
    (repo / "argocd/dev/extra.yaml").write_text("kind: AppProject\n")
    added = outputs_digest(repo)
    assert len({before, edited, added}) == 3
    (repo / "README.md").write_text("edited\n")  # not an output make diff compares
    assert outputs_digest(repo) == added


def test_the_record_round_trips_and_a_foreign_one_is_ignored(tmp_path: Path) -> None:
    record = CompileRecord("inputs", "outputs", {"dev": {"replicas": 1}})
    write_record(tmp_path, record)
    assert read_record(tmp_path) == record
    (tmp_path / compile_record.RECORD).write_text('{"format": "compile-record-0", "inputs": "x"}')
    assert read_record(tmp_path) is None


def test_a_parse_is_shared_by_equal_bytes_and_never_by_other_bytes() -> None:
    first = yamlio.load_all_bytes(b"a: 1\n---\nb: 2\n")
    assert yamlio.load_all_bytes(b"a: 1\n---\nb: 2\n") is first
    assert yamlio.load_all_bytes(b"a: 3\n---\nb: 2\n") == [{"a": 3}, {"b": 2}]


def test_remembered_parses_are_forgotten_oldest_first_past_the_limit(monkeypatch) -> None:
    small = yamlio._Parses(limit=20)
    monkeypatch.setattr(yamlio, "_PARSED", small)
    yamlio.load_all_bytes(b"first: 1\n")  # 9 bytes
    yamlio.load_all_bytes(b"second: 2\n")  # 10 bytes: 19 held
    yamlio.load_all_bytes(b"third: 3\n")  # 28 held: the oldest goes
    assert [docs for _, docs in small.entries.values()] == [[{"second": 2}], [{"third": 3}]]
    assert small.held == 19
