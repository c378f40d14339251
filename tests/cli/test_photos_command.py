"""`psotrack photos sweep`: reports by default, acts with --apply, exit 1 for a missing file."""

import hashlib

from psotrack.cli import main
from psotrack.services.context import Database
from psotrack.services.demo import build_demo
from psotrack.store import make_engine, upgrade


def test_sweep_reports_then_removes_an_orphan_and_flags_a_missing_file(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    photos = tmp_path / "photos"
    engine = make_engine(url)
    upgrade(engine)
    build_demo(Database.from_engine(engine, photo_dir=photos), patients=1)
    engine.dispose()
    (kept,) = photos.rglob("*.jpg")
    content = b"no row refers to me"
    digest = hashlib.sha256(content).hexdigest()
    stray = photos / digest[:2] / f"{digest}.jpg"
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(content)
    args = ["photos", "sweep", "--photo-dir", str(photos), "--database-url", url]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"would remove unreferenced {stray}" in out
    assert "1 unreferenced and 0 stale temporary files to remove" in out
    assert "dry run: nothing changed" in out
    assert stray.exists()
    assert main([*args, "--apply"]) == 0
    assert "1 unreferenced and 0 stale temporary files removed" in capsys.readouterr().out
    assert not stray.exists() and kept.exists()
    kept.unlink()
    assert main([*args, "--apply"]) == 1
    assert "error: the file of photos 1, 2 is missing" in capsys.readouterr().err
