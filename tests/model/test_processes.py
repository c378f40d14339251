"""Forked parts writing shared arrays (psotrack.model.processes)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from psotrack.model.processes import can_fork, run_parts, shared_empty

pytestmark = pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")


def test_each_part_writes_its_rows_of_the_shared_array() -> None:
    values = shared_empty((3, 2))
    values[:] = 0.0

    def part(k: int) -> None:
        values[k] = [k + 1, os.getpid()]

    run_parts([lambda: part(0), lambda: part(1), lambda: part(2)])
    np.testing.assert_array_equal(values[:, 0], [1.0, 2.0, 3.0])
    assert values[0, 1] == os.getpid()  # the first part runs in the caller
    assert len({values[1, 1], values[2, 1], os.getpid()}) == 3  # the others in children


def test_a_failed_child_is_reported_after_all_parts_end() -> None:
    values = shared_empty((1,))
    values[0] = 0.0

    def fail() -> None:
        raise OSError("no disk")

    def work() -> None:
        values[0] = 7.0

    with pytest.raises(RuntimeError, match=r"part\(s\) \[2\] of 2"):
        run_parts([work, fail])
    assert values[0] == 7.0
