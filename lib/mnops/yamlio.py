"""Fast YAML reading: libyaml's C loader. The pure-Python loader made compiles several times slower."""

from __future__ import annotations

from typing import Any

import yaml


def load(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))
