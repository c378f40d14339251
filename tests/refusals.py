"""Reading a refusal in tests: the error, its one line, and the kinds of its problems.

Every problem's kind must be one of :data:`psotrack.errors.ProblemKind`: the wording already
tells range, type and missing apart, and an unknown kind would read like "invalid", so a test
that only compares the text could not see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

import pytest

from psotrack.errors import ProblemKind, ValidationError

KINDS = frozenset(get_args(ProblemKind))


def refusal(call: Callable[[], object]) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call()
    assert {p.kind for p in info.value.problems} <= KINDS
    return info.value


def line(call: Callable[[], object]) -> str:
    return str(refusal(call))


def kinds(call: Callable[[], object]) -> list[str]:
    return [p.kind for p in refusal(call).problems]
