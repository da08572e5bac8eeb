"""GitHub workflows: schema-valid, actionlint-clean, pinned, least privilege, and covering every
step of the seed's CI and CD pipelines - derived from the workflow files, not from the docs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from mnops.cicd.seed_steps import SEED_CD, SEED_CI, load_workflow, seed_mapping, uncovered, unknown

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
VENV_BIN = ROOT / ".venv" / "bin"
EXPECTED = {"ci.yml", "pr-diff.yml", "image.yml", "deploy.yml", "promote.yml"}
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+(?P<action>[^@\s]+)@(?P<ref>\S+)(?P<comment>\s+#\s*v[0-9][^\s]*)?\s*$")
# make targets that other concerns provide (GitOps: diff, promote; observability: coverage; data: dr-drill).
OTHER_CONCERNS_TARGETS = {"diff", "promote", "coverage", "dr-drill"}


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}  # actionlint finds shellcheck here
    return subprocess.run([str(c) for c in command], check=False, capture_output=True, text=True, cwd=cwd, env=env)


def test_the_issue_lists_these_workflows() -> None:
    assert {p.name for p in workflow_files()} == EXPECTED


def test_workflows_match_the_github_workflow_schema(tmp_path: Path) -> None:
    result = run(VENV_BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflow_files())
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    assert run(VENV_BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", broken).returncode != 0


def test_workflows_pass_actionlint(tmp_path: Path) -> None:
    result = run(VENV_BIN / "actionlint", *workflow_files())
    assert result.returncode == 0, result.stdout + result.stderr
    # actionlint catches what the schema cannot: a typo'd context and a shell bug in `run:`.
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.shaa }}\n      - run: cd $UNQUOTED_DIR && ls\n"
    )
    result = run(VENV_BIN / "actionlint", bad, cwd=tmp_path)
    assert result.returncode != 0 and "shaa" in result.stdout


def unpinned(text: str) -> list[str]:
    """`uses:` lines not pinned to a full commit SHA with a version comment."""
    bad = []
    for line in text.splitlines():
        match = PINNED.match(line)
        if not match or match.group("action").startswith("./"):
            continue
        if not re.fullmatch(r"[0-9a-f]{40}", match.group("ref")) or not match.group("comment"):
            bad.append(line.strip())
    return bad


def test_actions_are_pinned_by_commit_sha_with_the_version_in_a_comment() -> None:
    uses = [line for p in workflow_files() for line in p.read_text().splitlines() if "uses:" in line]
    assert len(uses) > 20
    for path in workflow_files():
        assert unpinned(path.read_text()) == [], path.name
    assert unpinned("      - uses: actions/checkout@v4") == ["- uses: actions/checkout@v4"]
    assert unpinned("      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1") != []


def test_every_workflow_starts_without_permissions_and_each_job_asks_for_its_own() -> None:
    for path in workflow_files():
        workflow = load_workflow(path)
        assert workflow["permissions"] == {}, f"{path.name}: top-level permissions must be {{}}"
        assert "concurrency" in workflow, f"{path.name}: needs a concurrency group"
        for job_id, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}:{job_id} must declare its permissions"
            assert "write-all" not in str(job["permissions"]), f"{path.name}:{job_id}"
            assert "timeout-minutes" in job, f"{path.name}:{job_id} needs a timeout"


def test_seed_ci_and_cd_steps_are_all_performed_by_workflow_steps() -> None:
    mapping = seed_mapping(WORKFLOWS)
    assert uncovered(mapping) == [] and unknown(mapping) == []
    assert len(SEED_CI) == 17 and len(SEED_CD) == 8
    assert {n for kind, n in mapping if kind == "CI"} == set(range(1, 18))
    assert {n for kind, n in mapping if kind == "CD"} == set(range(1, 9))


def test_a_missing_seed_step_is_detected(tmp_path: Path) -> None:
    for path in workflow_files():
        text = path.read_text()
        if path.name == "deploy.yml":
            text = text.replace("[seed CI 14]", "")
        if path.name == "promote.yml":
            text = text.replace("[seed CD 1]", "[seed CD 9]")
        (tmp_path / path.name).write_text(text)
    mapping = seed_mapping(tmp_path)
    assert uncovered(mapping) == [("CI", 14), ("CD", 1)]
    assert unknown(mapping) == [("CD", 9)]


def test_docs_table_is_generated_from_the_workflows() -> None:
    result = run(VENV_BIN / "python", ROOT / "scripts" / "ci_map.py", "--check")
    assert result.returncode == 0, result.stderr
    doc = (ROOT / "docs" / "ci-cd.md").read_text()
    assert doc.count("| CI ") == 17 and doc.count("| CD ") == 8


def test_kubeconform_matrix_equals_the_supported_kubernetes_versions() -> None:
    common = yaml.safe_load((ROOT / "inventory" / "classes" / "common.yml").read_text())
    supported = common["parameters"]["kubernetes"]["supported_versions"]
    matrix = load_workflow(WORKFLOWS / "ci.yml")["jobs"]["kubeconform"]["strategy"]["matrix"]["kubernetes"]
    assert matrix == supported


def triggers(name: str) -> dict[str, Any]:
    on: dict[str, Any] = load_workflow(WORKFLOWS / name)["on"]
    return on


def test_branch_strategy_triggers() -> None:
    ci = triggers("ci.yml")
    assert set(ci["push"]["branches"]) == {"main", "develop", "feature/**", "release/**", "hotfix/**"}
    assert {"pull_request", "schedule"} <= set(ci)
    assert set(triggers("deploy.yml")["push"]["branches"]) == {"develop", "main"}
    # Everything entering main (release/*, hotfix/*, promotions) waits for the production environment.
    assert triggers("promote.yml")["pull_request"]["branches"] == ["main"]
    approval = load_workflow(WORKFLOWS / "promote.yml")["jobs"]["approval"]
    assert approval["environment"] == "production"
    staging = load_workflow(WORKFLOWS / "deploy.yml")["jobs"]["staging"]
    assert "refs/heads/develop" in staging["if"]


def test_production_failure_rolls_back_and_notifies() -> None:
    jobs = load_workflow(WORKFLOWS / "deploy.yml")["jobs"]
    assert jobs["rollback"]["needs"] == "production" and "failure()" in jobs["rollback"]["if"]
    rollback_run = " ".join(step.get("run", "") for step in jobs["rollback"]["steps"])
    assert "abort-rollouts" in rollback_run and "git revert" in rollback_run
    assert "always()" in jobs["notify"]["if"]


def make_targets() -> set[str]:
    text = "\n".join(p.read_text() for p in [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))])
    return set(re.findall(r"^([a-zA-Z0-9_.-]+):", text, flags=re.MULTILINE))


def test_make_targets_called_by_workflows_exist() -> None:
    called = {m for p in workflow_files() for m in re.findall(r"\bmake ([a-z][a-z0-9-]*)", p.read_text())}
    assert {"lint", "lint-ci", "test", "venv", "compile", "diff", "coverage", "dr-drill"} <= called
    missing = called - make_targets() - OTHER_CONCERNS_TARGETS
    assert missing == set()
    assert "no-such-target" not in make_targets()


def test_image_workflow_scans_before_it_pushes_and_signs_the_digest() -> None:
    steps = load_workflow(WORKFLOWS / "image.yml")["jobs"]["image"]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    scan = next(i for i, n in enumerate(names) if "Trivy" in n)
    push = next(i for i, n in enumerate(names) if "Push" in n)
    sign = next(i for i, n in enumerate(names) if "Sign" in n)
    assert scan < push < sign
    assert steps[scan]["with"]["severity"] == "HIGH,CRITICAL" and steps[scan]["with"]["exit-code"] == "1"
    assert "steps.push.outputs.digest" in steps[sign]["env"]["DIGEST"]


def test_renovate_config_is_valid() -> None:
    result = run(VENV_BIN / "check-jsonschema", "--builtin-schema", "vendor.renovate", ROOT / "renovate.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_yaml_passes_yamllint() -> None:
    result = run(VENV_BIN / "yamllint", "-s", ROOT / ".github")
    assert result.returncode == 0, result.stdout


def test_kubeconform_script_checks_every_supported_version_strictly_and_only_manifests(tmp_path: Path) -> None:
    """With a stand-in kubeconform that logs its arguments (the real one runs in CI)."""
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "kubeconform"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    env.pop("KUBERNETES_VERSIONS", None)
    script = ROOT / "scripts" / "kubeconform.sh"
    result = subprocess.run([script, "compiled"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert [c.split("-kubernetes-version ")[1].split()[0] for c in calls] == ["1.33.0", "1.37.0"]
    for call in calls:
        assert "-strict" in call and "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json" in call
        folders = [arg for arg in call.split() if arg.startswith("compiled/")]
        assert folders and all(f.endswith("/manifests") for f in folders) and "compiled/local/manifests" not in folders
    fake.write_text("#!/bin/sh\nexit 1\n")
    assert subprocess.run([script, "compiled"], cwd=ROOT, env=env, capture_output=True, check=False).returncode != 0


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_tofu_validate_job_pins_opentofu_at_least_the_bootstrap_modules_required_version() -> None:
    workflow = load_workflow(WORKFLOWS / "ci.yml")
    pinned = workflow["env"]["OPENTOFU_VERSION"]
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", pinned), "an exact release, not a range or 'latest'"
    setup = next(s for s in workflow["jobs"]["tofu-validate"]["steps"] if "setup-opentofu" in s.get("uses", ""))
    assert setup["with"]["tofu_version"] == "${{ env.OPENTOFU_VERSION }}"
    modules = sorted((ROOT / "compiled").glob("*/bootstrap/versions.tf.json"))
    assert modules, "no compiled bootstrap module: the job would validate nothing"
    for versions in modules:
        required = json.loads(versions.read_text())["terraform"]["required_version"]
        operator, minimum = required.split()
        assert operator == ">=" and _version(pinned) >= _version(minimum), versions
    assert "tofu-validate" in workflow["jobs"]["notify"]["needs"]


def test_tofu_validate_job_inits_without_backend_and_validates_every_compiled_module(tmp_path: Path) -> None:
    """Runs the job's script with a stand-in `tofu` that logs its arguments (the real one runs in CI)."""
    step = next(s for s in load_workflow(WORKFLOWS / "ci.yml")["jobs"]["tofu-validate"]["steps"] if "run" in s)
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "tofu"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}

    def job(cwd: Path) -> subprocess.CompletedProcess[str]:
        # GitHub runs `run:` with bash -e -o pipefail.
        command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)

    result = job(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    modules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "compiled").glob("*/bootstrap"))
    expected = []
    for module in modules:
        expected += [f"-chdir={module} init -backend=false -input=false", f"-chdir={module} validate -no-color"]
    assert log.read_text().splitlines() == expected
    # A module that does not validate fails the job; a tree without any module fails it too.
    fake.write_text('#!/bin/sh\ncase "$*" in *validate*) exit 1;; esac\n')
    assert job(ROOT).returncode != 0
    (tmp_path / "compiled").mkdir()
    assert job(tmp_path).returncode != 0
