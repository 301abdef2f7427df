"""What a watch is to do, decided before any connection: its plan (``WatchPlan``, made by
``dynkube.verbs.watch``), the waits between failed reconnects (``Backoff``) and each connection's
timeouts. Shared by the sync and the asyncio watch; pure, as the rest of ``dynkube.core``.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from ..objects import ApiList
from .calls import Call
from .exchange import backoff
from .http import Request

READ_CHUNK = 1 << 20  # bytes asked per read; chunked responses still yield each HTTP chunk as it comes
RESUME_TIMEOUT_SECONDS = (300, 600)  # per-connection timeoutSeconds when resuming (client-go's reflector)
READ_TIMEOUT_MARGIN = 30.0  # seconds of silence past timeoutSeconds before the connection counts as dead
BOOKMARK_INTERVAL = 60.0  # the server sends a resuming watch a bookmark about once a minute, even when quiet
IDLE_TIMEOUT = 1.5 * BOOKMARK_INTERVAL  # silence after which a resuming watch's connection counts as dead
HEALTHY_SECONDS = 1.0  # a connection that ends sooner without an event counts as a failure (backoff)


class Backoff(NamedTuple):
    """Waits between failed reconnects: ``initial`` seconds doubling up to ``cap``, with the retries'
    jitter (between half and all of it: ``dynkube.core.exchange.backoff``). A NamedTuple, not a
    dataclass: ``import dynkube`` imports this module, and would otherwise pay for ``dataclasses``."""

    initial: float = 0.8
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` (>= 1) consecutive failed attempts."""
        return backoff(self.initial, self.cap, failures - 1)


DEFAULT_BACKOFF = Backoff()


class WatchPlan(NamedTuple):
    """A watch to run (``dynkube.verbs.watch`` makes it): its first connection's request, where it
    starts, how it resumes, and the first page of the list to read before watching (a resuming
    watch without a resourceVersion lists first)."""

    request: Request
    resource_version: str | None
    timeout_seconds: int | None
    resume: bool
    send_initial_events: bool
    backoff: Backoff
    idle_timeout: float | None
    list_first: Call[ApiList] | None


def connection_timeouts(plan: WatchPlan, transport_timeout: Any) -> tuple[int | None, float | None, float | None]:
    """For one connection of a watch: its ``timeoutSeconds`` (a resuming watch picks 5 to 10 minutes,
    as client-go's reflector), the connect timeout, and the silence after which it counts as dead:
    well past the server's own end of it, or ``idle_timeout`` (resuming watches), whichever comes first."""
    timeout_seconds = plan.timeout_seconds or (random.randint(*RESUME_TIMEOUT_SECONDS) if plan.resume else None)
    connect = transport_timeout[0] if isinstance(transport_timeout, tuple) else transport_timeout
    idle = plan.idle_timeout if plan.resume else None
    limits = [t for t in (timeout_seconds + READ_TIMEOUT_MARGIN if timeout_seconds else None, idle) if t is not None]
    return timeout_seconds, connect, min(limits) if limits else None
