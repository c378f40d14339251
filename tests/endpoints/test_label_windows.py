"""The bit window that tells label hashes apart (``_validate._distinguishing_window``).

Real labels have random 64-bit hashes, so a low window nearly always works and the search rarely
reaches the top bits. These hand-made hash sets do: two hashes that differ only in bit 63 need the
last 6-bit window (bits 58–63), and 2¹⁶ + 1 distinct hashes fit in no window of 16 bits or fewer.
Written after the mutation sample of issue 14 (docs/mutation.md).
"""

from __future__ import annotations

import numpy as np

from psotrack.endpoints._validate import _distinguishing_window


def _window(*hashes: int) -> tuple[int, int] | None:
    found = _distinguishing_window(np.array(hashes, dtype=np.uint64))
    return None if found is None else (int(found[0]), int(found[1]))


def test_the_smallest_window_at_the_lowest_shift_is_chosen() -> None:
    assert _window(0, 1) == (0, 0b111111)
    # differ in bit 6 only: the 6-bit window at shift 1 (bits 1–6) is the first that sees it
    assert _window(0, 1 << 6) == (1, 0b111111)


def test_hashes_that_differ_only_in_the_top_bit() -> None:
    assert _window(0, 1 << 63) == (58, 0b111111)
    assert _window(0, 1 << 62, 3 << 62) == (58, 0b111111)


def test_more_labels_need_wider_windows() -> None:
    # 65 distinct values need 7 bits, so the 8-bit table; 257 need the 10-bit one
    found = _distinguishing_window(np.arange(65, dtype=np.uint64))
    assert found is not None and (int(found[0]), int(found[1])) == (0, 0xFF)
    found = _distinguishing_window(np.arange(257, dtype=np.uint64))
    assert found is not None and (int(found[0]), int(found[1])) == (0, 0x3FF)
    found = _distinguishing_window(np.arange(1 << 16, dtype=np.uint64))
    assert found is not None and (int(found[0]), int(found[1])) == (0, 0xFFFF)


def test_no_window_of_16_bits_holds_more_than_65536_values() -> None:
    assert _distinguishing_window(np.arange((1 << 16) + 1, dtype=np.uint64)) is None
