"""Fast YAML reading: libyaml's C loader. The pure-Python loader made compiles several times slower.

`load_all_bytes` also remembers each parse by a digest of the file's bytes, for the life of the
process: `make diff` reads two compiled trees that share most files byte for byte, and its
sections read some of them again. Keyed by content, a remembered parse can never be of other
bytes; `parsed()` and `remember()` move the memory into and out of make diff's base-tree cache.
Callers must not modify what they get: the same documents are handed to every caller.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import yaml

# Which parser made a remembered parse: another PyYAML may read the same bytes differently.
PARSER = f"PyYAML {yaml.__version__} CSafeLoader"


def _value_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    return loader.construct_scalar(node)


# A bare `=` is YAML 1.1's "value" type, which PyYAML's safe loaders cannot construct; charts render it
# (kube-prometheus-stack's CRDs list `=` as an operator). Read it as the text "=", as Kapitan does when
# it is imported: registered here so reading a render does not depend on whether Kapitan was imported.
for _loader in (yaml.CSafeLoader, yaml.SafeLoader):
    _loader.add_constructor("tag:yaml.org,2002:value", _value_as_text)


class _Parses:
    """Parses by content digest, least recently used forgotten first past `limit` bytes of YAML
    (both sides of a diff are about 25 MB), so a long test process does not keep every tree it read."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.entries: OrderedDict[bytes, tuple[int, list[Any]]] = OrderedDict()

    def get(self, key: bytes) -> list[Any] | None:
        found = self.entries.get(key)
        if found is None:
            return None
        self.entries.move_to_end(key)
        return found[1]

    def keep(self, key: bytes, size: int, docs: list[Any]) -> None:
        if key in self.entries:
            return
        self.entries[key] = (size, docs)
        self.held += size
        while self.held > self.limit and len(self.entries) > 1:
            _, (forgotten, _) = self.entries.popitem(last=False)
            self.held -= forgotten


_PARSED = _Parses(96 * 1024 * 1024)


class KapitanDumper(yaml.CSafeDumper):
    """The YAML style of everything under compiled/: libyaml's emitter, as scripts/compile.py gives
    Kapitan (block sequences flush under their key, multi-line strings as literal blocks, sorted
    keys), and every repeated dict written out in full, never as anchors and aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _multiline_literal(dumper: yaml.CSafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


KapitanDumper.add_representer(str, _multiline_literal)


def dump_all(documents: list[Any]) -> str:
    """Documents as Kapitan writes a multi-document file (one document: as it writes a mapping)."""
    if len(documents) == 1:
        return str(yaml.dump(documents[0], indent=2, Dumper=KapitanDumper, default_flow_style=False))
    return str(yaml.dump_all(documents, indent=2, Dumper=KapitanDumper, default_flow_style=False))


def load(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=20).digest()


def load_all_bytes(data: bytes) -> list[Any]:
    """The documents of a UTF-8 YAML file's bytes (None for an empty document), parsed once per content."""
    key = digest(data)
    docs = _PARSED.get(key)
    if docs is None:
        docs = load_all(data.decode("utf-8"))
        _PARSED.keep(key, len(data), docs)
    return docs


def parsed() -> dict[bytes, tuple[int, list[Any]]]:
    """Every parse remembered now, by content digest, with the size of the bytes parsed."""
    return dict(_PARSED.entries)


def remember(parses: Mapping[bytes, tuple[int, list[Any]]]) -> None:
    """Add parses made earlier by this same PARSER (make diff's cache checks that before calling)."""
    for key, (size, docs) in parses.items():
        _PARSED.keep(key, size, docs)
