"""The repository holds no plaintext credential, and the scanner provably catches planted ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from security_support import ROOT

from mnops.security.secret_scan import repo_files, scan_paths, scan_text

PLANTED = ROOT / "tests" / "fixtures" / "secrets"
EXCLUDED = ("tests/fixtures/secrets/",)
PLANTED_FILES = sorted(p for p in PLANTED.iterdir() if p.name != "README.md")

# planted file -> the rule that must report it (the file name says what was planted)
EXPECTED_RULE = {
    "aws-access-key-id.env": "aws-access-key-id",
    "aws-secret-access-key.ini": "aws-secret-access-key",
    "azure-storage-key.txt": "azure-storage-key",
    "credential-in-config.yaml": "credential-in-config (DATABASE_PASSWORD: its name says it is a credential)",
    "github-token.sh": "github-token",
    "gitlab-token.txt": "gitlab-token",
    "google-api-key.js": "google-api-key",
    "jwt.txt": "jwt",
    "kubernetes-secret-with-data.yaml": "kubernetes-secret-with-data (planted)",
    "openssh-key.txt": "private-key",
    "password-assignment.toml": "password-assignment",
    "password-in-url.yaml": "password-in-url",
    "password-in-folded-yaml.yaml": "password-in-url",
    "private-key.pem": "private-key",
    "slack-token.txt": "slack-token",
    "slack-webhook.txt": "slack-webhook",
    "stripe-key.txt": "stripe-key",
}


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.slow
def test_repository_holds_no_plaintext_credential() -> None:
    files = repo_files(ROOT)
    assert len(files) > 100, "the scan must cover the whole repository"
    findings = scan_paths(files, ROOT, exclude=EXCLUDED)
    assert findings == [], "\n".join(f.render() for f in findings)


@pytest.mark.slow
def test_repository_scan_would_report_the_planted_files_without_the_exclusion() -> None:
    """The exclusion is what hides them: the same scan without it finds every planted file. The scan reads
    each file on its own, so the files the exclusion drops are all that scanning the rest again would add."""
    dropped = [f for f in repo_files(ROOT) if f.startswith(EXCLUDED)]
    found = {f.path for f in scan_paths(dropped, ROOT)}
    assert {relative(p) for p in PLANTED_FILES} <= found


def test_exclusion_covers_exactly_the_planted_folder() -> None:
    excluded = [f for f in repo_files(ROOT) if f.startswith(EXCLUDED)]
    assert excluded and all(f.startswith("tests/fixtures/secrets/") for f in excluded)


@pytest.mark.parametrize("planted", PLANTED_FILES, ids=lambda p: p.name)
def test_scanner_catches_planted_credential(planted: Path) -> None:
    findings = scan_paths([relative(planted)], ROOT)
    assert EXPECTED_RULE[planted.name] in {f.rule for f in findings}


def test_every_planted_file_has_an_expected_rule() -> None:
    assert {p.name for p in PLANTED_FILES} == set(EXPECTED_RULE)


def test_findings_never_print_the_secret() -> None:
    (finding,) = scan_paths([relative(PLANTED / "password-in-url.yaml")], ROOT)
    assert "S3cret" not in finding.render()


@pytest.mark.parametrize(
    "text",
    [
        "DATABASE_URL: postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}@db:5432/app",
        "REDIS_URL: rediss://:{{ .password }}@redis:6379/0",
        "url: https://${USER}:${PASSWORD}@example.com/",
        'password = "<your password>"',
        "secret_name: private-ca",
        "secretKeyRef: {name: memory-service-db, key: DATABASE_URL}",
    ],
)
def test_templates_and_references_are_not_credentials(text: str) -> None:
    assert list(scan_text("example.yaml", text)) == []


def test_a_literal_password_in_a_url_is_a_credential() -> None:
    # Built at run time so that this test file itself holds no credential.
    text = "url: postgresql://app:" + "Literal" + "Passw0rd@db:5432/app"
    assert [f.rule for f in scan_text("example.yaml", text)] == ["password-in-url"]
