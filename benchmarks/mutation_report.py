"""Kill rate of the mutation run over the clinical core (`make mutate`, docs/mutation.md).

Run after ``mutmut run``: ``.venv/bin/python benchmarks/mutation_report.py``.
Reads every mutant's status from ``mutmut results --all true`` and the mutants that the team
judged equivalent (same behaviour as the original for every input) from docs/mutation.md, and
prints per package: total, killed, survived, timeout, no tests, other, equivalent, the survivors
that are not listed as equivalent, and the kill rate = killed / (total − equivalent).
Target (issue 14): ≥ 95 % per package.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

PACKAGES = ("psotrack.instruments", "psotrack.endpoints", "psotrack.stats")
TARGET = 0.95
RESULT_LINE = re.compile(r"^\s*(?P<name>psotrack\.[\w.]+__mutmut_\d+): (?P<status>.+?)\s*$")
EQUIVALENT_LINE = re.compile(r"^\s*[-*] `(?P<name>psotrack\.[\w.]+__mutmut_\d+)`")


def read_results(text: str) -> dict[str, str]:
    """Mutant name → status, from the lines of ``mutmut results --all true``."""
    found = (RESULT_LINE.match(line) for line in text.splitlines())
    return {m["name"]: m["status"] for m in found if m}


def read_equivalent(doc: Path) -> set[str]:
    """The mutant names listed as ``- `name`: reason`` in the document."""
    return {
        m["name"]
        for line in doc.read_text("utf-8").splitlines()
        if (m := EQUIVALENT_LINE.match(line))
    }


def package_of(name: str) -> str:
    """``psotrack.stats.survival.x_km__mutmut_3`` → ``psotrack.stats``."""
    return ".".join(name.split(".")[:2])


def report(results: dict[str, str], equivalent: set[str]) -> tuple[list[str], bool]:
    """Lines of the table, and whether every fully checked package reached the target.

    Mutants that mutmut has not checked yet (a run stopped early) are counted apart and left out
    of the rate; a package with any of them is marked "partial".
    """
    lines = [
        f"{'package':<22}{'total':>7}{'killed':>8}{'surv.':>7}{'t/o':>6}{'no t.':>7}"
        f"{'other':>7}{'unchk.':>8}{'equiv.':>8}{'kill rate':>11}"
    ]
    all_met = True
    unexplained: list[str] = []
    for package in PACKAGES:
        names = [n for n in results if package_of(n) == package]
        counts = Counter(results[n] for n in names)
        unchecked = counts["not checked"]
        if len(names) == unchecked:
            lines.append(f"{package:<22}{len(names):>7}  not run")
            all_met = False
            continue
        checked = [n for n in names if results[n] != "not checked"]
        equiv = sum(1 for n in checked if n in equivalent)
        killed = counts["killed"]
        main = ("killed", "survived", "timeout", "no tests", "not checked")
        other = len(names) - sum(counts[s] for s in main)
        denominator = len(checked) - equiv
        rate = killed / denominator if denominator else 1.0
        all_met = all_met and rate >= TARGET and not unchecked
        lines.append(
            f"{package:<22}{len(names):>7}{killed:>8}{counts['survived']:>7}{counts['timeout']:>6}"
            f"{counts['no tests']:>7}{other:>7}{unchecked:>8}{equiv:>8}{rate:>10.1%}"
            + ("  partial" if unchecked else "")
        )
        unexplained += sorted(n for n in checked if results[n] != "killed" and n not in equivalent)
    stale = sorted(n for n in equivalent if results.get(n) == "killed")
    lines.append(f"kill rate = killed / (checked − equivalent); target ≥ {TARGET:.0%} per package")
    if unexplained:
        lines.append(f"not killed and not listed as equivalent ({len(unexplained)}):")
        lines += [f"  {n}: {results[n]}" for n in unexplained]
    if stale:
        lines.append("listed as equivalent but killed (remove from docs/mutation.md):")
        lines += [f"  {n}" for n in stale]
    return lines, all_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--results",
        type=Path,
        action="append",
        help="saved `mutmut results --all true` or mutation_recheck.py output; repeat it, later "
        "files override earlier ones",
    )
    parser.add_argument("--equivalent", type=Path, default=Path("docs/mutation.md"))
    args = parser.parse_args(argv)
    results: dict[str, str] = {}
    if args.results:
        for path in args.results:
            results.update(read_results(path.read_text("utf-8")))
    else:
        mutmut = Path(sys.executable).with_name("mutmut")
        run = [str(mutmut), "results", "--all", "true"]
        results = read_results(
            subprocess.run(run, check=True, capture_output=True, text=True).stdout
        )
    lines, all_met = report(results, read_equivalent(args.equivalent))
    print("\n".join(lines))
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
