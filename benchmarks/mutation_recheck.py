"""Test mutants in one process, without mutmut starting pytest once per mutant.

Run after ``mutmut run`` has generated ``mutants/``:
``.venv/bin/python benchmarks/mutation_recheck.py --names FILE [--mapped] [TEST_FILE...]``.
FILE lists mutant names, one a line. For each mutant the tests run with that mutant active
(mutmut's trampolines in ``mutants/src`` read ``MUTANT_UNDER_TEST`` at every call); a failing
test kills it. ``--mapped`` adds the tests mutmut recorded as reaching the mutated function
(``mutants/mutmut-stats.json``), which is mutmut's own selection; the test files given are run
for every mutant (e.g. the files added after a full run, against its survivors).

This is how the figures in docs/mutation.md were finished on a 2-core machine shared by six
people, where mutmut's fork-per-mutant runs managed a few mutants a minute. psotrack keeps no
caches between calls (no ``lru_cache`` in the packages mutated), so running the mutants one
after another in one process gives the verdicts mutmut gives. A mutant whose tests run longer
than ``--timeout`` seconds is reported as a timeout. Prints one line per mutant and the counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import signal
import sys
from pathlib import Path
from types import FrameType

import pytest


class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def verdict(name: str, tests: list[str], timeout: int) -> str:
    os.environ["MUTANT_UNDER_TEST"] = name
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests])
    except _Timeout:
        return "timeout"
    finally:
        signal.alarm(0)
    if code == 0:
        return "survived"
    return "no tests" if code == 5 else "killed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=Path, required=True)
    parser.add_argument("--mapped", action="store_true")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("tests", nargs="*")
    args, pytest_options = parser.parse_known_args(argv)  # e.g. --deselect=NODE passes through
    args.tests += pytest_options
    sys.path.insert(0, str(Path("mutants/src").resolve()))
    signal.signal(signal.SIGALRM, _alarm)
    names = [n.strip() for n in args.names.read_text("utf-8").splitlines() if n.strip()]
    mapped: dict[str, list[str]] = {}
    if args.mapped:
        stats = json.loads(Path("mutants/mutmut-stats.json").read_text("utf-8"))
        mapped = stats["tests_by_mangled_function_name"]
    if args.tests and verdict("", args.tests, args.timeout) != "survived":
        print("the given tests fail without any mutant: fix them first")
        return 1
    counts: dict[str, int] = {}
    for name in names:
        function = re.sub(r"__mutmut_\d+$", "", name)
        tests = sorted(set(mapped.get(function, []))) + args.tests
        result = verdict(name, tests, args.timeout) if tests else "no tests"
        counts[result] = counts.get(result, 0) + 1
        print(f"{name}: {result}", flush=True)
    print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f" of {len(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
