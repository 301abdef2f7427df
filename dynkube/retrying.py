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
    for attempt in range(attempts):
        try:
            return fn()
        except AlreadyExists:
            raise
        except Conflict:
            if attempt + 1 == attempts:
                raise
            time.sleep(delay * (1 + random.uniform(0, jitter)))
    raise AssertionError("unreachable")
