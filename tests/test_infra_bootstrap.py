"""The management cluster's OpenTofu bootstrap: what it creates, and checkov's offline verdict on it."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, real_parameters

COMPILED = ROOT / "compiled"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG = ROOT / "scripts" / "checkov-bootstrap.yaml"


def management_targets() -> list[str]:
    return sorted(
        n for n, p in real_parameters().items() if any(e.get("output_path") == "bootstrap" for e in p["kapitan"]["compile"])
    )


MANAGERS = management_targets()


def module(target: str) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = COMPILED / target / "bootstrap"
    return json.loads((folder / "main.tf.json").read_text()), json.loads((folder / "versions.tf.json").read_text())


def test_the_inventory_has_a_management_cluster_with_a_bootstrap() -> None:
    assert MANAGERS


@pytest.mark.parametrize("target", MANAGERS)
def test_state_backend_is_encrypted_and_locked_in_a_versioned_bucket(target: str) -> None:
    main, versions = module(target)
    backend = versions["terraform"]["backend"]["s3"]
    assert backend["encrypt"] is True and backend["use_lockfile"] is True
    assert main["resource"]["aws_s3_bucket"]["state"]["bucket"] == backend["bucket"]
    assert main["resource"]["aws_s3_bucket_versioning"]["state"]["versioning_configuration"]["status"] == "Enabled"
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", versions["terraform"]["required_providers"]["aws"]["version"])


@pytest.mark.parametrize("target", MANAGERS)
def test_cluster_network_and_crossplane_identity_follow_the_inventory(target: str) -> None:
    params = real_parameters()[target]
    main, _ = module(target)
    res = main["resource"]
    vpc = ipaddress.ip_network(res["aws_vpc"]["main"]["cidr_block"])
    assert str(vpc) == params["infra"]["networks"][target]
    subnets = [ipaddress.ip_network(s["cidr_block"]) for s in res["aws_subnet"].values()]
    assert len(subnets) == 2 * len(params["cluster"]["zones"]) and all(s.subnet_of(vpc) for s in subnets)
    cluster = res["aws_eks_cluster"]["main"]
    assert cluster["version"] == params["infra"]["eks"]["version"]
    assert cluster["vpc_config"]["endpoint_public_access"] is params["infra"]["eks"]["public_endpoint"]
    # The providers' pods run as the ServiceAccount the compiled DeploymentRuntimeConfig names.
    runtime = (COMPILED / target / "infra" / "crossplane" / "deploymentruntimeconfig.yaml").read_text()
    association = res["aws_eks_pod_identity_association"]["crossplane"]
    assert f"name: {association['service_account']}" in runtime
    policy = json.loads(res["aws_iam_role_policy"]["crossplane"]["policy"])
    assert policy["Statement"][0]["Resource"] == [f"arn:aws:iam::*:role/{params['crossplane']['account_role']}"]


def run_checkov(*files: Path) -> dict[str, set[str]]:
    """Failed check IDs per scanned file, from one checkov run (it takes seconds to start)."""
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make infra-tools` (make test does)")
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    args = [str(CHECKOV), "--config-file", str(CONFIG), "--output", "json", *(a for f in files for a in ("-f", str(f)))]
    run = subprocess.run(args, capture_output=True, text=True, env=env, check=False, timeout=300)
    report = json.loads(run.stdout)
    assert report["summary"]["parsing_errors"] == 0 and report["summary"]["passed"] > 50, report["summary"]
    failed: dict[str, set[str]] = {str(f): set() for f in files}
    for check in report["results"]["failed_checks"]:
        owner = next(k for k in failed if k.endswith(check["file_path"].lstrip("/")) or check["file_path"].endswith(Path(k).name))
        failed[owner].add(check["check_id"])
    return failed


def test_checkov_passes_the_bootstrap_and_fails_a_weakened_copy(tmp_path: Path) -> None:
    """The real module passes; a copy without key rotation and with a public API endpoint fails on
    exactly those checks (both in one checkov run)."""
    target = MANAGERS[0]
    real = COMPILED / target / "bootstrap" / "main.tf.json"
    main = json.loads(real.read_text())
    main["resource"]["aws_kms_key"]["bootstrap"]["enable_key_rotation"] = False
    main["resource"]["aws_eks_cluster"]["main"]["vpc_config"]["endpoint_public_access"] = True
    weak = tmp_path / "weak.tf.json"
    weak.write_text(json.dumps(main))
    failed = run_checkov(real, weak)
    assert failed[str(real)] == set()
    # 7: key rotation; 38 and 39: an API endpoint open to the internet (0.0.0.0/0 by default).
    assert failed[str(weak)] == {"CKV_AWS_7", "CKV_AWS_38", "CKV_AWS_39"}
