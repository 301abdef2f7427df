"""Drive a ``dynkube.aio`` client from sync test code, so one test function runs against both clients.

``AsyncBridge(client, loop)`` answers like a ``dynkube.Client``: each call runs the aio client's
coroutine on ``loop`` (a thread of its own) and returns its result or raises its exception; async
iterators become iterators, an aio ``Watch`` becomes a watch with the sync one's methods, a
stream or port-forward being opened (awaitable) is awaited, and ``with`` on a bridged object is its
``async with``. The bridge only translates calls: every request is the aio client's own, over its
own transport.

``tools_for(client)`` gives the library's tools over a client of either kind with the sync tools'
face: for a ``dynkube.Client`` (or its resource clients) the sync ``Informer``, ``wait_for``,
``retry_on_conflict`` and ``apply_manifests``; for a bridged one, ``dynkube.aio``'s, driven on the
bridge's loop (a ``dynkube.aio.Informer`` behind ``BridgedInformer``).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import dynkube
import dynkube.aio
from dynkube.informer import Informer as SyncInformer

T = TypeVar("T")


class EventLoopThread:
    """An event loop running on a daemon thread until ``close()``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="aio-bridge", daemon=True)
        self._thread.start()

    def run(self, awaitable: Awaitable[Any], timeout: float = 300.0) -> Any:
        """The result of ``awaitable`` (a coroutine, or an object with ``__await__`` such as a
        stream being opened) awaited on the loop (its exception raised here)."""
        return asyncio.run_coroutine_threadsafe(_awaited(awaitable), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


class AsyncBridge:
    """A sync face over an object of ``dynkube.aio`` (a client, a resource client)."""

    def __init__(self, target: Any, runner: EventLoopThread) -> None:
        self._target = target
        self._runner = runner

    @property
    def target(self) -> Any:
        """The aio object behind the bridge."""
        return self._target

    @property
    def runner(self) -> EventLoopThread:
        """The loop the aio object runs on."""
        return self._runner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value) and not isinstance(value, type):
            return lambda *args, **kwargs: self._wrap(value(*args, **kwargs))
        return self._wrap(value)

    def __repr__(self) -> str:
        return f"AsyncBridge({self._target!r})"

    def __iter__(self) -> AsyncBridge:  # an async iterator with more to it (a LogStream): stepped on the loop
        if not hasattr(self._target, "__anext__"):
            raise TypeError(f"{self._target!r} is not an async iterator")
        return self

    def __next__(self) -> Any:
        try:
            return self._runner.run(self._target.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def __enter__(self) -> AsyncBridge:
        if hasattr(self._target, "__aenter__"):  # a stream or port-forward: its async with, entered
            self._wrap(self._target.__aenter__())
        return self

    def __exit__(self, *exc: object) -> None:
        if hasattr(self._target, "__aexit__"):
            self._wrap(self._target.__aexit__(*exc))
            return
        close = getattr(self._target, "close", None)
        if close is not None:
            self._wrap(close())

    def _wrap(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            value = self._runner.run(value)
        if isinstance(value, dynkube.aio.Watch):
            return BridgedWatch(value, self._runner)
        if type(value).__module__.startswith("dynkube.aio"):  # a client, resource client, discovery
            return AsyncBridge(value, self._runner)
        if isinstance(value, list) and value and isinstance(value[0], dynkube.aio.ResourceClient):
            return [AsyncBridge(v, self._runner) for v in value]
        if hasattr(value, "__anext__"):
            return BridgedIterator(value, self._runner)
        return value


def bridged(function: Any, runner: EventLoopThread) -> Any:
    """A sync face over a function of ``dynkube.aio`` (``dynkube.aio.logs``): bridged arguments
    are handed over as the aio objects behind them, and the answer is bridged back."""
    def call(*args: Any, **kwargs: Any) -> Any:
        unwrapped = [a.target if isinstance(a, AsyncBridge) else a for a in args]
        return AsyncBridge(None, runner)._wrap(function(*unwrapped, **kwargs))
    return call


class BridgedIterator(Iterator[Any]):
    """An async iterator, stepped on the loop."""

    def __init__(self, source: AsyncIterator[Any], runner: EventLoopThread) -> None:
        self._source = source
        self._runner = runner

    def __next__(self) -> Any:
        try:
            return self._runner.run(self._source.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            self._runner.run(aclose())


class BridgedWatch(BridgedIterator):
    """An aio ``Watch`` with the sync ``Watch``'s face: iterate, ``with``, ``stop()``."""

    def __init__(self, watch: dynkube.aio.Watch, runner: EventLoopThread) -> None:
        super().__init__(watch, runner)
        self.watch = watch

    def __enter__(self) -> BridgedWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stop(self) -> None:
        """Stop from any thread, as the sync watch allows."""
        self._runner.loop.call_soon_threadsafe(self.watch.stop)

    def close(self) -> None:
        self._runner.run(self.watch.aclose())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.watch, name)  # resource_version, stopped, what tests inspect


class BridgedInformer:
    """A ``dynkube.aio.Informer`` with the sync ``Informer``'s face: ``start()``/``stop()`` (and
    ``with``), ``wait_for_sync``, ``add_handler``/``remove_handler``; what needs no loop (``get``,
    ``list``, ``store``, ``has_synced``, ``last_error``, ``uses_watch_list``) is read directly. Handlers
    run in the informer's task, on the loop's thread."""

    def __init__(self, informer: dynkube.aio.Informer, runner: EventLoopThread) -> None:
        self.informer = informer
        self._runner = runner

    def __repr__(self) -> str:
        return f"BridgedInformer({self.informer!r})"

    def __enter__(self) -> BridgedInformer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_loop(self, call: Callable[[], T]) -> T:
        async def run() -> T:
            return call()
        return self._runner.run(run())  # type: ignore[no-any-return]

    def start(self) -> BridgedInformer:
        self._on_loop(self.informer.start)
        return self

    def stop(self) -> None:
        self._runner.run(self.informer.stop())

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        return self._runner.run(self.informer.wait_for_sync(timeout))  # type: ignore[no-any-return]

    def add_handler(self, on_add: Any = None, on_update: Any = None, on_delete: Any = None) -> Any:
        return self._on_loop(lambda: self.informer.add_handler(on_add, on_update, on_delete))

    def remove_handler(self, registration: Any) -> None:
        self._on_loop(lambda: self.informer.remove_handler(registration))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.informer, name)


class SyncTools:
    """The sync library's tools, for a ``dynkube.Client``."""

    Informer = SyncInformer
    wait_for = staticmethod(dynkube.wait_for)
    retry_on_conflict = staticmethod(dynkube.retry_on_conflict)
    apply_manifests = staticmethod(dynkube.apply_manifests)
    copy_from_pod = staticmethod(dynkube.copy_from_pod)
    copy_to_pod = staticmethod(dynkube.copy_to_pod)


class BridgedTools:
    """``dynkube.aio``'s tools with the sync ones' face, over bridged clients: each runs on the
    bridge's loop; a sync callable given to ``retry_on_conflict`` runs on a worker thread (its bridged
    calls need the loop free), awaited by ``dynkube.aio.retry_on_conflict``."""

    def __init__(self, runner: EventLoopThread) -> None:
        self._runner = runner

    def Informer(self, resource: AsyncBridge, *args: Any, **kwargs: Any) -> BridgedInformer:
        return BridgedInformer(dynkube.aio.Informer(resource.target, *args, **kwargs), self._runner)

    def wait_for(self, resource: AsyncBridge, *args: Any, **kwargs: Any) -> Any:
        return self._runner.run(dynkube.aio.wait_for(resource.target, *args, **kwargs))

    def retry_on_conflict(self, fn: Callable[[], T], **kwargs: Any) -> T:
        return self._runner.run(  # type: ignore[no-any-return]
            dynkube.aio.retry_on_conflict(lambda: asyncio.to_thread(fn), **kwargs))

    def apply_manifests(self, client: AsyncBridge, *args: Any, **kwargs: Any) -> Any:
        return self._runner.run(dynkube.aio.apply_manifests(client.target, *args, **kwargs))

    def copy_from_pod(self, client: AsyncBridge, *args: Any, **kwargs: Any) -> Any:
        return self._runner.run(dynkube.aio.copy_from_pod(client.target, *args, **kwargs))

    def copy_to_pod(self, client: AsyncBridge, *args: Any, **kwargs: Any) -> Any:
        return self._runner.run(dynkube.aio.copy_to_pod(client.target, *args, **kwargs))


def tools_for(client: Any) -> SyncTools | BridgedTools:
    """The tools matching ``client`` (a client or a resource client, sync or bridged)."""
    if isinstance(client, AsyncBridge):
        return BridgedTools(client.runner)
    return SyncTools()
