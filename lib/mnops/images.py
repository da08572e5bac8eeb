"""Facts about image references shared by the inventory rules and the image scripts."""

from __future__ import annotations

import re

# Tags that name a moving target rather than one build: never allowed in the inventory.
MOVING_TAGS = frozenset({"latest", "stable", "main", "master", "develop", "edge", "nightly"})
# A release version (1.4.2, v1.4.2, 1.5.0-rc.1): what staging may run without a digest.
IMMUTABLE_TAG = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")


def is_moving_tag(tag: str) -> bool:
    return tag.lower() in MOVING_TAGS
