"""What only the asyncio informer has, against the real server: coroutine handlers, awaited in the
order of the changes (``wait_for_sync`` also waits for a late one to catch up), and stopping ends its
tasks. Everything the two informers share (the store, handlers, indexes, resync, faults) is tested
against both in test_informer.py and tests/faults."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any


import dynkube
import dynkube.aio

LABELLED = {"app": "aio-informer"}


async def until(condition: Any, what: str, limit: float = 30.0) -> None:
    """Wait (bounded) until ``condition()`` holds."""
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.02)


def test_coroutine_handlers_are_awaited_in_the_order_of_the_changes(kubeconfig_path: Path, namespace: str) -> None:
    heard: list[str] = []

    async def on_update(old: Any, new: Any) -> None:  # a coroutine handler is awaited in order
        await asyncio.sleep(0)
        heard.append(f"update {new.metadata.name} {new.data.step}")

    async def main() -> tuple[list[str], list[str]]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False) as client:
            configmaps = await client.resource("configmaps")
            await configmaps.create({"metadata": {"name": "before", "labels": LABELLED}, "data": {"step": "0"}})
            informer = dynkube.aio.Informer(configmaps, label_selector=LABELLED)
            informer.add_handler(on_add=lambda obj, initial: heard.append(f"add {obj.metadata.name} {initial}"),
                                 on_update=on_update,
                                 on_delete=lambda obj: heard.append(f"delete {obj.metadata.name}"))
            async with informer:
                assert await informer.wait_for_sync(30), informer.last_error
                await configmaps.create({"metadata": {"name": "after", "labels": LABELLED}, "data": {"step": "1"}})
                await configmaps.patch("after", {"data": {"step": "2"}})
                await configmaps.delete("before")
                await until(lambda: heard[-1:] == ["delete before"], "the delete to be heard")
                names = sorted(obj.metadata.name for obj in informer.list())
            return names, heard

    names, told = asyncio.run(main())
    assert names == ["after"]
    assert told == ["add before True", "add after False", "update after 2", "delete before"]


def test_wait_for_sync_waits_for_a_late_coroutine_handler_to_catch_up(kubeconfig_path: Path, namespace: str) -> None:
    async def main() -> tuple[bool, bool, list[str]]:
        heard: list[str] = []

        async def slow_add(obj: Any, initial: bool) -> None:  # each stored object takes a while to hear
            await asyncio.sleep(0.05)
            heard.append(obj.metadata.name)

        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False) as client:
            configmaps = await client.resource("configmaps")
            for name in ("one", "two", "three"):
                await configmaps.create({"metadata": {"name": name, "labels": LABELLED}})
            async with dynkube.aio.Informer(configmaps, label_selector=LABELLED) as informer:
                assert await informer.wait_for_sync(30), informer.last_error
                late = informer.add_handler(on_add=slow_add)
                caught_up_at_once = late.has_synced()
                assert await informer.wait_for_sync(30)
                return caught_up_at_once, late.has_synced(), sorted(heard)

    assert asyncio.run(main()) == (False, True, ["one", "three", "two"])


def test_stopping_ends_its_tasks_and_closes_its_watch(kubeconfig_path: Path, namespace: str) -> None:
    async def main() -> tuple[bool, int]:
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False) as client:
            informer = dynkube.aio.Informer(await client.resource("configmaps"), resync_period=0.05)
            informer.start()
            assert await informer.wait_for_sync(30)
            await informer.stop()
            running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            return all(task.done() for task in informer._tasks), len(running)

    done, others = asyncio.run(main())
    assert done and others == 0
