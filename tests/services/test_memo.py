"""The bounded memo of derived values: least recently used dropped first, None kept apart."""

import pytest
from sqlalchemy import create_engine

from psotrack.services.memo import Memo, database_token


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


def test_a_database_keeps_its_number_through_engines_that_share_its_pool(tmp_path):
    """The engine of Database.reads() (other execution options, the same connections) finds
    what the database's engine kept; another database, or the same file after dispose (a new
    pool), never gets that number."""
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    other = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    token = database_token(engine)
    assert database_token(engine.execution_options(isolation_level="AUTOCOMMIT")) == token
    assert database_token(other) != token
    engine.dispose()
    assert database_token(engine) not in (token, database_token(other))
