"""The reader's side of a merge of several follows (dynkube.core.logstream.MergedFollows), shared by
the threads and the asyncio LogStream: lines handed out, ends counted, errors raised or kept."""

from __future__ import annotations

import logging

import pytest

from dynkube.core.logstream import MergedFollows


def test_lines_are_handed_out_and_the_merge_runs_until_every_follow_ended() -> None:
    merge = MergedFollows(2, ignore_errors=False, errors=[])
    assert merge.arrival("line", "a") == "a"
    assert merge.arrival("end", None) is None and merge.running == 1
    assert merge.arrival("line", "b") == "b"
    assert merge.arrival("end", None) is None and merge.running == 0


def test_an_error_is_raised_and_not_kept() -> None:
    errors: list[tuple[object, Exception]] = []
    merge = MergedFollows(2, ignore_errors=False, errors=errors)
    with pytest.raises(ConnectionError, match="gone"):
        merge.arrival("error", ("pod/a", ConnectionError("gone")))
    assert errors == [] and merge.running == 2


def test_with_ignore_errors_an_error_is_logged_and_kept_and_its_end_still_counts(
        caplog: pytest.LogCaptureFixture) -> None:
    errors: list[tuple[object, Exception]] = []
    merge = MergedFollows(2, ignore_errors=True, errors=errors)
    failure = ConnectionError("gone")
    with caplog.at_level(logging.WARNING, logger="dynkube.core.logstream"):
        assert merge.arrival("error", ("pod/a", failure)) is None
    assert errors == [("pod/a", failure)]
    assert "logs of pod/a: gone" in caplog.text
    assert merge.arrival("end", None) is None and merge.running == 1
