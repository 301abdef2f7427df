"""The exchange: one request's attempts, waits and credential refreshes, decided without I/O.

``attempts()`` is a generator of commands that a transport shell obeys: ``RESERVE`` (take a token
from the rate limiter), ``Send`` (one attempt; the shell sends back what came of it: ``Answered``
or ``NoAnswer``), ``REFRESH`` (ask the credentials to rotate after a 401; the shell sends back
whether they did) and ``Wait`` (sleep before the next attempt). It returns the ``Verdict``: the
last answer is the result, or the last outcome is the failure to report. Retries are decided in one
function, ``retry_delay``, with one backoff formula, ``backoff``; the rate limiter's arithmetic is
``TokenReservations``. The shell keeps the clock, the sockets, the sleeping and the cancelling.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Generator, Mapping
from typing import NamedTuple

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RetryPolicy(NamedTuple):
    """How hard to retry: attempts in all (first included), backoff base and cap, total time budget.

    The defaults spread the attempts over the budget: the waits are at least 0.25, 0.5, 1, 2, 4 s
    and then 5 s each, so an apiserver that is away for up to about half a minute is bridged.
    """

    max_attempts: int = 10
    backoff_base: float = 0.5
    backoff_cap: float = 10.0
    total_seconds: float = 60.0


NO_RETRIES = RetryPolicy(max_attempts=1)

Timeout = float | tuple[float, float | None] | None
"""A number: the total bound of a request, retries included (kubectl's ``--request-timeout``).
(connect, read): seconds to connect and between bytes, and connect + read for each attempt in all;
a read of None waits forever (streams)."""


class Limits(NamedTuple):
    """The time bounds of one request, from its Timeout and RetryPolicy (seconds; None: unbounded)."""

    connect: float | None
    read: float | None
    attempt: float | None  # each attempt in all: connect, TLS, headers and (unless streamed) body
    overall: float  # every attempt and wait


def limits_for(timeout: Timeout, policy: RetryPolicy) -> Limits:
    """The bounds of a request sent with ``timeout`` under ``policy``."""
    if timeout is None:
        return Limits(None, None, None, policy.total_seconds)
    if isinstance(timeout, tuple):
        connect, read = timeout
        return Limits(connect, read, connect + read if read is not None else None, policy.total_seconds)
    return Limits(timeout, timeout, timeout, min(timeout, policy.total_seconds))


def clamped(limits: Limits, deadline: float, now: float) -> tuple[float, float]:
    """The (connect, read) timeouts of one attempt, none of them reaching past its deadline."""
    left = max(0.001, deadline - now)
    return (min(limits.connect, left) if limits.connect is not None else left,
            min(limits.read, left) if limits.read is not None else left)


def backoff(base: float, cap: float, attempt: int) -> float:
    """The one backoff formula: seconds to wait after failed attempt ``attempt`` (0 for the first),
    exponential from ``base`` up to ``cap`` with "equal jitter" (between half and all of it)."""
    ceiling = min(cap, base * 2.0 ** attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_delay(method: str, status: int | None, headers: Mapping[str, str], attempt: int,
                policy: RetryPolicy, *, never_sent: bool = False, stale: bool = False) -> float | None:
    """Seconds to wait before retrying, or None not to retry.

    ``status`` is None for a connection error; ``never_sent`` says the request body never left;
    ``stale`` says the connection that failed was a reused keep-alive one (asked once per request):
    an idempotent request is then sent again at once on a fresh connection, whatever the policy.
    429 is retried for every verb (the server rejected it before doing anything); connection
    errors, 503, 500 and 504 only for reads, or for writes that were never sent.
    """
    read = method.upper() in IDEMPOTENT_METHODS
    if stale and status is None and read:
        return 0.0
    if attempt + 1 >= policy.max_attempts:
        return None
    if status is None:
        retryable = read or never_sent
    elif status == 429:
        retryable = True
    else:
        retryable = read and status in (500, 503, 504)
    if not retryable:
        return None
    delay = backoff(policy.backoff_base, policy.backoff_cap, attempt)
    retry_after = _retry_after_seconds(headers)
    return max(delay, retry_after) if retry_after is not None else delay


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


class TokenReservations:
    """client-go's token bucket as arithmetic: ``burst`` tokens, refilled at ``qps`` per second;
    ``reserve(now)`` takes one and says how long to wait for it. Not thread-safe: the shell locks."""

    __slots__ = ("qps", "burst", "_tokens", "_last")

    def __init__(self, qps: float, burst: int, now: float) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._last = now

    def reserve(self, now: float) -> float:
        """Take one token; the seconds until it is there (0 when one was left)."""
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1
        return -self._tokens / self.qps if self._tokens < 0 else 0.0


# ---- the commands and what the shell answers ------------------------------------------------

class Reserve(enum.StrEnum):
    """Take a token from the rate limiter, waiting for one."""

    RESERVE = "reserve"


class Refresh(enum.StrEnum):
    """Ask the credentials to rotate (after a 401); answer True if they did."""

    REFRESH = "refresh"


RESERVE = Reserve.RESERVE
REFRESH = Refresh.REFRESH


class Send(NamedTuple):
    """Send one attempt (``fresh``: on a new connection, not a kept-alive one); answer with what came of it."""

    fresh: bool = False


class Wait(NamedTuple):
    """Sleep ``seconds`` (ended early by a cancel) before the next attempt; ``after`` says why."""

    seconds: float
    after: str


class Answered(NamedTuple):
    """The attempt got an answer: its status and headers."""

    status: int
    headers: Mapping[str, str]


class NoAnswer(NamedTuple):
    """The attempt got no answer: ``reason`` (the failure's name); ``never_sent``: no byte left;
    ``reused``: it ran on a kept-alive connection; ``expired``: it ran out of time."""

    reason: str
    never_sent: bool = False
    reused: bool = False
    expired: bool = False


class Verdict(enum.StrEnum):
    """How an exchange ended."""

    ANSWER = "answer"  # the last answer (2xx or 304) is the result
    FAIL = "fail"  # the last outcome (an error answer, or no answer) is the failure to report


Command = Reserve | Send | Refresh | Wait
Outcome = Answered | NoAnswer | bool | None
Flow = Generator[Command, Outcome, Verdict]


def attempts(method: str, policy: RetryPolicy, deadline: float, clock: Callable[[], float], *,
             rate_limited: bool = True) -> Flow:
    """The attempts of one request until a verdict: retries as ``retry_delay`` decides, one
    credential refresh on a 401, one immediate resend on a fresh connection when a kept-alive one
    failed, and no wait past ``deadline`` (read on ``clock``)."""
    attempt = 0
    refreshed = stale_retried = fresh = False
    while True:
        if rate_limited:
            yield RESERVE
        outcome = yield Send(fresh)
        fresh = False
        if isinstance(outcome, NoAnswer):
            stale = outcome.reused and not outcome.expired and not stale_retried
            delay = retry_delay(method, None, {}, attempt, policy, never_sent=outcome.never_sent, stale=stale)
            if delay is None or clock() + delay > deadline:
                return Verdict.FAIL
            if stale and delay == 0:
                stale_retried = fresh = True
                continue
            after = outcome.reason
        elif isinstance(outcome, Answered):
            if outcome.status < 400 or outcome.status == 304:
                return Verdict.ANSWER
            if outcome.status == 401 and not refreshed and (yield REFRESH):
                refreshed = True
                continue
            delay = retry_delay(method, outcome.status, outcome.headers, attempt, policy)
            if delay is None or clock() + delay > deadline:
                return Verdict.FAIL
            after = f"HTTP {outcome.status}"
        else:
            raise TypeError(f"a Send is answered with Answered or NoAnswer, not {outcome!r}")
        yield Wait(delay, after)
        attempt += 1
