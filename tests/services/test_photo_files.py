"""Photo files: published only after the commit; a sweep removes orphans and restores the rest."""

import hashlib
import os
import time
from datetime import timedelta

import pytest

from psotrack.errors import PermissionDenied
from psotrack.services.context import SYSTEM
from psotrack.services.corrections import delete_record
from psotrack.services.demo import synthetic_photo
from psotrack.services.photo_files import photo_path, stage
from psotrack.services.photo_sweep import sweep_photos
from psotrack.services.photos import attach_photo
from psotrack.store.vocabulary import Role

PHOTO = synthetic_photo()


def attach(db, actor, patient_id) -> int:
    return attach_photo(
        db, actor, patient_id=patient_id, image_bytes=PHOTO, body_site="trunk", view="front"
    )


def files(db) -> list[str]:
    return sorted(p.name for p in db.photo_dir.rglob("*") if p.is_file())


def age(path, hours=2) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_the_file_is_published_only_when_the_row_is_committed(db, clinician, patient_id):
    with db.unit_of_work() as unit:
        attach(unit, clinician, patient_id)
        (staged,) = files(db)
        assert staged.startswith(".incoming-") and staged.endswith(".part")
    (name,) = files(db)
    assert name.endswith(".jpg") and not name.startswith(".")


def test_a_rolled_back_upload_leaves_no_file(db, clinician, patient_id):
    with pytest.raises(RuntimeError), db.unit_of_work() as unit:
        attach(unit, clinician, patient_id)
        raise RuntimeError("the rest of the unit failed")
    assert files(db) == []


def orphan(db, content: bytes = b"a picture whose row was never committed"):
    digest = hashlib.sha256(content).hexdigest()
    path = photo_path(db.photo_dir, digest, "jpg")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def abandoned_copy(db, content: bytes):
    """A staged file whose process died: written, but no lock held any more."""
    path, handle = stage(
        photo_path(db.photo_dir, hashlib.sha256(content).hexdigest(), "jpg"), content
    )
    os.close(handle)
    return path


def test_a_dry_run_reports_and_changes_nothing(db, clinician, patient_id):
    attach(db, clinician, patient_id)
    stray = orphan(db)
    before = files(db)
    report = sweep_photos(db, SYSTEM, older_than=timedelta(0))
    assert report.unreferenced == (stray,)
    assert not report.applied and "dry run" in report.summary()
    assert files(db) == before


def test_apply_removes_orphans_and_dead_staged_files_and_keeps_every_referenced_file(
    db, clinician, patient_id
):
    kept = attach(db, clinician, patient_id)
    deleted = attach_photo(
        db,
        clinician,
        patient_id=patient_id,
        image_bytes=_other_picture(),
        body_site="arm",
        view="side",
    )
    delete_record(db, clinician, "photos", deleted, "wrong patient")  # a deleted row keeps its file
    referenced = files(db)
    stray = orphan(db)
    dead = abandoned_copy(db, b"an upload that was killed before its commit")
    foreign = db.photo_dir / "README.txt"
    foreign.write_text("not ours")
    report = sweep_photos(db, SYSTEM, older_than=timedelta(0), apply=True)
    assert (report.unreferenced, report.stale_staged, report.foreign) == ((stray,), (dead,), 1)
    assert report.missing == () and kept
    assert files(db) == sorted([*referenced, "README.txt"])


def _other_picture() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_live_upload_is_never_swept(db):
    # An upload between staging and its commit holds the lock on its staged file: whatever the
    # file's age, the sweep leaves it.
    path, handle = stage(photo_path(db.photo_dir, "ab" * 32, "jpg"), b"uploading")
    try:
        age(path)
        report = sweep_photos(db, SYSTEM, apply=True)
        assert report.stale_staged == () and report.young == 1
        assert path.exists()
    finally:
        os.close(handle)
    assert sweep_photos(db, SYSTEM, apply=True).stale_staged == (path,)
    assert not path.exists()


def test_a_photo_committed_just_before_a_kill_gets_its_file_back(db, clinician, patient_id):
    photo_id = attach(db, clinician, patient_id)
    (final,) = [p for p in db.photo_dir.rglob("*.jpg")]
    content = final.read_bytes()
    final.unlink()  # killed between the commit and the rename: only the staged copy is there
    abandoned_copy(db, content)
    report = sweep_photos(db, SYSTEM)
    assert report.restored == (final,) and report.missing == ()
    assert not final.exists()  # dry run
    sweep_photos(db, SYSTEM, apply=True)
    assert final.read_bytes() == content
    assert files(db) == [final.name]
    final.unlink()
    assert sweep_photos(db, SYSTEM, apply=True).missing == (photo_id,)


def test_older_than_spares_recent_orphans(db):
    stray = orphan(db)
    assert sweep_photos(db, SYSTEM, older_than=timedelta(minutes=30), apply=True).young == 1
    assert stray.exists()
    age(stray, hours=1)
    sweep_photos(db, SYSTEM, older_than=timedelta(minutes=30), apply=True)
    assert not stray.exists()


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.COORDINATOR, Role.RESEARCHER])
def test_only_an_admin_sweeps(db, actors, role):
    stray = orphan(db)
    with pytest.raises(PermissionDenied):
        sweep_photos(db, actors[role], apply=True)
    assert stray.exists()
