"""Server processes claim cores of their own through locked slot files (psotrack.web.cores)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from psotrack.web import cores
from psotrack.web.cores import PINS, claim_core

needs_pinning = pytest.mark.skipif(not PINS, reason="this platform cannot hold a process to a core")


def _release_all() -> None:
    while cores._HELD:
        os.close(cores._HELD.pop())


@pytest.fixture
def slots(tmp_path: Path):
    yield tmp_path
    _release_all()


@needs_pinning
def test_each_claim_takes_the_first_core_not_held(slots: Path) -> None:
    assert claim_core(slots, [3, 5]) == 3
    assert claim_core(slots, [3, 5]) == 5
    assert claim_core(slots, [3, 5]) is None  # more claims than cores: none left
    assert sorted(p.name for p in slots.iterdir()) == ["core-3", "core-5"]


@needs_pinning
def test_a_core_whose_holder_has_gone_is_claimed_again(slots: Path) -> None:
    assert claim_core(slots, [0, 1]) == 0
    assert claim_core(slots, [0, 1]) == 1
    os.close(cores._HELD.pop(0))  # as a process that exits: its lock goes with it
    assert claim_core(slots, [0, 1]) == 0


#: A process that pins itself after starting a thread; prints the cores each thread may use.
PINNED = textwrap.dedent(
    """
    import os, sys, threading
    from pathlib import Path
    from psotrack.web.cores import pin_to_free_core
    started, done = threading.Event(), threading.Event()
    def wait():
        started.set()
        done.wait()
    earlier = threading.Thread(target=wait)
    earlier.start()
    started.wait()
    print(pin_to_free_core(Path(sys.argv[1])))
    later = threading.Thread(target=lambda: print(sorted(os.sched_getaffinity(0))))
    later.start()
    later.join()
    print(sorted(os.sched_getaffinity(earlier.native_id)))
    print(sorted(os.sched_getaffinity(0)))
    done.set()
    """
)


@needs_pinning
def test_a_pinned_process_holds_every_thread_to_its_core(slots: Path) -> None:
    first = min(os.sched_getaffinity(0))
    # This process holds the first core's slot: the child takes the next one, if there is one.
    assert claim_core(slots, [first]) == first
    usable = sorted(os.sched_getaffinity(0))
    done = subprocess.run(
        [sys.executable, "-c", PINNED, str(slots)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    if len(usable) == 1:
        assert done.stdout.splitlines() == ["None", str(usable)] + [str(usable)] * 2
        return
    core = usable[1]
    assert done.stdout.splitlines() == [str(core), f"[{core}]", f"[{core}]", f"[{core}]"]
