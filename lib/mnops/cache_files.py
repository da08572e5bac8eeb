"""Writing an entry of one of the content-keyed caches under .cache/.

Every such cache is shared by concurrent writers (pytest workers, make diff's two sides, the compile's
render threads), so an entry appears whole or not at all: it is written beside its place under a name
no other process or thread uses, then renamed into place.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (its folder made if missing): a reader sees the old entry, the new one or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        part.write_text(text, encoding="utf-8")
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
