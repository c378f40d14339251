"""`psotrack users`: add, list, set passwords and deactivate accounts, acting as the system user.

This is how a fresh database gets its first administrator. Passwords are read from standard
input (``--password-stdin``, one line; the final line break is dropped), never from the command
line, where other users of the machine and the shell history would see them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from psotrack.cli.db import DatabaseUrl, open_engine
from psotrack.cli.number_options import whole_number
from psotrack.errors import ValidationError

if TYPE_CHECKING:
    from psotrack.services.context import Database
    from psotrack.services.users import UserSummary

app = typer.Typer(help="User accounts: add, list, set-password, deactivate.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from standard input (one line, 12–128 characters).",
    ),
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="users")


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Sign-in name (letters, digits, _ . @ -).")],
    role: Annotated[
        str, typer.Option("--role", help="admin, clinician, coordinator, researcher or patient.")
    ],
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown to others (default: USERNAME).")
    ] = None,
    password_stdin: PasswordStdin = False,
    patient_id: Annotated[
        int | None,
        typer.Option(
            "--patient-id",
            help="For --role patient: the id of the patient the account belongs to.",
            parser=whole_number("--patient-id", (1, 2**31 - 1), "a patient id"),
        ),
    ] = None,
    url: DatabaseUrl = None,
) -> None:
    """Add a user; without --password-stdin they cannot sign in until a password is set."""
    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.users import create_user

    password = _read_password() if password_stdin else None
    form: dict[str, object] = {
        "username": username,
        "display_name": display_name or username,
        "role": role,
    }
    if patient_id is not None:
        form["patient_id"] = patient_id
    with open_engine(url, require_schema=True) as engine:
        user_id = create_user(Database.from_engine(engine), SYSTEM, form, password)
    sign_in = "can sign in" if password is not None else "no password yet: cannot sign in"
    typer.echo(f"added user {username!r} (id {user_id}, {role}; {sign_in})")


@app.command("list")
def list_command(url: DatabaseUrl = None) -> None:
    """Every account with its role and whether it can sign in (never a password hash)."""
    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.users import list_users

    with open_engine(url, require_schema=True) as engine:
        users = list_users(Database.from_engine(engine), SYSTEM)
    typer.echo(f"{'id':>4}  {'username':<24} {'role':<12} {'status':<32} display name")
    for user in users:
        typer.echo(
            f"{user.id:>4}  {user.username:<24} {user.role.value:<12} "
            f"{_status(user):<32} {user.display_name}"
        )


@app.command("set-password")
def set_password_command(
    username: Annotated[str, typer.Argument(help="The user whose password is set.")],
    password_stdin: PasswordStdin = False,
    url: DatabaseUrl = None,
) -> None:
    """Set a user's password (read from standard input); this also unlocks the account."""
    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.users import set_password

    if not password_stdin:
        raise ValidationError("--password-stdin", None, _STDIN_ONLY, "missing")
    password = _read_password()
    with open_engine(url, require_schema=True) as engine:
        db = Database.from_engine(engine)
        set_password(db, SYSTEM, _user_id(db, username), password)
    typer.echo(f"password of {username!r} set")


@app.command("deactivate")
def deactivate(
    username: Annotated[str, typer.Argument(help="The user who may no longer sign in or act.")],
    url: DatabaseUrl = None,
) -> None:
    """Deactivate a user (kept for the audit log; they can no longer sign in or act)."""
    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.users import deactivate_user

    with open_engine(url, require_schema=True) as engine:
        db = Database.from_engine(engine)
        deactivate_user(db, SYSTEM, _user_id(db, username), "deactivated from the command line")
    typer.echo(f"user {username!r} deactivated")


_STDIN_ONLY = "the password is read from standard input, never from the command line"


def _read_password() -> str:
    """One line from standard input, without its final line break."""
    text = sys.stdin.read()
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise ValidationError(
            "password", None, f"one line on standard input ({_STDIN_ONLY})", "missing"
        )
    if "\n" in password or "\r" in password:
        from psotrack.services.auth import Hidden

        raise ValidationError("password", Hidden(password), "one line on standard input", "invalid")
    return password


def _user_id(db: Database, username: str) -> int:
    from psotrack.services.context import SYSTEM
    from psotrack.services.users import list_users

    for user in list_users(db, SYSTEM):
        if user.username == username:
            return user.id
    raise ValidationError(
        "username", username, "an existing user (see psotrack users list)", "invalid"
    )


def _status(user: UserSummary) -> str:
    if not user.active:
        return "deactivated"
    if user.locked_until is not None and user.locked():
        return f"locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
    if not user.has_password:
        return "no password (cannot sign in)"
    return "active"
