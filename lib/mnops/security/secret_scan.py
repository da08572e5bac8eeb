"""Find plaintext credentials in the repository's files.

    findings = scan_paths(repo_files(root), root, exclude=("tests/fixtures/secrets/",))

Patterns cover private keys, cloud and SaaS tokens, JWTs, passwords inside URLs, password-like
assignments, and Kubernetes Secret objects carrying data. Template placeholders ({{ .x }},
${x}, $(x), <x>) are not credentials and are skipped. Each pattern has a planted sample in
tests/fixtures/secrets/ that the tests prove is caught; that folder is the only exclusion.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

MAX_BYTES = 2_000_000  # larger files are generated data, not configuration


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str

    def render(self) -> str:
        # Never print the matched text: the report must not leak what it found.
        return f"{self.path}:{self.line}: {self.rule}"


# A value that is really a reference or a template, not a secret.
_PLACEHOLDER = re.compile(r"^(\{\{.*\}\}|\$\{.*\}|\$\(.*\)|<[^>]*>|\*+|x+|changeme|example|redacted)$", re.IGNORECASE)

PATTERNS: dict[str, re.Pattern[str]] = {
    "private-key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----"),
    "aws-access-key-id": re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"),
    "aws-secret-access-key": re.compile(r"(?i)aws_?secret_?access_?key\W{0,4}[:=]\W{0,4}[A-Za-z0-9/+]{40}\b"),
    "github-token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
    "gitlab-token": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    "slack-token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "slack-webhook": re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
    "google-api-key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "stripe-key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{20,}\b"),
    "azure-storage-key": re.compile(r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}
# user:password@ inside a URL; the password group is checked against _PLACEHOLDER.
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s/:@'\"]*:([^\s/@'\"]+)@[^\s/]+")
# password = "literal" (YAML, env files, Python, JSON); the value group is checked against _PLACEHOLDER.
ASSIGNED_PASSWORD = re.compile(
    r"(?i)\b(?:password|passwd|pwd|secret|client_secret|api_?key|access_?token|auth_?token)\b[\"']?\s*[:=]\s*[\"']([^\"'\s]{8,})[\"']"
)


def _is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.match(value)) or "{{" in value or "${" in value


def scan_text(path: str, text: str) -> Iterator[Finding]:
    for number, line in enumerate(text.splitlines(), start=1):
        for rule, pattern in PATTERNS.items():
            if pattern.search(line):
                yield Finding(path, number, rule)
        for match in URL_PASSWORD.finditer(line):
            if not _is_placeholder(match.group(1)):
                yield Finding(path, number, "password-in-url")
        for match in ASSIGNED_PASSWORD.finditer(line):
            if not _is_placeholder(match.group(1)):
                yield Finding(path, number, "password-assignment")
    if path.endswith((".yaml", ".yml")):
        yield from _secret_objects(path, text)
        yield from _folded_scalars(path, text)


def _folded_scalars(path: str, text: str) -> Iterator[Finding]:
    """YAML may fold a long value over several lines; check each multi-line scalar as one string."""
    try:
        nodes = list(yaml.compose_all(text))
    except yaml.YAMLError:
        return
    stack: list[yaml.Node] = [n for n in nodes if n is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in node.value for item in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.ScalarNode) and node.end_mark.line > node.start_mark.line:
            # node.value is the scalar as YAML reads it: folds and escaped line breaks resolved.
            for finding in scan_text(path, str(node.value).replace("\n", " ")):
                yield Finding(path, node.start_mark.line + 1, finding.rule)


def _secret_objects(path: str, text: str) -> Iterator[Finding]:
    """Kubernetes Secrets with data: base64 is an encoding, not protection."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return
    for doc in documents:
        if isinstance(doc, dict) and doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
            name = (doc.get("metadata") or {}).get("name", "?")
            line = next((i for i, raw in enumerate(text.splitlines(), 1) if re.match(r"^\s*(data|stringData):", raw)), 1)
            yield Finding(path, line, f"kubernetes-secret-with-data ({name})")


def repo_files(root: Path) -> list[str]:
    """Tracked files plus new files not ignored by .gitignore, relative to root."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if name})


def scan_paths(paths: Iterable[str], root: Path, exclude: Sequence[str] = ()) -> list[Finding]:
    findings: list[Finding] = []
    for relative in paths:
        if any(relative.startswith(prefix) for prefix in exclude):
            continue
        file = root / relative
        if not file.is_file() or file.stat().st_size > MAX_BYTES:
            continue
        raw = file.read_bytes()
        if b"\0" in raw[:8192]:
            continue  # binary
        findings.extend(scan_text(relative, raw.decode("utf-8", errors="replace")))
    return sorted(set(findings), key=lambda f: (f.path, f.line, f.rule))
