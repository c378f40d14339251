"""One listening socket per server process on the same port, so that connections spread evenly.

uvicorn's several processes share one listening socket: whichever process wakes first accepts
every connection waiting (its event loop accepts until none is left). Keep-alive clients stay
with the process that accepted them, so one process may serve most of them while the other
idles. Measured with the benchmark's 50 clients on PostgreSQL (``benchmarks/bench_web.py``, two
processes): 39 connections against 11; the busy process's page reads waited 219 ms on average
for a handler thread, the other's 30 ms.

On Linux each process instead binds its own socket to the port with ``SO_REUSEPORT``, and the
kernel hands each new connection to one of the listening sockets by a hash of its addresses.
The parent process binds the port first with the same option, without listening on it (a socket
that does not listen is given no connections): that claims the port and finds at once that it is
taken. Passed to a worker process, which uvicorn does by pickling, that socket becomes the
worker's own socket bound to the same address (:func:`_own_socket`), the one it listens on.
Elsewhere, and for one process, the port is claimed the same way without the option, and the
processes listen on that one socket, as uvicorn's would.
"""

from __future__ import annotations

import socket
import sys
from typing import Any, Final

from psotrack.errors import PsotrackError

#: Where the kernel spreads connections over the sockets sharing a port (BSD and macOS accept
#: the option but give every connection to one socket).
SPREADS: Final = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class SharedPort(socket.socket):
    """The parent's socket on ``(host, port)``, bound with ``SO_REUSEPORT``; each worker
    process it is passed to binds its own socket to the same address."""

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return _own_socket, (self.family, self.getsockname())


def claim_port(host: str, port: int, *, processes: int) -> socket.socket:
    """The socket the server's ``processes`` listen through, bound to ``host:port``: for
    several processes where the kernel spreads connections, a :class:`SharedPort` (see the
    module text); else one socket that every process listens on, as uvicorn's own.

    :class:`PsotrackError` naming the address when it cannot be bound (taken, or not this
    machine's), before the server starts.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    shared = processes > 1 and SPREADS
    claim = SharedPort(family, socket.SOCK_STREAM) if shared else socket.socket(family)
    try:
        claim.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's own socket
        if shared:
            claim.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        claim.bind((host, port))
    except OSError as error:
        claim.close()
        raise PsotrackError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    claim.set_inheritable(True)
    return claim


def _own_socket(family: int, address: tuple[Any, ...]) -> socket.socket:
    """A new socket bound to ``address`` beside the others on it (in a worker process)."""
    own = socket.socket(family, socket.SOCK_STREAM)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    own.bind(address)
    return own
