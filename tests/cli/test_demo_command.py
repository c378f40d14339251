"""`psotrack demo`: builds a synthetic cohort once, through the services, and summarises it."""

from sqlalchemy import func, select

from psotrack.cli import main
from psotrack.store import make_engine
from psotrack.store.models import (
    Administration,
    AdverseEvent,
    Assessment,
    AuditEntry,
    LabResult,
    Patient,
    PatientIdentity,
    Photo,
)


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {
            m.__tablename__: conn.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (
                Patient,
                Assessment,
                Administration,
                AdverseEvent,
                LabResult,
                Photo,
                AuditEntry,
            )
        }
        out["synthetic"] = conn.execute(
            select(func.count()).select_from(Patient).where(Patient.synthetic.is_(True))
        ).scalar_one()
        mrns = conn.execute(select(PatientIdentity.mrn)).scalars().all()
    engine.dispose()
    assert all(m.startswith("DEMO-") for m in mrns)
    return out


def test_demo_fills_every_table_once_and_labels_it_synthetic(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PSOTRACK_PHOTO_DIR", str(tmp_path / "photos"))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--patients", "6", "--seed", "3", "--database-url", url]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps lines to the terminal width
    assert "SYNTHETIC DEMO DATA" in out
    assert "PASI 75 by visit" in out
    assert "say nothing about whether any therapy works" in out
    first = counts(url)
    assert first["patients"] == first["synthetic"] == 6
    assert first["assessments"] == 6 * 7 * 5
    assert first["administrations"] == 6 * 3
    assert first["lab_results"] == 6 * 3 * 3
    assert first["photos"] == 6 * 2 - 2  # the first five patients, at week 0 and week 12
    assert first["audit_log"] > first["assessments"]
    assert main(["demo", "--patients", "6", "--database-url", url]) == 0
    assert "already holds 6 patients" in " ".join(capsys.readouterr().out.split())
    assert counts(url) == first


def test_an_interrupted_demo_leaves_no_half_filled_database(tmp_path, capsys, monkeypatch):
    import psotrack.services.demo as demo_service

    real = demo_service.build_demo

    def interrupted(db, *, patients, seed, progress=None):
        real(db, patients=2, seed=seed)
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_service, "build_demo", interrupted)
    monkeypatch.setenv("PSOTRACK_PHOTO_DIR", str(tmp_path / "photos"))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--patients", "6", "--database-url", url]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "demo.db").exists()
    assert [p.name for p in tmp_path.iterdir() if "demo.db" in p.name] == []
