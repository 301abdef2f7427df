"""What only the asyncio client has: cancellation, its event loop, concurrency, and sharing the
caches with the sync client. (Every verb, list, watch and error is tested against both clients
through the ``each_client`` and ``open_client`` fixtures.)"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

import dynkube
import dynkube.aio
import dynkube.config
from dynkube.credentials import ClientCertificateCredentials

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(main())  # type: ignore[arg-type]


def open_sockets() -> int:
    """The sockets this process has open now."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue
    return count


async def settled_sockets(expected: int, *, limit: float = 10.0) -> int:
    """The open socket count once it is at most ``expected`` (closing is finished by the loop), or
    after ``limit`` s. At most: a socket of an earlier test may close meanwhile, never open."""
    deadline = time.monotonic() + limit
    while open_sockets() > expected and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return open_sockets()


def test_verbs_lists_and_watches_read_as_asyncio_code(kubeconfig_path: Path, namespace: str, cache_root: Path) -> None:
    async def main() -> list[str]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=cache_root) as client:
            configmaps = await client.resource("configmaps")
            made = await configmaps.create({"metadata": {"name": "a", "labels": {"app": "t"}}, "data": {"k": "1"}})
            seen = [cm.metadata.name async for cm in configmaps.list(label_selector="app=t")]
            start = made.metadata.resourceVersion
            async with configmaps.watch(label_selector="app=t", resource_version=start) as watch:
                await configmaps.patch("a", {"data": {"k": "2"}})
                async for event in watch:
                    seen.append(f"{event.type.value} {event.object.data.k}")
                    break
            return seen

    assert run(main) == ["a", "MODIFIED 2"]


def test_cancelling_a_watch_closes_its_connection(kubeconfig_path: Path, namespace: str) -> None:
    async def main() -> list[tuple[int, int, bool]]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False) as client:
            configmaps = await client.resource("configmaps")
            outcomes = []
            for ending in ("asyncio.timeout", "task.cancel"):
                await configmaps.list_page(limit=1)  # a pooled connection, which the watch takes
                before = open_sockets()
                watch = configmaps.watch(label_selector="never=matched", resume=True)
                if ending == "task.cancel":
                    task = asyncio.ensure_future(_drain(watch))
                    while watch._response is None and not task.done():  # connected; idle: no event comes
                        await asyncio.sleep(0.02)
                    stream = watch._response
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await task
                else:  # the watch in this task, under a deadline
                    with pytest.raises(TimeoutError):
                        async with asyncio.timeout(1.0):
                            async for _ in watch:
                                pass
                    stream = None
                outcomes.append((before, await settled_sockets(before - 1), stream is None or stream.closed))
            return outcomes

    for before, after, closed in run(main):
        assert closed, "the watch's answer was not closed"
        assert after <= before - 1, "the watch's connection stayed open"


async def _drain(source: Any) -> None:
    async for _ in source:
        pass


def test_closing_the_client_closes_every_connection(kubeconfig_path: Path, namespace: str) -> None:
    async def main() -> tuple[int, int, int]:
        baseline = open_sockets()
        client = dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False, qps=None)
        configmaps = await client.resource("configmaps")
        await asyncio.gather(*(configmaps.list_page(limit=1) for _ in range(20)))
        busy = open_sockets()
        await client.close()
        return baseline, busy, await settled_sockets(baseline)

    baseline, busy, closed = run(main)
    assert busy > baseline + 1, "concurrent requests should have used several connections"
    assert closed <= baseline


def test_a_hundred_concurrent_gets(kubeconfig_path: Path, namespace: str, client: dynkube.Client) -> None:
    client.resource("configmaps").create({"metadata": {"name": "shared"}, "data": {"k": "v"}}, namespace)

    async def main() -> set[str]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False,
                                      qps=None) as aio:
            configmaps = await aio.resource("configmaps")
            answers = await asyncio.gather(*(configmaps.get("shared") for _ in range(100)))
            return {answer.data.k for answer in answers}

    assert run(main) == {"v"}


def test_a_list_holds_one_page_at_a_time(kubeconfig_path: Path, namespace: str, client: dynkube.Client) -> None:
    for name in ("a", "b", "c"):
        client.resource("configmaps").create({"metadata": {"name": name, "labels": {"paged": "yes"}}}, namespace)

    def pages_alive() -> int:
        """The pages of this namespace's ConfigMaps that are still in memory (``type``, not
        ``isinstance``: that would raise ReferenceError on a dead weak proxy among the objects)."""
        return sum(1 for o in gc.get_objects() if issubclass(type(o), dynkube.ApiList)
                   and any(item.metadata.get("namespace") == namespace for item in o.items))

    async def main() -> tuple[list[str], list[int]]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False) as aio:
            configmaps = await aio.resource("configmaps")
            send, alive_at_each_request = aio.transport.send, []

            async def observed(*args: Any, **kwargs: Any) -> Any:
                alive_at_each_request.append(pages_alive())
                return await send(*args, **kwargs)

            aio.transport.send = observed  # type: ignore[method-assign]
            names = [cm.metadata.name async for cm in configmaps.list(label_selector="paged=yes", limit=1)]
            return names, alive_at_each_request

    names, alive = run(main)
    assert names == ["a", "b", "c"]
    assert len(alive) >= 3 and not any(alive), f"pages still held at each request: {alive}"


def test_a_client_belongs_to_the_event_loop_that_first_used_it(kubeconfig_path: Path) -> None:
    client = dynkube.aio.Client(kubeconfig=kubeconfig_path, cache_dir=False)
    assert run(client.version).major == "1"
    with pytest.raises(dynkube.InvalidInput, match="another event loop"):
        run(client.version)


def test_sync_and_async_clients_share_the_discovery_cache(kubeconfig_path: Path, tmp_path: Path) -> None:
    from dynkube.discovery import clear_memory_cache

    clear_memory_cache()

    async def learn() -> int:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, cache_dir=tmp_path) as aio:
            await aio.resource("deployments")
            return aio.discovery.stats["requests"]

    assert run(learn) == 2  # aggregated discovery: /api and /apis
    clear_memory_cache()  # the sync client finds it on disk, not in this process's memory
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=tmp_path) as sync:
        assert sync.resource("deployments").kind == "Deployment"
        assert sync.discovery.stats["requests"] == 0


def test_raw_request_lines_arrive_as_an_async_iterator(kubeconfig_path: Path) -> None:
    async def main() -> list[str]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, cache_dir=False) as client:
            lines = await client.request("GET", "/readyz", params={"verbose": "1"}, accept="lines")
            return [line async for line in lines]

    lines = run(main)
    assert lines[-1].strip() == "readyz check passed"
    assert any(line.startswith("[+]ping ok") for line in lines)


def test_wait_for_and_retry_on_conflict_awaited(kubeconfig_path: Path, namespace: str) -> None:
    async def main() -> tuple[str, Any, str, int]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False) as client:
            configmaps = await client.resource("configmaps")

            async def create_later() -> None:
                await asyncio.sleep(0.3)
                await configmaps.create({"metadata": {"name": "later"}, "data": {"n": "0"}})

            creating = asyncio.ensure_future(create_later())
            made = await dynkube.aio.wait_for(configmaps, "later", condition="jsonpath={.data.n}=0", timeout=30)
            await creating
            calls = 0

            async def bump() -> Any:  # the first write uses a stale resourceVersion: Conflict, then a re-read
                nonlocal calls
                calls += 1
                current = await configmaps.get("later")
                if calls == 1:
                    await configmaps.patch("later", {"data": {"n": "other"}})
                return await configmaps.replace({**current.to_dict(), "data": {"n": str(calls)}})

            bumped = await dynkube.aio.retry_on_conflict(bump)
            await configmaps.delete("later")
            gone = await dynkube.aio.wait_for(configmaps, "later", condition="delete", timeout=30)
            with pytest.raises(dynkube.WaitTimeout, match="configmaps/never"):
                await dynkube.aio.wait_for(configmaps, "never", condition="create", timeout=0.5)
            return made.metadata.name, gone, bumped.data.n, calls

    name, gone, value, calls = run(main)
    assert (name, gone, value, calls) == ("later", None, "2", 2)


def test_apply_manifests_awaited(kubeconfig_path: Path, namespace: str) -> None:
    manifest = f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: first, namespace: {namespace}}}
---
apiVersion: v1
kind: NoSuchKind
metadata: {{name: x}}
"""

    async def main() -> list[str]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, cache_dir=False) as client:
            results = await dynkube.aio.apply_manifests(client, manifest)
            assert (await (await client.resource("configmaps")).get("first", namespace)).metadata.name == "first"
            return [f"{r.ok} {r.document.body['kind']}" for r in results]

    assert run(main) == ["True ConfigMap", "False NoSuchKind"]


def test_credentials_that_cannot_block_are_read_on_the_loop(kubeconfig_path: Path) -> None:
    """A client certificate in memory (or a static token) needs no worker thread; a token file or an
    exec plugin would get one (dynkube.credentials.may_block)."""
    config = dynkube.config.load_kubeconfig(kubeconfig_path)
    pair = config.credentials.client_certificate()
    assert pair is not None, "the control plane's kubeconfig (envtest's admin context) has a client certificate"
    readers: list[int] = []

    class Recorded(ClientCertificateCredentials):
        def client_certificate(self) -> tuple[bytes, bytes] | None:
            readers.append(threading.get_ident())
            return super().client_certificate()

    async def main() -> int:
        credentials = Recorded(*pair, source="the test")
        async with dynkube.aio.Client(config.replace(credentials=credentials), cache_dir=False) as client:
            await client.version()
            await client.version()
        return threading.get_ident()

    loop_thread = run(main)
    assert readers and set(readers) == {loop_thread}


def test_async_for_ends_at_the_first_step_after_stop(kubeconfig_path: Path, namespace: str,
                                                     client: dynkube.Client) -> None:
    """Events already read (several arrive in one chunk) are not handed out after stop(), and the
    resume point stays at the last event handed out."""
    configmaps = client.resource("configmaps")
    start = configmaps.list_page(namespace).resource_version
    for name in ("a", "b", "c", "d"):
        configmaps.create({"metadata": {"name": name, "labels": {"stopped": "yes"}}}, namespace)

    async def main() -> tuple[list[str], str | None, str]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False) as aio:
            watch = (await aio.resource("configmaps")).watch(resource_version=start, label_selector="stopped=yes")
            seen = []
            async for event in watch:
                seen.append(event.object.metadata.name)
                first_version = event.object.metadata.resourceVersion
                watch.stop()
            return seen, watch.resource_version, first_version

    seen, resume_point, first_version = run(main)
    assert seen == ["a"] and resume_point == first_version
