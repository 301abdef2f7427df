"""A TCP proxy on 127.0.0.1 in front of the real kube-apiserver, for faults the server will not make
on demand: connections cut at a random byte offset of the server's answer, every connection cut at
once, an outage during which new connections are accepted and dropped, open connections frozen
(a NAT or load balancer that forgot them: bytes vanish, nothing is closed), answers trickled a byte
at a time, and a black hole that accepts connections and never answers.

It forwards bytes and nothing else (TLS passes through untouched), so what the client sees is the
real server's behaviour, up to the cut.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Pair:
    """One client connection and its upstream connection."""

    client: socket.socket
    upstream: socket.socket
    budget: int | None  # server-to-client bytes left before the cut; None: never cut
    closed: threading.Event = field(default_factory=threading.Event)
    frozen: bool = False  # bytes are read and dropped in both directions

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class FaultProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream`` (host, port).

    ``cut_after(low, high, probability)`` makes each new connection, with that probability, end
    after a random number of server-to-client bytes in [low, high]; ``cut_all()`` ends every open
    connection now; ``outage()`` drops connections until ``restore()``; ``freeze()`` silences the
    open connections (new ones work); ``trickle(interval, size)`` forwards the server's bytes
    ``size`` per ``interval`` seconds; ``black_hole()`` holds new connections unanswered until ``restore()``.
    """

    def __init__(self, upstream: tuple[str, int], *, seed: int = 0) -> None:
        self.upstream = upstream
        self.connections = 0
        self.cuts = 0
        self.server_bytes = 0
        self.refused = 0  # connections dropped during an outage
        self.held = 0  # connections swallowed by the black hole
        self._random = random.Random(seed)
        self._cut_range: tuple[int, int] | None = None
        self._cut_probability = 0.0
        self._down = False
        self._black_hole = False
        self._trickle: float | None = None
        self._trickle_size = 1
        self._swallowed: list[socket.socket] = []
        self._pairs: set[_Pair] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def cut_after(self, low: int, high: int, probability: float = 1.0) -> None:
        """Cut connections (open ones too) after a random count of server bytes in [low, high]."""
        with self._lock:
            self._cut_range = (low, high)
            self._cut_probability = probability
            for pair in self._pairs:
                pair.budget = self._budget()

    def no_cuts(self) -> None:
        with self._lock:
            self._cut_range = None

    def cut_all(self) -> int:
        """Cut every open connection; returns how many."""
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
            self.cuts += len(pairs)
        for pair in pairs:
            pair.close()
        return len(pairs)

    def outage(self) -> None:
        """Cut every connection, then accept and drop new ones until ``restore()``."""
        with self._lock:
            self._down = True
        self.cut_all()

    def restore(self) -> None:
        """End an outage or a black hole (connections the hole swallowed stay unanswered)."""
        with self._lock:
            self._down = False
            self._black_hole = False

    def freeze(self) -> int:
        """Silence every open connection for good, without closing it; returns how many."""
        with self._lock:
            for pair in self._pairs:
                pair.frozen = True
            return len(self._pairs)

    def black_hole(self) -> None:
        """Accept new connections and never answer them, until ``restore()``."""
        with self._lock:
            self._black_hole = True

    def trickle(self, interval: float | None, size: int = 1) -> None:
        """Forward the server's bytes (on every connection) ``size`` per ``interval`` s; None: at full speed."""
        with self._lock:
            self._trickle = interval
            self._trickle_size = size

    def close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the proxy's thread
        except OSError:
            pass
        self._listener.close()
        self.cut_all()
        with self._lock:
            swallowed, self._swallowed = self._swallowed, []
        for sock in swallowed:
            sock.close()
        self._accepting.join()

    # ---- forwarding -----------------------------------------------------------------------

    def _budget(self) -> int | None:
        if self._cut_range and self._random.random() < self._cut_probability:
            return self._random.randint(*self._cut_range)
        return None

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            self._start(client)

    def _start(self, client: socket.socket) -> None:
        with self._lock:
            down, hole, budget = self._down, self._black_hole, self._budget()
            self.refused += down
            if hole and not down:
                self.held += 1
                self._swallowed.append(client)
                return
        if down:
            client.close()
            return
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        pair = _Pair(client, upstream, budget)
        with self._lock:
            self.connections += 1
            self._pairs.add(pair)
        threading.Thread(target=self._pump, args=(pair, client, upstream, False), daemon=True).start()
        threading.Thread(target=self._pump, args=(pair, upstream, client, True), daemon=True).start()

    def _pump(self, pair: _Pair, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while not pair.closed.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if pair.frozen:
                    continue
                if from_server:
                    self.server_bytes += len(data)  # approximate under races; for diagnostics
                if from_server and self._trickle is not None:
                    self._send_slowly(pair, sink, data)
                    continue
                if from_server and pair.budget is not None:
                    if len(data) >= pair.budget:
                        sink.sendall(data[:pair.budget])
                        log.debug("cutting a connection at its budget")
                        with self._lock:
                            self.cuts += 1
                        break
                    pair.budget -= len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            pair.close()

    def _send_slowly(self, pair: _Pair, sink: socket.socket, data: bytes) -> None:
        sent = 0
        while sent < len(data):
            interval, size = self._trickle, self._trickle_size
            if pair.closed.is_set() or pair.frozen:
                return
            sink.sendall(data[sent:sent + size])
            sent += size
            if interval is not None:
                pair.closed.wait(interval)
