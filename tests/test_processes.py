"""Work in forked processes (psotrack.processes): parts writing shared arrays, items in turn."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator

import numpy as np
import pytest

from psotrack.errors import ProcessFailed
from psotrack.processes import can_fork, made_in_child, run_parts, shared_empty

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

    with pytest.raises(ProcessFailed, match=r"part\(s\) \[2\] of 2"):
        run_parts([work, fail])
    assert values[0] == 7.0


def test_items_made_in_a_child_arrive_in_order() -> None:
    parent = os.getpid()

    def produce() -> list[tuple[int, int]]:
        return [(k, os.getpid()) for k in range(5)]

    items = list(made_in_child(produce))
    assert [k for k, _ in items] == [0, 1, 2, 3, 4]
    assert {pid for _, pid in items} != {parent}  # made in the child


def test_a_failed_producer_is_reported_after_its_items() -> None:
    def produce() -> Iterator[int]:
        yield 1
        raise ValueError("row 2 unreadable")

    received = []
    with pytest.raises(ProcessFailed, match="ValueError: row 2 unreadable"):
        for item in made_in_child(produce):
            received.append(item)
    assert received == [1]


def test_closing_early_stops_the_child() -> None:
    def produce() -> Iterator[int]:
        yield from range(10**9)

    items = made_in_child(produce)
    assert next(items) == 0
    items.close()  # the child is terminated and joined; nothing is left running
    assert multiprocessing.active_children() == []


def test_a_helper_process_does_not_fork_helpers_of_its_own() -> None:
    # The helpers are daemonic, and multiprocessing refuses children to those: the solver and
    # the import then work in one process (can_fork is how they decide).
    assert can_fork()
    assert list(made_in_child(lambda: [can_fork()])) == [False]


def test_a_generator_never_started_forks_no_child() -> None:
    items = made_in_child(lambda: [1, 2])
    assert multiprocessing.active_children() == []
    items.close()
    assert multiprocessing.active_children() == []
