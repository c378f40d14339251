"""`psotrack audit verify`: recompute the audit log's hash chain and name the first broken row."""

from __future__ import annotations

import typer

from psotrack.cli.db import DatabaseUrl, database_url, open_engine, require_database, shown

app = typer.Typer(help="Check the audit log.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")


@app.command("verify")
def verify(url: DatabaseUrl = None) -> None:
    """Exit 0 with the row count and the head when the chain is intact; exit 1 naming the
    first row that was changed, removed or inserted out of order.

    Keep the printed head somewhere else: a later verify that starts from it also shows rows
    removed from the end, or a chain rewritten from the tampered row onwards.
    """
    from psotrack.errors import PsotrackError, ValidationError
    from psotrack.store.audit_chain import has_chain, verify_chain

    target = database_url(url)
    require_database(target)
    with open_engine(target) as engine, engine.connect() as connection:
        if not has_chain(connection):
            raise ValidationError(
                "--database-url",
                shown(target),
                "a psotrack database whose audit log has its hash chain (run psotrack db upgrade)",
                "invalid",
            )
        report = verify_chain(connection)
    if not report.intact:
        raise PsotrackError(
            f"audit log broken: {report.problem} (the {report.rows} rows before it verify)"
        )
    typer.echo(
        f"audit log intact: {report.rows} rows; head seq {report.head_seq}, hash {report.head_hash}"
    )
