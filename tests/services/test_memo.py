"""The bounded memo of derived values: least recently used dropped first, None kept apart."""

import pytest

from psotrack.services.memo import Memo


def test_keeps_at_most_its_size_dropping_the_least_recently_used():
    memo: Memo[int] = Memo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "a" is now the most recently used
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c"), len(memo)) == (1, None, 3, 2)


def test_a_memo_keeps_at_least_one():
    with pytest.raises(ValueError, match="at least one"):
        Memo(0)
