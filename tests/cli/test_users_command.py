"""`psotrack users`: the first administrator of a fresh database, passwords from stdin only."""

import io

import pytest
from sqlalchemy import select

from psotrack.cli import main
from psotrack.errors import PermissionDenied
from psotrack.services.auth import SIGN_IN_REFUSED, authenticate
from psotrack.services.context import Database
from psotrack.store import make_engine
from psotrack.store.models import AuditEntry, User
from psotrack.store.vocabulary import Role

PASSWORD = "first-admin-password"


@pytest.fixture
def url(tmp_path, capsys) -> str:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    capsys.readouterr()
    return url


def run(monkeypatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_first_admin_round_trip(url, monkeypatch, capsys):
    add = ["users", "add", "ada", "--role", "admin", "--display-name", "Ada L", "--password-stdin"]
    assert run(monkeypatch, [*add, "--database-url", url], PASSWORD + "\n") == 0
    assert "added user 'ada'" in capsys.readouterr().out
    engine = make_engine(url)
    db = Database.from_engine(engine)
    admin = authenticate(db, "ada", PASSWORD)  # the final line break is not part of it
    assert (admin.role, admin.name) == (Role.ADMIN, "ada")

    assert run(monkeypatch, ["users", "list", "--database-url", url]) == 0
    listing = capsys.readouterr().out
    lines = {line.split()[1]: line for line in listing.splitlines()[1:]}
    assert "active" in lines["ada"] and "Ada L" in lines["ada"]
    assert "no password (cannot sign in)" in lines["system"]

    new = "second-password-for-ada"
    argv = ["users", "set-password", "ada", "--password-stdin", "--database-url", url]
    assert run(monkeypatch, argv, new + "\r\n") == 0
    assert authenticate(db, "ada", new).user_id == admin.user_id

    assert (
        run(monkeypatch, ["users", "add", "bob", "--role", "clinician", "--database-url", url]) == 0
    )
    assert run(monkeypatch, ["users", "deactivate", "ada", "--database-url", url]) == 0
    with pytest.raises(PermissionDenied, match=SIGN_IN_REFUSED):
        authenticate(db, "ada", new)
    assert run(monkeypatch, ["users", "list", "--database-url", url]) == 0
    assert "deactivated" in capsys.readouterr().out

    with engine.connect() as conn:
        audit = " ".join(
            str(value)
            for row in conn.execute(select(AuditEntry)).all()
            for value in row
            if value is not None
        )
        hashes = conn.execute(select(User.password_hash)).scalars().all()
    engine.dispose()
    for secret in [PASSWORD, new, *[h for h in hashes if h]]:
        assert secret not in audit
    assert "password" not in listing.lower().replace("no password", "")


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["add", "ada", "--role", "boss", "--password-stdin"], PASSWORD, "role='boss'"),
        (
            ["add", "ada", "--role", "admin", "--password-stdin"],
            "short\n",
            "password=(hidden, 5 characters) is outside 12–128 characters",
        ),
        (
            ["add", "ada", "--role", "admin", "--password-stdin"],
            "",
            "password is missing",
        ),
        (
            ["add", "ada", "--role", "admin", "--password-stdin"],
            "two-lines-here\nand-more-here\n",
            "password=(hidden, 28 characters): one line on standard input",
        ),
        (["add", "system", "--role", "admin"], "", "username='system'"),
        (["set-password", "nobody", "--password-stdin"], PASSWORD, "username='nobody'"),
        (["set-password", "ada"], PASSWORD, "--password-stdin is missing"),
        (["deactivate", "system"], "", "system user"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(url, monkeypatch, capsys, argv, stdin, message):
    assert run(monkeypatch, ["users", *argv, "--database-url", url], stdin) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert "Traceback" not in err
    assert "short" not in err and "two-lines" not in err
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(User.username)).scalars().all() == ["system"]
    engine.dispose()


def test_a_taken_username_is_refused(url, monkeypatch, capsys):
    argv = ["users", "add", "ada", "--role", "admin", "--database-url", url]
    assert run(monkeypatch, argv) == 0
    assert run(monkeypatch, argv) == 1
    assert "the username 'ada' is taken" in capsys.readouterr().err


def test_a_patient_account_is_added_with_its_patient(url, monkeypatch, capsys):
    from datetime import date

    from psotrack.services.context import SYSTEM
    from psotrack.services.patients import create_program, enroll_patient

    db = Database.from_engine(make_engine(url))
    program = create_program(
        db, SYSTEM, {"name": "P", "regimen": "r", "product_source": "UC-MSC", "route": "IV"}
    )
    form = {
        "mrn": "MRN-CLI-1",
        "family_name": "Doe",
        "given_name": "Jo",
        "birth_date": date(1980, 1, 1),
        "sex": "female",
        "program_id": program,
        "start_date": date(2026, 1, 5),
        "status": "active",
    }
    patient = enroll_patient(db, SYSTEM, form)
    add = ["users", "add", "jo", "--role", "patient", "--database-url", url]
    assert run(monkeypatch, add) == 2
    err = capsys.readouterr().err
    assert "patient_id is missing" in " ".join(err.split())
    assert run(monkeypatch, [*add, "--patient-id", str(patient)]) == 0
    with db.transaction() as session:
        linked = session.scalar(select(User.patient_id).where(User.username == "jo"))
    assert linked == patient
