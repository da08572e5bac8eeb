"""`make promote` (scripts/promote.py): a round-trip edit of the next environment's image pin,
refused for unknown names, skipped or backward steps and images FROM does not run."""

from __future__ import annotations

import importlib.util
import re
import shutil

import pytest
from conftest import real_parameters
from gitops_checks import ROOT, copy_project, init_repo

spec = importlib.util.spec_from_file_location("promote", ROOT / "scripts" / "promote.py")
assert spec is not None and spec.loader is not None
promote_script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(promote_script)
Refused = promote_script.Refused
promote = promote_script.promote

SERVICES = {name for params in real_parameters().values() for name in params.get("services", {})}


@pytest.fixture
def project(tmp_path):
    return copy_project(tmp_path / "repo")


def env(project, name):
    return (project / "inventory" / "classes" / "env" / f"{name}.yml").read_text()


@pytest.mark.parametrize(
    ("service", "source", "destination", "message"),
    [
        ("memory-service", "dev", "prod", "dev -> prod skips an environment; promotion goes dev -> staging -> prod"),
        ("memory-service", "prod", "staging", "prod -> staging does not move forward"),
        ("memory-service", "staging", "staging", "staging -> staging does not move forward"),
        ("no-such-service", "dev", "staging", f"unknown service 'no-such-service'; services are {sorted(SERVICES)[0]}"),
        ("memory-service", "qa", "staging", "unknown environment 'qa'; environments are dev, staging, prod"),
        ("memory-service", "dev", "prod-dr", "unknown environment 'prod-dr'"),
    ],
)
def test_promote_refuses_bad_steps_and_names(project, service, source, destination, message):
    before = {name: env(project, name) for name in ("dev", "staging", "prod")}
    with pytest.raises(Refused, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        promote(project, service, source, destination)
    assert {name: env(project, name) for name in before} == before, "a refused promotion edits nothing"


def test_promote_refuses_an_image_from_does_not_run(project):
    dev = project / "inventory" / "classes" / "env" / "dev.yml"
    dev.write_text(dev.read_text().replace("    supply-chain-service:\n      tag: 0.9.0\n", ""))
    with pytest.raises(Refused, match="dev does not run an image of supply-chain-service"):
        promote(project, "supply-chain-service", "dev", "staging")
    with pytest.raises(Refused, match=re.escape("dev runs memory-service with tag '1.5.0-rc.1', not '1.5.0'")):
        promote(project, "memory-service", "dev", "staging", tag="1.5.0")


def test_promote_copies_tag_and_digest_and_keeps_comments_and_order(project):
    staging_before = env(project, "staging")
    message = promote(project, "memory-service", "staging", "prod")
    prod = env(project, "prod")
    assert message.startswith("memory-service: prod 1.4.1@sha256:6819f22c3695... -> 1.4.2@sha256:2af641107a63...")
    digest = "sha256:2af641107a63c4d6e0d234cecc1bac6c7a7ad28181c5f973287c7b0b0bf578f5"
    assert f"    memory-service:\n      tag: 1.4.2\n      digest: {digest}\n" in prod
    original = (ROOT / "inventory" / "classes" / "env" / "prod.yml").read_text()
    changed = [(a, b) for a, b in zip(original.splitlines(), prod.splitlines(), strict=True) if a != b]
    assert len(changed) == 2, "only the tag and digest lines change; comments, quotes and order survive"
    assert env(project, "staging") == staging_before


def test_promote_drops_a_digest_the_source_does_not_have(project):
    promote(project, "configuration-service", "dev", "staging")
    assert "    configuration-service:\n      tag: 1.3.0\n    reporting-service:" in env(project, "staging")


def test_promote_of_an_identical_image_is_a_no_op(project):
    before = env(project, "staging")
    assert "nothing to promote" in promote(project, "supply-chain-service", "dev", "staging")
    assert env(project, "staging") == before


@pytest.mark.slow
def test_promote_restores_the_file_when_prod_rules_reject_the_image(tmp_path, capfd):
    repo = init_repo(tmp_path / "repo")
    shutil.rmtree(repo / "compiled", ignore_errors=True)
    prod_before = env(repo, "prod")
    code = promote_script.main(
        ["--service", "reporting-service", "--from", "staging", "--to", "prod", "--root", str(repo), "--no-diff"]
    )
    assert code == 1
    assert env(repo, "prod") == prod_before
    err = capfd.readouterr().err
    assert "parameters.images.reporting-service.digest: expected a sha256 digest in prod" in err
    assert "prod rejects this image (see above); prod.yml was restored" in err
