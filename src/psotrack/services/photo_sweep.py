"""Sweeping the photo folder: what no row refers to goes, what a committed row needs comes back.

Safe at any time, beside running uploads: a staged file is touched only when no live process
holds its lock (:func:`.photo_files.abandoned`); the folder is listed *before* the rows are read,
so a file published after its row committed is seen with its row; and a published file changed
after the sweep began (publishing sets its time) is never removed. A staged copy of a row that
committed just before its process was killed is published (a hard link, so a live upload of the
same picture can still rename its own). Rows soft-deleted still refer to their files: deletion in
psotrack keeps the record. Files whose names psotrack never writes are left alone and counted.

A sweep judges "referenced" against one database: run it with the database whose photos the
folder holds, never on a folder shared by two databases.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from psotrack.services.context import Actor, Database, Permission
from psotrack.services.photo_files import abandoned, is_staged, photo_path
from psotrack.services.photos import FORMATS
from psotrack.store.models import Photo

#: A published file: ``<sha256>.<ext>`` inside the folder named by its first two hex digits.
PUBLISHED = re.compile(r"^(?P<hash>[0-9a-f]{64})\.(?P<ext>[a-z]+)$")
EXTENSION = {media_type: extension for extension, media_type in FORMATS.values()}


@dataclass(frozen=True)
class SweepReport:
    """What a sweep found (and, with ``applied``, did) in the photo folder."""

    unreferenced: tuple[Path, ...]  # published files no row refers to
    stale_staged: tuple[Path, ...]  # staged files of uploads that died (no lock held)
    restored: tuple[Path, ...]  # published from a staged copy: rows committed before a kill
    missing: tuple[int, ...]  # ids of photo rows whose file is nowhere
    young: int  # files of live uploads, or newer than ``older_than``: left alone
    foreign: int  # files whose names psotrack never writes (left alone)
    applied: bool

    def summary(self) -> str:
        done = "" if self.applied else " (dry run: nothing changed; --apply to do it)"
        verb = "removed" if self.applied else "to remove"
        return (
            f"{len(self.unreferenced)} unreferenced and {len(self.stale_staged)} stale "
            f"temporary files {verb}; {len(self.restored)} files "
            f"{'restored' if self.applied else 'to restore'} from temporary copies; "
            f"{self.young} files in use or recent and {self.foreign} unknown files left alone; "
            f"{len(self.missing)} photos with no file{done}"
        )


def sweep_photos(
    db: Database, actor: Actor, *, older_than: timedelta = timedelta(0), apply: bool = False
) -> SweepReport:
    """Find (and with ``apply`` remove or restore) photo files out of step with the rows.

    ``older_than`` spares unreferenced published files younger than that (say, copied in by
    hand a moment ago); abandoned staged files are judged by their lock, not their age.
    """
    actor.require(Permission.TIDY_PHOTO_FOLDER)
    cutoff = time.time() - max(older_than.total_seconds(), 0.0)
    published, staged, foreign = _listing(Path(db.photo_dir))
    with db.transaction() as session:  # read after listing: see the rows of every listed file
        rows = session.execute(select(Photo.id, Photo.content_hash, Photo.media_type)).all()
    wanted: dict[Path, list[int]] = {}  # the same picture attached twice shares one file
    for photo_id, content_hash, media_type in rows:
        path = photo_path(db.photo_dir, content_hash, EXTENSION.get(media_type, "bin"))
        wanted.setdefault(path, []).append(photo_id)
    by_hash = {path.name.split(".")[0]: path for path in wanted}
    young = 0
    unreferenced: list[Path] = []
    for path in published:
        if path in wanted:
            continue
        if _older(path, cutoff):
            unreferenced.append(path)
        else:
            young += 1
    restored: list[Path] = []
    stale: list[Path] = []
    for path in staged:
        if not abandoned(path):
            young += 1
            continue
        stale.append(path)
        final = by_hash.get(_digest(path))
        if final is not None and not final.exists():
            restored.append(final)
            if apply:
                _link(path, final)
    if apply:
        for path in stale:
            if abandoned(path):
                path.unlink(missing_ok=True)
        for path in unreferenced:
            if _older(path, cutoff):  # once more: an upload may have just republished it
                path.unlink(missing_ok=True)
    present = set(published) | set(restored)
    missing = sorted(
        photo_id
        for path, ids in wanted.items()
        if path not in present and not path.exists()
        for photo_id in ids
    )
    return SweepReport(
        unreferenced=tuple(unreferenced),
        stale_staged=tuple(stale),
        restored=tuple(restored),
        missing=tuple(missing),
        young=young,
        foreign=foreign,
        applied=apply,
    )


def _listing(folder: Path) -> tuple[list[Path], list[Path], int]:
    """Published files, staged files, and a count of anything else in the hash folders."""
    published: list[Path] = []
    staged: list[Path] = []
    foreign = 0
    if not folder.is_dir():
        return published, staged, foreign
    for sub in sorted(folder.iterdir()):
        if not sub.is_dir() or sub.is_symlink() or not re.fullmatch(r"[0-9a-f]{2}", sub.name):
            foreign += 1
            continue
        for path in sorted(sub.iterdir()):
            match = PUBLISHED.match(path.name)
            if not path.is_file() or path.is_symlink():
                foreign += 1
            elif match and match["hash"][:2] == sub.name:
                published.append(path)
            elif is_staged(path):
                staged.append(path)
            else:
                foreign += 1
    return published, staged, foreign


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:  # published or discarded since the listing
        return ""


def _link(staged: Path, final: Path) -> None:
    try:
        os.link(staged, final)
    except FileExistsError:  # published meanwhile by an upload of the same picture
        pass


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False
