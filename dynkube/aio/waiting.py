"""Waiting and retrying for the asyncio client: ``wait_for`` and ``retry_on_conflict``, awaited.

The decisions are the sync ones' (``dynkube.waiting.Waiter``, ``dynkube.retrying.conflict_waits``);
only the loops that look, pause and call again are written here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..errors import AlreadyExists, Conflict, NotFound
from ..objects import ApiObject
from ..retrying import conflict_waits
from ..waiting import Waiter
from .client import ResourceClient

T = TypeVar("T")


async def wait_for(resource: ResourceClient, name: str, namespace: str | None = None, *,
                   condition: str | Callable[[ApiObject], bool], timeout: float = 60.0,
                   interval: float = 0.2, uid: str | None = None) -> ApiObject | None:
    """``dynkube.wait_for``, awaited: poll ``name`` until ``condition`` holds (the same conditions:
    a condition type, ``condition=TYPE=STATUS``, ``jsonpath={...}=VALUE``, ``create``, ``delete``);
    returns the object (None when waiting for deletion); ``WaitTimeout`` when the time runs out."""
    waiter = Waiter(resource.plural, name, condition, timeout=timeout, interval=interval, uid=uid,
                    now=time.monotonic())
    while True:
        try:
            seen: ApiObject | None = await resource.get(name, namespace)
        except NotFound:
            seen = None
        if waiter.met(seen):
            return waiter.result
        await asyncio.sleep(waiter.pause(time.monotonic()))


async def retry_on_conflict(fn: Callable[[], Awaitable[T]], *, attempts: int = 5, delay: float = 0.01,
                            jitter: float = 0.1) -> T:
    """``dynkube.retry_on_conflict``, awaited: await ``fn()`` until it does not raise ``Conflict`` (at
    most ``attempts`` times; ``AlreadyExists`` is never retried). ``fn`` should re-read the object."""
    for wait in conflict_waits(attempts, delay, jitter):
        try:
            return await fn()
        except AlreadyExists:
            raise
        except Conflict:
            if wait is None:
                raise
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")
