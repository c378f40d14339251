"""`psotrack audit verify`: recompute the audit log's hash chain and name the first broken row."""

from __future__ import annotations

import typer

from psotrack.cli.db import DatabaseUrl, open_engine

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
    from psotrack.errors import PsotrackError
    from psotrack.store.audit_chain import verify_chain

    with open_engine(url) as engine, engine.connect() as connection:
        report = verify_chain(connection)
    if not report.intact:
        raise PsotrackError(
            f"audit log broken: {report.problem} (the {report.rows} rows before it verify)"
        )
    typer.echo(
        f"audit log intact: {report.rows} rows; head seq {report.head_seq}, hash {report.head_hash}"
    )
