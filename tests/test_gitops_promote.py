"""`make promote` (scripts/promote.py): a round-trip edit of the next environment's image pin,
refused for unknown names, skipped or backward steps and images FROM does not run."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import real_parameters, script_module
from gitops_checks import ROOT, copy_project, init_repo

promote_script = script_module("promote")
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
        ("no-such-service", "dev", "staging", "unknown service 'no-such-service'; services are "),
        ("memory-servce", "dev", "staging", "unknown service 'memory-servce' (did you mean 'memory-service'?); services are"),
        ("memory-service", "qa", "staging", "unknown environment 'qa'; environments are dev, staging, prod"),
        ("memory-service", "dev", "stagign", "unknown environment 'stagign' (did you mean 'staging'?); environments are"),
        ("memory-service", "dev", "prod-dr", "unknown environment 'prod-dr'"),
    ],
)
def test_promote_refuses_bad_steps_and_names(project, service, source, destination, message):
    before = {name: env(project, name) for name in ("dev", "staging", "prod")}
    with pytest.raises(Refused, match="^" + re.escape(message)):
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


def test_promote_never_replaces_a_digest_pin_by_a_bare_tag(project):
    before = env(project, "staging")
    with pytest.raises(
        Refused, match=re.escape("staging pins configuration-service by digest and dev runs the bare tag '1.3.0'")
    ):
        promote(project, "configuration-service", "dev", "staging")
    assert env(project, "staging") == before


def test_promote_copies_a_digest_pin_as_tag_and_digest_over_a_bare_tag(project):
    dev = project / "inventory" / "classes" / "env" / "dev.yml"
    digest = "sha256:" + "ab" * 32
    dev.write_text(
        dev.read_text().replace(
            "    reporting-service:\n      tag: 1.2.0-rc.2\n",
            f"    reporting-service:\n      tag: 1.2.0-rc.2\n      digest: {digest}\n",
        )
    )
    promote(project, "reporting-service", "dev", "staging")
    assert f"    reporting-service:\n      tag: 1.2.0-rc.2\n      digest: {digest}\n" in env(project, "staging")


def test_promote_of_an_identical_image_is_a_no_op(project):
    before = env(project, "staging")
    assert "nothing to promote" in promote(project, "supply-chain-service", "dev", "staging")
    assert env(project, "staging") == before


@pytest.mark.slow
def test_promote_restores_the_file_when_prod_rules_reject_the_image(tmp_path, capfd):
    repo = init_repo(tmp_path / "repo")
    shutil.rmtree(repo / "compiled", ignore_errors=True)
    prod = repo / "inventory" / "classes" / "env" / "prod.yml"
    # A prod without a digest pin for the service: the bare-tag guard of promote() does not apply,
    # so it is prod's own compile rule that must refuse the edit.
    prod.write_text(re.sub(r"(    reporting-service:\n      tag: )\S+\n      digest: \S+\n", r"\g<1>1.0.9\n", prod.read_text()))
    prod_before = env(repo, "prod")
    assert "1.0.9" in prod_before
    code = promote_script.main(
        [
            "--service",
            "reporting-service",
            "--from",
            "staging",
            "--to",
            "prod",
            "--root",
            str(repo),
            "--no-diff",
            "--force",
            "--reason",
            "the health gate is tested in test_promotion_gate.py",
        ]
    )
    assert code == 1
    assert env(repo, "prod") == prod_before
    err = capfd.readouterr().err
    assert "parameters.images.reporting-service.digest: expected a sha256 digest in prod" in err
    assert "prod rejects this image (see above); prod.yml was restored" in err


set_image_script = script_module("set_image")
DIGEST = "sha256:" + "0f" * 32


@pytest.mark.parametrize(
    ("env_name", "service", "message"),
    [
        (
            "stagin",
            "memory-service",
            "unknown environment 'stagin' (did you mean 'staging'?); environments are ",
        ),
        ("qa", "memory-service", "unknown environment 'qa'; environments are "),
        ("dev", "memroy-service", "unknown service 'memroy-service' (did you mean 'memory-service'?); services are "),
    ],
)
def test_set_image_names_the_closest_known_name(project, env_name, service, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        set_image_script.set_image(project / "inventory", env_name, service, DIGEST, None)


def test_set_image_keeps_a_digest_pin_and_the_comments_around_it(project):
    prod = project / "inventory" / "classes" / "env" / "prod.yml"
    before = prod.read_text()
    set_image_script.set_image(project / "inventory", "prod", "memory-service", DIGEST, "1.4.9")
    changed = [(a, b) for a, b in zip(before.splitlines(), prod.read_text().splitlines(), strict=True) if a != b]
    assert changed == [("      tag: 1.4.1", "      tag: 1.4.9"), (changed[1][0], f"      digest: {DIGEST}")]
