"""Retrying a read-modify-write on conflict, as client-go's retry.RetryOnConflict (``retry_on_conflict``)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import AlreadyExists, Conflict

T = TypeVar("T")


def retry_on_conflict(fn: Callable[[], T], *, attempts: int = 5, delay: float = 0.01, jitter: float = 0.1) -> T:
    """Call ``fn`` until it does not raise ``Conflict`` (at most ``attempts`` times), as client-go's
    DefaultRetry: 5 steps, 10 ms apart, 10 % jitter. ``fn`` should re-read the object each time.

    ``AlreadyExists`` is a Conflict subclass but never retried: retrying a create cannot succeed.
    """
    for wait in conflict_waits(attempts, delay, jitter):
        try:
            return fn()
        except AlreadyExists:
            raise
        except Conflict:
            if wait is None:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")


def conflict_waits(attempts: int, delay: float, jitter: float) -> list[float | None]:
    """The pause after each attempt that hits a Conflict (None after the last: give up), client-go's
    DefaultRetry shape. Shared by ``retry_on_conflict`` and ``dynkube.aio.retry_on_conflict``."""
    return [delay * (1 + random.uniform(0, jitter)) for _ in range(attempts - 1)] + [None]
