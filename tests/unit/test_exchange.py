"""The exchange without I/O: the commands one request's attempts give, fed made-up outcomes
(dynkube.core.exchange.attempts), and the token bucket's arithmetic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dynkube.core.exchange import (REFRESH, RESERVE, Answered, Flow, NoAnswer, RetryPolicy, Send, TokenReservations,
                                   Verdict, Wait, attempts, backoff)

POLICY = RetryPolicy(max_attempts=4, backoff_base=1.0, backoff_cap=8.0, total_seconds=60.0)
OK, UNAVAILABLE, UNAUTHORIZED = Answered(200, {}), Answered(503, {}), Answered(401, {})
REFUSED = NoAnswer("ConnectionError")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(flow: Flow, outcomes: Iterator[Any], clock: Clock | None = None) -> tuple[list[Any], Verdict]:
    """Drive ``flow``: Send and REFRESH are answered from ``outcomes``, Wait advances ``clock``."""
    commands: list[Any] = []
    answer: Any = None
    try:
        while True:
            command = flow.send(answer)
            commands.append(command)
            answer = next(outcomes) if isinstance(command, Send) or command is REFRESH else None
            if isinstance(command, Wait) and clock is not None:
                clock.now += command.seconds
    except StopIteration as stop:
        return commands, stop.value


def flow(method: str = "GET", *, deadline: float = 60.0, clock: Callable[[], float] = lambda: 0.0,
         rate_limited: bool = False) -> Flow:
    return attempts(method, POLICY, deadline, clock, rate_limited=rate_limited)


def test_an_answer_ends_the_exchange_after_one_send_and_its_token() -> None:
    assert run(flow(rate_limited=True), iter([OK])) == ([RESERVE, Send()], Verdict.ANSWER)


def test_a_read_is_retried_after_waits_until_it_is_answered() -> None:
    commands, verdict = run(flow(), iter([UNAVAILABLE, REFUSED, OK]))
    assert verdict is Verdict.ANSWER
    assert [type(c) for c in commands] == [Send, Wait, Send, Wait, Send]
    assert [c.after for c in commands if isinstance(c, Wait)] == ["HTTP 503", "ConnectionError"]


def test_attempts_stop_at_max_attempts() -> None:
    commands, verdict = run(flow(), iter([UNAVAILABLE] * 10))
    assert verdict is Verdict.FAIL and sum(isinstance(c, Send) for c in commands) == POLICY.max_attempts


def test_no_wait_reaches_past_the_deadline() -> None:
    clock = Clock()
    commands, verdict = run(flow(deadline=2.0, clock=clock), iter([UNAVAILABLE] * 10), clock)
    assert verdict is Verdict.FAIL and clock.now <= 2.0
    assert sum(isinstance(c, Send) for c in commands) < POLICY.max_attempts


def test_a_write_is_not_retried_after_a_5xx_nor_after_a_connection_failure_once_sent() -> None:
    assert run(flow("POST"), iter([UNAVAILABLE]))[1] is Verdict.FAIL
    assert run(flow("POST"), iter([REFUSED]))[1] is Verdict.FAIL
    assert run(flow("POST"), iter([NoAnswer("ConnectTimeout", never_sent=True), OK]))[1] is Verdict.ANSWER


def test_retry_after_is_honoured_when_longer() -> None:
    commands, _ = run(flow(), iter([Answered(429, {"Retry-After": "7"}), OK]))
    assert [c.seconds for c in commands if isinstance(c, Wait)] == [7.0]


def test_a_401_refreshes_the_credentials_once_and_sends_again_without_waiting() -> None:
    commands, verdict = run(flow("POST"), iter([UNAUTHORIZED, True, OK]))
    assert (commands, verdict) == ([Send(), REFRESH, Send()], Verdict.ANSWER)
    commands, verdict = run(flow(), iter([UNAUTHORIZED, True, UNAUTHORIZED]))
    assert (commands, verdict) == ([Send(), REFRESH, Send()], Verdict.FAIL)  # refreshed once only


def test_a_401_whose_credentials_cannot_rotate_fails() -> None:
    assert run(flow(), iter([UNAUTHORIZED, False])) == ([Send(), REFRESH], Verdict.FAIL)


def test_a_stale_kept_alive_connection_is_replaced_at_once_once() -> None:
    stale = NoAnswer("ConnectionError", reused=True)
    commands, verdict = run(flow(), iter([stale, stale, OK]))
    assert verdict is Verdict.ANSWER
    assert [c for c in commands if not isinstance(c, Wait)] == [Send(), Send(fresh=True), Send()]
    assert isinstance(commands[2], Wait)  # the second stale failure waits as any other


def test_an_attempt_that_ran_out_of_time_is_not_taken_for_a_stale_connection() -> None:
    commands, _ = run(flow(), iter([NoAnswer("ReadTimeout", reused=True, expired=True), OK]))
    assert isinstance(commands[1], Wait)


@pytest.mark.parametrize("attempt", range(8))
def test_the_backoff_is_between_half_and_all_of_its_ceiling(attempt: int) -> None:
    ceiling = min(8.0, 0.5 * 2 ** attempt)
    assert all(ceiling / 2 <= backoff(0.5, 8.0, attempt) <= ceiling for _ in range(50))


def test_token_reservations_give_the_burst_then_wait_for_the_rate() -> None:
    bucket = TokenReservations(qps=10, burst=2, now=100.0)
    assert [bucket.reserve(100.0) for _ in range(2)] == [0.0, 0.0]
    assert bucket.reserve(100.0) == pytest.approx(0.1)
    assert bucket.reserve(100.0) == pytest.approx(0.2)
    assert bucket.reserve(101.0) == 0.0  # refilled (up to the burst) while idle
