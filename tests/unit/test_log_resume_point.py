"""Where a followed log resumes (dynkube.core.logstream), without a server: the resumed request, and
which lines of the resumed connection were delivered already."""

from __future__ import annotations

import pytest

from dynkube.core.http import Request
from dynkube.core.logstream import LogResumePoint, split_timestamp, timestamp_ns

FIRST = Request("GET", "/api/v1/namespaces/ns1/pods/p/log",
                {"container": "c", "follow": "true", "timestamps": "true", "tailLines": 3, "sinceSeconds": 60},
                stream=True)
T1, T2, T3 = "2024-05-01T12:00:01.000000000Z", "2024-05-01T12:00:02.500000000Z", "2024-05-01T12:00:03.000000000Z"


def replayed(point: LogResumePoint, stamps: list[str]) -> list[str]:
    """The stamps of a resumed connection that are new (delivered now)."""
    point.request(FIRST)
    new = []
    for stamp in stamps:
        if not point.already_delivered(stamp):
            point.delivered(stamp)
            new.append(stamp)
    return new


def test_a_line_splits_into_its_timestamp_and_text() -> None:
    assert split_timestamp(f"{T1} hello world\n") == (T1, "hello world\n")
    assert split_timestamp("hello world\n") == ("", "hello world\n")
    assert split_timestamp("2024-05-01 hello\n") == ("", "2024-05-01 hello\n")


def test_timestamps_compare_in_nanoseconds_across_offsets_and_fractions() -> None:
    assert timestamp_ns("1970-01-01T00:00:01Z") == 1_000_000_000
    assert timestamp_ns("1970-01-01T00:00:00.000000001Z") == 1
    assert timestamp_ns("1970-01-01T02:00:01.5+02:00") == 1_500_000_000
    with pytest.raises(ValueError):
        timestamp_ns("yesterday")


def test_before_any_line_the_first_request_is_sent_again() -> None:
    assert LogResumePoint().request(FIRST) is FIRST


def test_the_resumed_request_starts_at_the_last_timestamp_without_tail_or_since() -> None:
    point = LogResumePoint()
    point.delivered(T1)
    point.delivered(T2)
    request = point.request(FIRST)
    assert request.params == {"container": "c", "follow": "true", "timestamps": "true", "sinceTime": T2}
    assert (request.method, request.path, request.stream) == (FIRST.method, FIRST.path, True)


def test_lines_the_server_sends_again_are_skipped_once() -> None:
    point = LogResumePoint()
    for stamp in (T1, T2):
        point.delivered(stamp)
    # the server answers from the start of T2's second: T1's second is not sent, T2 is, then new lines
    assert replayed(point, [T2, T3]) == [T3]


def test_lines_sharing_the_last_timestamp_are_told_apart_by_count() -> None:
    point = LogResumePoint()
    for stamp in (T1, T2, T2):
        point.delivered(stamp)
    assert replayed(point, [T1, T2, T2, T2, T3]) == [T2, T3]  # the third line at T2 is new


def test_after_the_first_new_line_nothing_more_is_skipped() -> None:
    point = LogResumePoint()
    point.delivered(T2)
    assert replayed(point, [T2, T3, T2]) == [T3, T2]  # a clock step back on the node is still delivered


def test_a_second_break_resumes_from_the_newest_line() -> None:
    point = LogResumePoint()
    point.delivered(T1)
    assert replayed(point, [T1, T2]) == [T2]
    assert point.request(FIRST).params["sinceTime"] == T2
    assert replayed(point, [T2, T3]) == [T3]
