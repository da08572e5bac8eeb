"""Replace every output of a compile as one unit, like a database commit.

    with output_lock(root):                 # two compiles never interleave (fcntl lock on root)
        note = recover(root, locked=True)   # finish or discard what a killed compile left
        stage = Stage.create(root)          # .compile-<pid>-<random>/ beside the outputs
        ...write stage.new / "compiled", stage.new / "docs/..." ...
        stage.commit({"compiled": "compiled", "docs/x.md": "docs/x.md"})

The protocol, in order (a kill may happen between any two steps):

1. Everything new is written and fsynced under `<root>/.compile-*/new/`. Nothing outside the
   stage has changed: a kill leaves the old set standing, and recovery deletes the stage.
2. The commit record `<root>/.compile-journal.json` (which stage, which units) is written to a
   temporary file, fsynced and renamed into place. That rename is the commit point.
3. Each unit is installed with two renames: the old one into `stage/old/`, the new one into its
   place. Recovery repeats exactly this for every unit whose new version is still in the stage,
   so a kill anywhere in this phase rolls forward to the complete new set.
4. The commit record is removed (the transaction is over), then the stage with the old set.

Readers of the outputs (compile, check, validate, diff) call `recover(root)` first; it takes the
same lock, so it never touches the stage of a compile that is still running. The lock is an
fcntl lock on the root folder itself: it vanishes with the process and leaves no file behind.

MNOPS_COMPILE_KILL_AT=<n> makes the process SIGKILL itself at step n of the swap (tests prove
that every step leaves the old or the new set, never a mix).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

JOURNAL = ".compile-journal.json"
STAGE_PREFIX = ".compile-"
KILL_AT_VARIABLE = "MNOPS_COMPILE_KILL_AT"


class OutputError(Exception):
    """An output that cannot be written; raised before anything was replaced."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{_shown(path)}: {reason}")


class InterruptedCommit(Exception):
    """Installing failed after the commit record: recovery will finish it; nothing is lost."""

    def __init__(self, error: OSError) -> None:
        super().__init__(
            f"installing the new outputs failed after the commit record ({error}); the next compile, check, "
            "validate or diff finishes installing them"
        )


def _shown(path: Path) -> str:
    """A path as the user typed it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


@contextlib.contextmanager
def output_lock(root: Path) -> Iterator[None]:
    """Hold the compile lock on `root`; a second holder waits and says for whom."""
    root.mkdir(parents=True, exist_ok=True)
    handle = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            others = ", ".join(p.name for p in _stages(root)) or "no stage yet"
            print(f"waiting for another compile writing into {_shown(root)} ({others}) to finish", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing the descriptor releases the lock


def _stages(root: Path) -> list[Path]:
    return sorted(p for p in root.glob(STAGE_PREFIX + "*") if p.is_dir() and not p.is_symlink())


def _checkpoint(step: int) -> None:
    """Test hook: die here, as `kill -9` would, when MNOPS_COMPILE_KILL_AT names this step."""
    if os.environ.get(KILL_AT_VARIABLE) == str(step):
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _fsync_tree(path: Path) -> None:
    """Make the staged files durable before the commit record points at them."""
    for folder, _, files in os.walk(path):
        for name in files:
            if not os.path.islink(os.path.join(folder, name)):
                _fsync(Path(folder, name))
        _fsync(Path(folder))


@dataclass(frozen=True)
class Unit:
    """One output replaced as a whole: `staged` under stage/new, `destination` under the root."""

    staged: str
    destination: str


@dataclass
class Stage:
    """A compile's private folder beside the outputs; see the module docstring for the protocol."""

    root: Path
    path: Path
    step: int = field(default=0)
    # False for an output nobody keeps (make diff's scratch compile): the staged files are not
    # fsynced one by one, which was most of such a compile's wall time on a busy disk.
    durable: bool = True

    @property
    def new(self) -> Path:
        return self.path / "new"

    @property
    def old(self) -> Path:
        return self.path / "old"

    @classmethod
    def create(cls, root: Path, *, durable: bool = True) -> Stage:
        try:
            path = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=root))
        except OSError as error:
            raise OutputError(root, f"cannot create the compile's working folder here ({error.strerror})") from None
        (path / "new").mkdir()
        return cls(root=root, path=path, durable=durable)

    def discard(self) -> None:
        """Delete an uncommitted stage. A committed one holds the only copy of what is not yet
        installed: it stays for recovery (the next compile, check, validate or diff)."""
        if not self.committed():
            shutil.rmtree(self.path, ignore_errors=True)

    def committed(self) -> bool:
        journal = self.root / JOURNAL
        return journal.exists() and json.loads(journal.read_text()).get("stage") == self.path.name

    def _next(self) -> None:
        self.step += 1
        _checkpoint(self.step)

    def commit(self, units: Mapping[str, str]) -> None:
        """Install every staged unit (staged path -> destination, both relative) as one transaction."""
        plan = [Unit(staged, destination) for staged, destination in units.items()]
        for unit in plan:
            if not (self.new / unit.staged).exists():
                raise FileNotFoundError(f"nothing was staged for {unit.staged}")
        check_writable(self.root, {u.destination: (self.new / u.staged).is_dir() for u in plan})
        if self.durable:
            _fsync_tree(self.new)
        self._next()
        record = {"stage": self.path.name, "units": [[u.staged, u.destination] for u in plan]}
        pending = self.path / "journal.tmp"
        pending.write_text(json.dumps(record, indent=1) + "\n")
        _fsync(pending)
        self._next()
        os.replace(pending, self.root / JOURNAL)  # the commit point
        _fsync(self.root)
        self._next()
        try:
            for unit in plan:
                _install(self.root, self.path, unit, self._next)
        except OSError as error:
            raise InterruptedCommit(error) from error
        _finish(self.root, self.path, self._next)


def _install(root: Path, stage: Path, unit: Unit, step: Callable[[], None] | None = None) -> None:
    """Put one unit's new version in place; safe to repeat after a kill at any point."""
    new = stage / "new" / unit.staged
    if not os.path.lexists(new):
        return  # installed before the kill
    destination = root / unit.destination
    if os.path.lexists(destination):
        old = stage / "old" / unit.destination
        old.parent.mkdir(parents=True, exist_ok=True)
        os.rename(destination, old)
        if step:
            step()
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.rename(new, destination)
    _fsync(destination.parent)
    if step:
        step()


def _finish(root: Path, stage: Path, step: Callable[[], None] | None = None) -> None:
    (root / JOURNAL).unlink()
    _fsync(root)
    if step:
        step()
    shutil.rmtree(stage, ignore_errors=True)


def recover(root: Path, *, locked: bool = False) -> str | None:
    """Finish a committed compile or discard an uncommitted one; one line saying what was done.

    The public entry point for every reader of the outputs (compile, check, validate, diff).
    Returns None when there was nothing to do. Takes the compile lock unless `locked`.
    """
    if not root.is_dir():
        return None
    if not locked:
        with output_lock(root):
            return recover(root, locked=True)
    journal = root / JOURNAL
    finished = ""
    if journal.exists():
        record = json.loads(journal.read_text())
        stage = root / str(record["stage"])
        for staged, destination in record["units"]:
            _install(root, stage, Unit(str(staged), str(destination)))
        _finish(root, stage)
        finished = f"finished installing the committed output of an interrupted compile ({record['stage']})"
    leftovers = _stages(root)
    for leftover in leftovers:
        shutil.rmtree(leftover, ignore_errors=True)
    removed = f"removed {len(leftovers)} unfinished compile folder(s): {', '.join(p.name for p in leftovers)}"
    if finished and leftovers:
        return f"recovered: {finished}; {removed}"
    if finished or leftovers:
        return f"recovered: {finished or removed}"
    return None


def _writable(path: Path) -> bool:
    """Whether we should write here. Root ignores permission bits, so read the bits as well: a
    folder someone made read-only is a statement, not an obstacle."""
    info = path.lstat()
    if info.st_uid == os.geteuid():
        bit = stat.S_IWUSR
    elif info.st_gid in os.getgroups() or info.st_gid == os.getegid():
        bit = stat.S_IWGRP
    else:
        bit = stat.S_IWOTH
    return bool(info.st_mode & bit) and os.access(path, os.W_OK, follow_symlinks=False)


def _read_only_error(path: Path) -> OutputError:
    mode = stat.S_IMODE(path.lstat().st_mode)
    return OutputError(path, f"is read-only (mode {mode:04o}); make it writable to let the compile replace it")


def check_writable(root: Path, destinations: Mapping[str, bool]) -> None:
    """Raise OutputError naming the first output that cannot be replaced; touch nothing.

    `destinations` maps each output (relative to root) to whether the compile writes a folder there.
    """
    for relative, staged_is_dir in destinations.items():
        destination = root / relative
        parent = _existing_parent(root, destination)
        if not _writable(parent):
            raise _read_only_error(parent)
        if not os.path.lexists(destination):
            continue
        if staged_is_dir and not destination.is_dir():
            raise OutputError(destination, "is a file where the compile writes a folder; move it away")
        if not staged_is_dir and destination.is_dir():
            raise OutputError(destination, "is a folder where the compile writes a file; move it away")
        if staged_is_dir:
            for folder, _, _ in os.walk(destination):
                if not _writable(Path(folder)):
                    raise _read_only_error(Path(folder))
        elif not _writable(destination):
            raise _read_only_error(destination)


def _existing_parent(root: Path, destination: Path) -> Path:
    """The nearest folder that exists above `destination`; a file in the way is an error."""
    for parent in destination.parents:
        if os.path.lexists(parent):
            if not parent.is_dir():
                raise OutputError(parent, "is a file where the compile needs a folder; move it away")
            return parent
        if parent == root:
            break
    return root


def output_error_from(error: OSError, fallback: Path) -> OutputError:
    """Turn an OSError from writing outputs into one line naming the path."""
    if not error.filename:
        return OutputError(fallback, str(error) or type(error).__name__)
    reason = error.strerror or errno.errorcode.get(error.errno or 0, type(error).__name__)
    return OutputError(Path(error.filename), reason)
