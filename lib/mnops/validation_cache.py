"""Content-keyed cache of `make validate`'s results, so a validation checks only what it has not seen.

The gates of a change (and a user's second `make validate`) validate trees of which almost every
document is byte-identical to one already validated. Each result is stored under a key made of
everything it depends on:

- the file's bytes (or, one level down, the parsed document) and whether its folder must hold
  only Kubernetes objects (manifests/),
- the Kubernetes versions it is validated against and the CRD schema location,
- a fingerprint of the validating code and of the packages holding the schemas and the evaluators;
- beside the key, the digest of every CRD schema file the result read (present or absent), checked
  on every use: a schema edited in place, added or removed makes the entry stale.

A result read from a URL's schemas is never stored (the catalog can change unseen). Entries are
written atomically (a concurrent reader sees the whole entry or none) and an unreadable entry is a
miss, so any number of processes may share the folder. Findings are stored without their file:
the same content under another path (a copy of the repository) reuses them.

    cache = ValidationCache(CHART_CACHE / "validate", crd_location, selection=fingerprint_of_caller)
    documents, findings = cache.check_file(text, "compiled/dev/x.yaml", versions, strict, parse)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from mnops import crd_cel, manifest_validation
from mnops.cache_files import write_atomically
from mnops.manifest_validation import Finding, schema_files, validate_document

# The packages whose content decides a result: bundled Kubernetes schemas, the JSON Schema and CEL
# evaluators, the YAML parser (what a file's documents are).
PACKAGES = ("kubernetes-validate", "jsonschema", "referencing", "cel-python", "PyYAML")


@cache
def fingerprint() -> str:
    """Changes whenever the validating code or one of PACKAGES changes."""
    digest = hashlib.sha256()
    for module in (manifest_validation, crd_cel):
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(Path(__file__).read_bytes())
    for package in PACKAGES:
        digest.update(f"\0{package}={version(package)}".encode())
    return digest.hexdigest()


def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


class SchemaDigests(dict[str, str]):
    """CRD schema files' content digests by path ('' for a file that does not exist: it may be added
    later), each file read once per validation run; kept results store the digests of what they read."""

    def __missing__(self, path: str) -> str:
        file = Path(path)
        self[path] = _digest(file.read_bytes()) if file.is_file() else ""
        return self[path]

    def still_current(self, kept: Mapping[str, Any]) -> bool:
        """Whether every schema file a kept result read is unchanged (a result without them: no)."""
        schemas = kept.get("schemas")
        return isinstance(schemas, dict) and all(self[path] == digest for path, digest in schemas.items())


@dataclass
class ValidationCache:
    folder: Path
    crd_location: str
    selection: str = ""  # the caller's own fingerprint (which documents of a file it validates)
    hits: int = 0  # documents whose result was reused
    _schemas: SchemaDigests = field(default_factory=SchemaDigests)

    def check_file(self, text: str, file: str, versions: tuple[str, ...], strict: bool,
                   parse: Callable[[str], list[Any]]) -> tuple[int, list[Finding]]:  # fmt: skip
        """(documents, findings) of one file's text, shown as `file`; parse gives its documents."""
        key = self._key("file", _digest(text), str(strict), self.selection, *versions)
        entry = self._read(key)
        if entry is not None:
            self.hits += int(entry["documents"])
            return int(entry["documents"]), _findings(entry["findings"], file)
        documents = parse(text)
        stored: list[list[Any]] = []
        schemas: dict[str, str] | None = {}
        for doc in documents:
            found, used = self._check_document(doc, versions)
            stored += found
            schemas = None if schemas is None or used is None else {**schemas, **used}
        if schemas is not None:
            self._write(key, {"documents": len(documents), "findings": stored, "schemas": schemas})
        return len(documents), _findings(stored, file)

    def _check_document(self, doc: Any, versions: tuple[str, ...]) -> tuple[list[list[Any]], dict[str, str] | None]:
        """The document's findings (without file) and the digests of the schema files they came from
        (None: not storable)."""
        # repr keeps what JSON would blur (1 against "1", a date against its text) and is deterministic.
        key = self._key("document", _digest(repr(doc)), *versions)
        entry = self._read(key)
        if entry is not None:
            self.hits += 1
            return entry["findings"], entry["schemas"]
        files = schema_files(doc, versions, self.crd_location)
        found = [[f.document, f.where, f.message, f.not_evaluated]
                 for f in validate_document(doc, "", versions, self.crd_location, True)]  # fmt: skip
        if files is None:
            return found, None
        schemas = {str(path): self._schemas[str(path)] for path in files}
        self._write(key, {"findings": found, "schemas": schemas})
        return found, schemas

    def _key(self, kind: str, *parts: str) -> str:
        # A folder by its absolute path: the same schemas named from another working directory match.
        local = not re.match(r"^https?://", self.crd_location)
        location = os.path.abspath(self.crd_location) if local else self.crd_location
        return _digest("\0".join((kind, *parts, location, fingerprint())))

    def _read(self, key: str) -> dict[str, Any] | None:
        """The entry if it exists, is whole and every schema file it read is unchanged."""
        try:
            entry: dict[str, Any] = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if self._schemas.still_current(entry) else None

    def _write(self, key: str, entry: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # a full or read-only cache loses the reuse, never the result
            write_atomically(self.folder / f"{key}.json", json.dumps(entry))


def _findings(stored: Iterable[list[Any]], file: str) -> list[Finding]:
    return [Finding(file, document, where, message, bool(not_evaluated)) for document, where, message, not_evaluated in stored]
