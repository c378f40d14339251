"""The photo folder's files: staged under a temporary name, published only after the commit.

A photo's row and its file cannot be written atomically together, so the file goes through two
names. :func:`stage` writes it whole (fsync) as ``<hash[:2]>/.incoming-<random>.part`` while the
transaction is open, holding an exclusive ``flock`` on it; :func:`publish_after_commit` renames
it to ``<hash>.<ext>`` once the row is committed, or removes it if the transaction rolls back, and
only then lets the lock go. A process killed in between leaves only a staged file, never a
published one without a row, and the kernel drops its lock: ``psotrack photos sweep`` tells such
an abandoned file from a live upload by that lock alone, whatever the file's age.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

#: How a staged (not yet published) file is named inside its hash folder.
STAGED_PREFIX = ".incoming-"
STAGED_SUFFIX = ".part"


def photo_path(photo_dir: Path, content_hash: str, extension: str) -> Path:
    """Where a published photo lives: ``photo_dir/<hash[:2]>/<hash>.<ext>``."""
    return Path(photo_dir) / content_hash[:2] / f"{content_hash}.{extension}"


def stage(final: Path, content: bytes) -> tuple[Path, int]:
    """Write ``content`` durably under a unique locked name beside ``final``: its path and fd.

    The file descriptor keeps the lock; :func:`publish_after_commit` closes it.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=final.parent, prefix=STAGED_PREFIX, suffix=STAGED_SUFFIX)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _write_all(handle, content)
        os.fsync(handle)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        os.close(handle)
        raise
    return Path(name), handle


def _write_all(handle: int, content: bytes) -> None:
    view = memoryview(content)
    while view:
        view = view[os.write(handle, view) :]


def publish_after_commit(session: Session, staged: tuple[Path, int], final: Path) -> None:
    """Rename the staged file to ``final`` when ``session`` commits; delete it on rollback.

    The same picture attached twice has the same name and the same bytes, so replacing a
    published file is harmless. Its time is set to now, so that a sweep that started before
    this moment never takes it for an old orphan.
    """
    path, handle = staged

    def published(_session: Session) -> None:
        try:
            os.replace(path, final)
            os.utime(final)
        finally:
            os.close(handle)

    def discarded(_session: Session) -> None:
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(handle)

    event.listen(session, "after_commit", published, once=True)
    event.listen(session, "after_rollback", discarded, once=True)


def abandoned(path: Path) -> bool:
    """Whether a staged file belongs to no live upload (no process holds its lock).

    A file still empty may be one an upload has just created and not locked yet: it counts as
    abandoned only when a minute old.
    """
    try:
        handle = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(handle, fcntl.LOCK_UN)
        info = os.fstat(handle)
        return info.st_size > 0 or info.st_mtime < time.time() - 60
    finally:
        os.close(handle)


def is_staged(path: Path) -> bool:
    return path.name.startswith(STAGED_PREFIX) and path.name.endswith(STAGED_SUFFIX)
