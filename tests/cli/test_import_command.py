"""`psotrack import assessments`: the public wide file in; a bad file changes nothing."""

from sqlalchemy import func, select

from psotrack.cli import main
from psotrack.store import make_engine
from psotrack.store.models import Assessment, Patient
from tests.public_data import WWW_SUSTAINED_RESPONSE

PUBLIC = WWW_SUSTAINED_RESPONSE


def count(url: str, model) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return n


def test_wide_public_file_then_a_bad_long_file(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    argv = ["import", "assessments", "--database-url", url, "--program", "WWW"]
    assert main([*argv, "--input", str(PUBLIC), "--wide", "--create-program", "--synthetic"]) == 0
    assert "900 new patients" in capsys.readouterr().out
    patients, assessments = count(url, Patient), count(url, Assessment)

    bad = tmp_path / "long.csv"
    bad.write_text("patient_id,visit,day,pasi\nN1,W0,0,12.0\nN1,W4,28,-3\nN2,W0,0,abc\n")
    assert main([*argv, "--input", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "row 3" in err
    assert (count(url, Patient), count(url, Assessment)) == (patients, assessments)


def test_unknown_program_is_refused(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    main(["db", "upgrade", "--database-url", url])
    source = tmp_path / "long.csv"
    source.write_text("patient_id,visit,day,pasi\nN1,W0,0,12.0\n")
    argv = [
        "import",
        "assessments",
        "--database-url",
        url,
        "--program",
        "nope",
        "--input",
        str(source),
    ]
    assert main(argv) == 2
    assert "program='nope': an existing program" in capsys.readouterr().err


def test_a_refused_file_creates_no_program(tmp_path, capsys):
    # Found in review: --create-program committed the program before the rows were checked.
    from psotrack.store.models import Program

    url = f"sqlite:///{tmp_path / 'p.db'}"
    main(["db", "upgrade", "--database-url", url])
    source = tmp_path / "long.csv"
    source.write_text("patient_id,visit,day,pasi\nN1,W0,0,99.9\n")
    argv = ["import", "assessments", "--database-url", url, "--program", "New", "--create-program"]
    assert main([*argv, "--input", str(source)]) == 2
    assert count(url, Program) == 0
