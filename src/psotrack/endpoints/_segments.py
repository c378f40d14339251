"""Rows grouped by patient and ordered by day once, so per-patient work is a segment reduction.

A million patients' rows arrive shuffled; grouping them by hashing the text id for every
aggregate costs about a second per pass. Instead the rows are ordered once by one NumPy sort of
packed 64-bit keys (patient-hash prefix | day | row number), and every later per-patient value is
a ``ufunc.reduceat`` over the contiguous segments (a few milliseconds per million rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

_SEEDS: Final = (0x5EED01, 0x5EED02)
#: Fewer hash bits than this in the packed key would make prefix collisions common: use the
#: general (slower) two-column sort instead.
_MIN_PREFIX_BITS: Final = 20

Int64Array = npt.NDArray[np.int64]
_T = TypeVar("_T", bound=np.generic)


@dataclass(frozen=True)
class PatientSegments:
    """Rows ordered by patient then day: ``order[i]`` is the row at sorted position ``i``.

    ``starts`` are the sorted positions where each patient's rows begin (patients numbered
    0…n−1 in this order), ``code`` the patient number of every row in the frame's own order,
    ``sorted_code`` and ``day`` the patient number and study day at each sorted position.
    """

    order: Int64Array
    starts: Int64Array
    code: Int64Array
    sorted_code: Int64Array
    day: Int64Array

    @property
    def patients(self) -> int:
        return int(self.starts.size)

    def sorted(self, values: npt.NDArray[_T]) -> npt.NDArray[_T]:
        """``values`` (one per row, in the frame's order) at the sorted positions."""
        return values[self.order]

    @property
    def counts(self) -> Int64Array:
        """Rows per patient."""
        return np.diff(np.append(self.starts, self.order.size))


def _bits(span: int) -> int:
    return max(int(span).bit_length(), 1)


def _starts(new: npt.NDArray[np.bool_]) -> Int64Array:
    """Segment starts from a "differs from the previous sorted row" mask (first row excluded)."""
    return np.flatnonzero(np.concatenate(([True], new))).astype(np.int64)


def _sort_packed(
    hashes: npt.NDArray[np.uint64], day: Int64Array
) -> tuple[Int64Array, Int64Array, Int64Array] | None:
    """(order, starts, sorted day) by (hash prefix, day, row) from one sort of packed keys.

    None when the row count and day range leave too few bits for the hash prefix. Patients that
    share a prefix share a segment here; :func:`_split_merged` separates them.
    """
    rows = day.size
    low = int(day.min())
    day_bits = _bits(int(day.max()) - low)
    row_bits = _bits(rows)
    prefix_bits = 64 - day_bits - row_bits
    if prefix_bits < _MIN_PREFIX_BITS:
        return None
    packed = hashes >> np.uint64(64 - prefix_bits)
    packed <<= np.uint64(day_bits + row_bits)
    packed |= (day - low).astype(np.uint64) << np.uint64(row_bits)
    packed |= np.arange(rows, dtype=np.uint64)
    packed.sort()
    shifted = packed >> np.uint64(row_bits)
    sorted_day = (shifted & np.uint64((1 << day_bits) - 1)).view(np.int64) + low
    shifted >>= np.uint64(day_bits)
    starts = _starts(shifted[1:] != shifted[:-1])
    packed &= np.uint64((1 << row_bits) - 1)
    return packed.view(np.int64), starts, sorted_day


def _general_sort(key: npt.NDArray[np.uint64], day: Int64Array) -> tuple[Int64Array, ...]:
    frame = pl.DataFrame({"key": key, "day": day})
    order = frame.select(pl.arg_sort_by("key", "day")).to_series().to_numpy().astype(np.int64)
    sorted_key = key[order]
    return order, _starts(sorted_key[1:] != sorted_key[:-1]), day[order]


def _mixed(values: npt.NDArray[np.unsignedinteger], starts: Int64Array) -> npt.NDArray[np.bool_]:
    """Segments in which a hash is not constant (two patients in one segment)."""
    low, high = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
    return np.asarray(low != high, dtype=np.bool_)


def _split_merged(
    order: Int64Array,
    starts: Int64Array,
    mixed: npt.NDArray[np.bool_],
    hashes: npt.NDArray[np.uint64],
    day: Int64Array,
) -> tuple[Int64Array, Int64Array, Int64Array]:
    """Re-sort the rows of the (few) mixed segments by (full hash, day) and split them.

    Returns the new order and starts, and the sorted positions that moved.
    """
    ends = np.append(starts[1:], order.size)
    which = np.flatnonzero(mixed)
    positions = np.concatenate([np.arange(starts[i], ends[i]) for i in which])
    segment = np.repeat(which, ends[which] - starts[which])
    rows = order[positions]
    local = np.lexsort((day[rows], hashes[rows], segment))
    order = order.copy()
    order[positions] = rows[local]
    full = hashes[order[positions]]
    new = np.zeros(order.size, dtype=bool)
    new[starts] = True
    new[positions[1:][full[1:] != full[:-1]]] = True
    return order, np.flatnonzero(new).astype(np.int64), positions


def patient_segments(frame: pl.DataFrame) -> PatientSegments:
    """Group a frame's rows by ``patient_id`` (text, no nulls) and order them by ``day`` (Int64).

    Patients are told apart by a 64-bit hash (the fast sort keys on a prefix of it); the whole
    64-bit hash and 32 bits of a second, independent hash must be constant within every group,
    which shows that no two patients were merged (a miss needs both full hashes to collide:
    about 1 in 10²⁸ per pair of patients); otherwise exact dictionary codes are used instead.
    """
    day = frame["day"].to_numpy().astype(np.int64, copy=False)
    if not day.size:
        empty = np.empty(0, dtype=np.int64)
        return PatientSegments(empty, empty, empty, empty, empty)
    first = _hash(frame, _SEEDS[0])
    packed = _sort_packed(first, day)
    order, starts, sorted_day = packed if packed is not None else _general_sort(first, day)
    second = _hash(frame, _SEEDS[1]).astype(np.uint32)  # 32 bits suffice as a cross-check
    sorted_second = second[order]
    mixed = _mixed(sorted_second, starts) | _mixed(first[order], starts)
    if mixed.any():
        order, starts, moved = _split_merged(order, starts, mixed, first, day)
        sorted_day[moved] = day[order[moved]]
        sorted_second[moved] = second[order[moved]]
        if _mixed(sorted_second, starts).any():
            exact = frame.select(pl.col("patient_id").cast(pl.Categorical).to_physical())
            codes = exact.to_series().to_numpy().astype(np.uint64)
            order, starts, sorted_day = _general_sort(codes, day)
    sorted_code = np.repeat(
        np.arange(starts.size, dtype=np.int64), np.diff(np.append(starts, day.size))
    )
    code = np.empty(day.size, dtype=np.int64)
    code[order] = sorted_code
    return PatientSegments(order, starts, code, sorted_code, sorted_day)


def _hash(frame: pl.DataFrame, seed: int) -> npt.NDArray[np.uint64]:
    return frame.select(pl.col("patient_id").hash(seed)).to_series().to_numpy()


def repeated_days(segments: PatientSegments) -> bool:
    """True if some patient has two rows on the same day."""
    same = segments.day[1:] == segments.day[:-1]
    if not same.any():
        return False
    code = segments.sorted_code
    return bool((same & (code[1:] == code[:-1])).any())


def _label_bits(
    segments: PatientSegments, ordered: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint64]:
    """Per patient, the set of label codes (0–63; 255 = no label) as a 64-bit mask."""
    bits = np.left_shift(np.uint64(1), ordered.astype(np.uint64) & np.uint64(63))
    bits[ordered == 255] = 0
    return np.bitwise_or.reduceat(bits, segments.starts)


def repeated_labels(segments: PatientSegments, labels: npt.NDArray[np.uint8]) -> bool:
    """True if some patient has a label twice (``labels``: codes 0–63 at the sorted positions)."""
    if labels.size == 0:
        return False
    union = _label_bits(segments, labels)
    return bool((np.bitwise_count(union) != segments.counts).any())


def several_labels(segments: PatientSegments, labels: npt.NDArray[np.uint8]) -> bool:
    """True if some patient has two different labels (codes 0–63 at the sorted positions;
    255 = missing, ignored)."""
    if labels.size == 0:
        return False
    return bool((np.bitwise_count(_label_bits(segments, labels)) > 1).any())


def several_values(
    segments: PatientSegments, values: npt.NDArray[np.uint64], known: npt.NDArray[np.bool_]
) -> bool:
    """True if some patient has two different ``values`` among rows where ``known``."""
    ordered, present = values[segments.order], known[segments.order]
    top = np.iinfo(np.uint64).max
    low = np.minimum.reduceat(np.where(present, ordered, np.uint64(top)), segments.starts)
    high = np.maximum.reduceat(np.where(present, ordered, np.uint64(0)), segments.starts)
    seen = np.logical_or.reduceat(present, segments.starts)
    return bool((seen & (low != high)).any())


def last_before_treatment(segments: PatientSegments, ordered: Int64Array) -> Int64Array:
    """Per patient, the last value on or before day 0 (``ordered``: values at sorted positions,
    −1 for missing), or −1 when there is none."""
    if not segments.patients:
        return np.empty(0, dtype=np.int64)
    found = (segments.day <= 0) & (ordered >= 0)
    position = np.where(found, np.arange(ordered.size), -1)
    last = np.maximum.reduceat(position, segments.starts)
    return np.where(last >= 0, ordered[np.maximum(last, 0)], -1)
