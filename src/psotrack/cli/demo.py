"""`psotrack demo`: a short, clearly synthetic walk through what psotrack measures."""

from __future__ import annotations

import typer

from psotrack.instruments.pasi import PasiInput, RegionScore, pasi


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo() -> None:
    """Score a synthetic patient's PASI at baseline and week 12 (synthetic: no real patient)."""
    from rich.console import Console

    console = Console()
    console.print("[bold]SYNTHETIC DEMO DATA[/bold] — describes no real patient.")
    baseline = PasiInput(
        head=RegionScore(2, 2, 2, 2),
        upper_limbs=RegionScore(3, 2, 2, 3),
        trunk=RegionScore(3, 3, 2, 3),
        lower_limbs=RegionScore(3, 3, 3, 4),
    )
    week12 = PasiInput(
        head=RegionScore(1, 0, 1, 1),
        upper_limbs=RegionScore(1, 1, 1, 2),
        trunk=RegionScore(1, 1, 0, 2),
        lower_limbs=RegionScore(2, 1, 1, 2),
    )
    before, after = pasi(baseline).total, pasi(week12).total
    change = (before - after) / before * 100
    console.print(f"PASI at baseline: {before}")
    console.print(f"PASI at week 12: {after}  (improvement {change:.1f} % from baseline)")
    console.print("This is a measurement of synthetic data; it says nothing about any therapy.")
