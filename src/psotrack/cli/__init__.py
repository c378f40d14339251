"""The psotrack command line: thin commands over the core; errors become messages and exit codes.

Each command group lives in its own module of this package and is registered here. The one place
that turns psotrack errors into exit codes is :func:`main`: a :class:`ValidationError` prints one
line per problem and exits with 2; any other :class:`PsotrackError` exits with 1.
"""

from __future__ import annotations

import sys

import typer
from typer._click.exceptions import ClickException  # Typer ≥ 0.20 vendors click here

from psotrack.errors import PsotrackError, ValidationError

EXIT_INVALID_INPUT = 2
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
#: Every command writes its files whole or not at all, and each database change is one transaction.
INTERRUPTED = "interrupted: no output file was half-written; finished transactions are kept"


def create_app() -> typer.Typer:
    """Build the Typer application with every command group (no work done at import)."""
    from psotrack.cli import (
        alerts,
        audit,
        db,
        demo,
        endpoints,
        evidence,
        exports,
        forecast,
        imports,
        model,
        photos,
        reports,
        score,
        serve,
        simulate,
        users,
    )

    app = typer.Typer(
        name="psotrack",
        help="psotrack: measure, with its uncertainty, how each psoriasis patient is doing.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.add_typer(score.app, name="score")
    for group in (
        demo,
        endpoints,
        evidence,
        db,
        audit,
        simulate,
        alerts,
        imports,
        forecast,
        photos,
        users,
        serve,
        exports,
        reports,
        model,
    ):
        group.register(app)
    return app


def report_error(exc: PsotrackError) -> int:
    """Print an error for a person (no traceback) and return the exit code it maps to."""
    if isinstance(exc, ValidationError):
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        return EXIT_INVALID_INPUT
    typer.echo(f"error: {exc}", err=True)
    return EXIT_ERROR


def _psotrack_cause(exc: ClickException) -> PsotrackError | None:
    """The psotrack error an option parser raised, which Typer wraps in a pydantic error."""
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        return None
    for error in errors():
        found = error.get("ctx", {}).get("error")
        if isinstance(found, PsotrackError):
            return found
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``psotrack``; returns (and exits with) the process exit code."""
    app = create_app()
    try:
        result = app(args=argv, standalone_mode=False)
    except PsotrackError as exc:
        code = report_error(exc)
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = EXIT_INTERRUPTED
    except SystemExit as exc:  # click's usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    except ClickException as exc:  # usage errors: unknown option, missing argument …
        cause = _psotrack_cause(exc)
        if cause is not None:  # an option's own parser refused its value
            code = report_error(cause)
        else:
            exc.show()
            code = exc.exit_code
    else:
        code = result if isinstance(result, int) else 0  # Typer returns 130 after Ctrl-C
    if code == EXIT_INTERRUPTED:
        typer.echo(INTERRUPTED, err=True)
    if argv is None:
        sys.exit(code)
    return code
