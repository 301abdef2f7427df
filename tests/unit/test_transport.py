"""Transport decisions that need no server: retries, the token bucket, Status parsing, warnings."""

from __future__ import annotations

import threading
import time

import pytest

from dynkube import errors
from dynkube.config import Config
from dynkube.core.http import Request, Response
from dynkube.core.status import parse_warning_header, status_from_response
from dynkube.transport import CancelScope, RetryPolicy, TokenBucket, Transport, retry_delay

from ..support.credentials import StaticToken

pytestmark = pytest.mark.usefixtures("json_decoder")  # every reader under both decoders

POLICY = RetryPolicy(max_attempts=5, backoff_base=0.1, backoff_cap=1.0)


@pytest.mark.parametrize(("method", "status", "retried"), [
    ("GET", 429, True), ("POST", 429, True), ("PATCH", 429, True), ("DELETE", 429, True),
    ("GET", 503, True), ("GET", 500, True), ("GET", 504, True), ("GET", None, True),
    ("POST", 503, False), ("POST", 500, False), ("PUT", 504, False), ("DELETE", None, False),
    ("GET", 404, False), ("GET", 409, False), ("GET", 501, False), ("GET", 401, False),
])
def test_which_answers_are_retried(method: str, status: int | None, retried: bool) -> None:
    assert (retry_delay(method, status, {}, 0, POLICY) is not None) is retried


def test_writes_are_retried_when_never_sent() -> None:
    assert retry_delay("POST", None, {}, 0, POLICY, never_sent=True) is not None


def test_retry_after_is_honoured_and_attempts_are_bounded() -> None:
    assert retry_delay("GET", 429, {"Retry-After": "3"}, 0, POLICY) == 3.0
    assert retry_delay("GET", 503, {"Retry-After": "soon"}, 0, POLICY) <= 0.1
    assert retry_delay("GET", 429, {}, POLICY.max_attempts - 1, POLICY) is None


def test_backoff_grows_but_is_capped() -> None:
    delays = [max(retry_delay("GET", 500, {}, attempt, POLICY) for _ in range(200)) for attempt in range(4)]
    assert delays[0] <= 0.1 < delays[2] <= 1.0
    assert all(d <= POLICY.backoff_cap for d in delays)


def test_a_stale_kept_alive_connection_is_retried_once_at_once_for_reads_only() -> None:
    one_attempt = RetryPolicy(max_attempts=1)
    assert retry_delay("GET", None, {}, 0, one_attempt, stale=True) == 0.0
    assert retry_delay("GET", None, {}, 0, one_attempt) is None
    assert retry_delay("POST", None, {}, 0, POLICY, stale=True) is None
    assert retry_delay("GET", 503, {}, 0, one_attempt, stale=True) is None  # an answer came: not a dead connection


def test_default_retries_spread_over_the_budget() -> None:
    """Even the shortest waits of the default policy add up to most of half a minute, and the longest
    stay within the 60 s budget: a restarting apiserver is bridged."""
    policy = RetryPolicy()
    waits = [[retry_delay("GET", 503, {}, attempt, policy) for attempt in range(policy.max_attempts - 1)]
             for _ in range(200)]
    assert min(sum(w) for w in waits) >= 25  # type: ignore[arg-type]
    assert max(sum(w) for w in waits) <= policy.total_seconds  # type: ignore[arg-type]
    assert min(w[0] for w in waits) >= policy.backoff_base / 2  # type: ignore[type-var]


def test_token_bucket_allows_burst_then_qps() -> None:
    bucket = TokenBucket(qps=50, burst=5)
    started = time.monotonic()
    waits = [bucket.acquire() for _ in range(15)]
    assert time.monotonic() - started >= 0.19  # 10 tokens beyond the burst at 50/s = 0.2 s
    assert waits[:5] == [0.0] * 5  # the burst
    assert all(0 <= w <= 1 / 50 + 1e-6 for w in waits[5:])  # never more than one token's time, however slow the machine


def test_token_bucket_is_shared_safely_between_threads() -> None:
    bucket = TokenBucket(qps=100, burst=1)
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [bucket.acquire() for _ in range(10)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= 0.35  # 39 tokens at 100/s


def _response(code: int, body: bytes, reason: str = "") -> Response:
    return Response(code, content=body, reason=reason)


def test_status_body_becomes_typed_error() -> None:
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 422, "reason": "Invalid",
              "message": 'ConfigMap "x" is invalid', "details": {"causes": [
                  {"reason": "FieldValueInvalid", "field": "metadata.name", "message": "bad"}]}}
    import json

    error = errors.api_error_from_status(status_from_response(_response(422, json.dumps(status).encode())))
    assert isinstance(error, errors.Invalid)
    assert error.causes[0]["field"] == "metadata.name"
    assert "metadata.name: bad" in str(error)


@pytest.mark.parametrize(("code", "cls"), [(429, errors.TooManyRequests), (503, errors.ServerError),
                                            (401, errors.Unauthorized), (404, errors.NotFound),
                                            (410, errors.Gone), (504, errors.ServerTimeout)])
def test_plain_text_bodies_still_give_readable_typed_errors(code: int, cls: type) -> None:
    status = status_from_response(_response(code, b"Too many requests, please try again later.\n"))
    error = errors.api_error_from_status(status, method="GET", url="https://x/api")
    assert isinstance(error, cls)
    assert "Too many requests" in str(error) and "GET https://x/api" in str(error)


def test_html_body_is_summarised() -> None:
    status = status_from_response(_response(502, b"<html>\n<body>Login   required</body></html>" * 50, "Bad Gateway"))
    assert status["code"] == 502 and len(status["message"]) < 260


def test_already_exists_is_a_conflict_and_expired_is_gone() -> None:
    assert issubclass(errors.error_class_for(409, "AlreadyExists"), errors.Conflict)
    assert errors.error_class_for(410, "Expired") is errors.Gone is errors.Expired


def test_warning_header_parsing() -> None:
    header = '299 - "unknown field \\"spec.foo\\"", 299 - "v1beta1 Thing is deprecated"'
    assert parse_warning_header(header) == ['unknown field "spec.foo"', "v1beta1 Thing is deprecated"]


def test_no_secret_in_reprs_or_connection_errors() -> None:
    config = Config(server="https://127.0.0.1:1", credentials=StaticToken("s3cr3t-token"))
    transport = Transport(config, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(errors.TransportError) as caught:
        transport.request("GET", "/api")
    for text in (repr(config), str(caught.value), repr(caught.value)):
        assert "s3cr3t" not in text
    assert "127.0.0.1:1" in str(caught.value)



def test_a_cancel_scope_ends_retry_waits_and_later_requests() -> None:
    """Connection refused (port 1) is retried with long waits; cancelling from another thread ends
    the wait at once, and a cancelled scope lets no further request start."""
    transport = Transport(Config(server="https://127.0.0.1:1"),
                          retry=RetryPolicy(max_attempts=5, backoff_base=30, backoff_cap=30))
    scope = CancelScope()
    threading.Timer(0.2, scope.cancel).start()
    started = time.monotonic()
    with scope, pytest.raises(errors.TransportError, match="cancelled"):
        transport.request("GET", "/api")
    assert time.monotonic() - started < 5
    with scope, pytest.raises(errors.TransportError, match="cancelled"):
        transport.request("GET", "/api")
    with pytest.raises(errors.TransportError, match="Connection refused|refused"):  # outside the scope: sent
        Transport(Config(server="https://127.0.0.1:1"), retry=RetryPolicy(max_attempts=1)).request("GET", "/api")


def test_a_streamed_request_is_refused_by_send_before_any_request() -> None:
    transport = Transport(Config(server="https://127.0.0.1:1"), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(errors.InvalidInput, match="use Transport.stream"):
        transport.send(Request("GET", "/api/v1/pods", {"watch": "true"}, stream=True))
    assert transport._session is None  # nothing was sent: no session was even built
