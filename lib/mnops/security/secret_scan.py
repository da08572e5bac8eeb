"""Find plaintext credentials in the repository's files.

    findings = scan_paths(repo_files(root), root, exclude=("tests/fixtures/secrets/",))

Patterns cover private keys, cloud and SaaS tokens, JWTs, passwords inside URLs, password-like
assignments, and Kubernetes Secret objects carrying data. Template placeholders ({{ .x }},
${x}, $(x), <x>) are not credentials and are skipped. Each pattern has a planted sample in
tests/fixtures/secrets/ that the tests prove is caught; that folder is the only exclusion.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from mnops import yamlio

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


# Environment-variable names (UPPER_SNAKE) whose last word says the value is a credential.
# SECRET_NAME or TOKEN_TTL_SECONDS name something else: only the last word counts.
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_CREDENTIAL_NAME = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PWD|PASSPHRASE|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|SECRET_?KEY|CREDENTIALS?)$"
)
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_-]{20,}$")


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character: random keys score about 4 and more, words far less."""
    counts = {c: value.count(c) for c in set(value)}
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def credential_in_setting(key: str, value: object) -> str | None:
    """Why an environment setting (`KEY: value` in a service's config) holds a credential, or None.

    Shared by the compile (lib/mnops/inventory/rules.py) and the repository scan, so both refuse
    the same settings: a credential's name with a literal value, a connection string with a
    password, or a value random enough to be a key or token.
    """
    if not isinstance(value, str) or not value or _is_placeholder(value):
        return None
    if _ENV_NAME.match(key) and _CREDENTIAL_NAME.search(key):
        return "its name says it is a credential"
    match = URL_PASSWORD.search(value)
    if match and not _is_placeholder(match.group(1)):
        return "a connection string with a password"
    has_letters_and_digits = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    if _TOKEN_CHARS.match(value) and has_letters_and_digits and _entropy(value) >= 4.0:
        return "a high-entropy value (it looks like a key or token)"
    return None


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
        yield from _credential_settings(path, text)


def _credential_settings(path: str, text: str) -> Iterator[Finding]:
    """`DATABASE_PASSWORD: hunter2` in a config mapping, judged as the compile judges it."""
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=yaml.CSafeLoader) if n is not None]
    except yaml.YAMLError:
        return
    while nodes:
        node = nodes.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode) and value.tag.endswith(":str"):
                    reason = credential_in_setting(str(key.value), value.value)
                    if reason and _ENV_NAME.match(str(key.value)):
                        yield Finding(path, key.start_mark.line + 1, f"credential-in-config ({key.value}: {reason})")
                else:
                    nodes.append(value)
        elif isinstance(node, yaml.SequenceNode):
            nodes.extend(node.value)


def _folded_scalars(path: str, text: str) -> Iterator[Finding]:
    """YAML may fold a long value over several lines; check each multi-line scalar as one string."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
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
        documents = list(yamlio.load_all(text))
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
