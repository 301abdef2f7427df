"""Helpers for watch and informer tests: waiting for a condition, recording handler calls, and
writing random changes whose resourceVersions can be checked afterwards."""

from __future__ import annotations

import collections
import itertools
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import dynkube
from dynkube.informer import DeletedFinalStateUnknown, Informer, object_key

LABELS = {"dynkube-test": "watch"}  # everything the tests write carries it; informers select on it
SELECTOR = "dynkube-test=watch"

Change = tuple[str, "str | None"]  # (key, resourceVersion written; None for a delete)


def wait_for(condition: Callable[[], object], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def labelled(name: str, **data: str) -> dict[str, Any]:
    """A config map body carrying the test label."""
    return {"metadata": {"name": name, "labels": dict(LABELS)}, "data": data}


class Recorder:
    """Handlers that log every notification and can replay them into a model of the collection.

    Log entries: ("add", key, rv, is_initial), ("update", key, rv, is_resync), ("delete", key, None, is_tombstone).
    """

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def on_add(self, obj: dynkube.ApiObject, is_initial: bool) -> None:
        with self._lock:
            self.log.append(("add", object_key(obj), obj.metadata.resourceVersion, is_initial))

    def on_update(self, old: dynkube.ApiObject, new: dynkube.ApiObject) -> None:
        with self._lock:
            self.log.append(("update", object_key(new), new.metadata.resourceVersion, old is new))

    def on_delete(self, obj: Any) -> None:
        tombstone = isinstance(obj, DeletedFinalStateUnknown)
        with self._lock:
            self.log.append(("delete", obj.key if tombstone else object_key(obj), None, tombstone))

    def handlers(self) -> dict[str, Callable[..., None]]:
        return {"on_add": self.on_add, "on_update": self.on_update, "on_delete": self.on_delete}

    def entries(self, kind: str | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return [entry for entry in self.log if kind is None or entry[0] == kind]

    def model(self) -> dict[str, str]:
        """key -> resourceVersion, as the handlers were told."""
        state: dict[str, str] = {}
        for kind, key, version, _ in self.entries():
            if kind == "delete":
                state.pop(key, None)
            else:
                state[key] = version
        return state


def server_state(resource: dynkube.ResourceClient, namespace: str) -> dict[str, str]:
    """key -> resourceVersion of the labelled objects, from a fresh list."""
    return {object_key(o): o.metadata.resourceVersion for o in resource.list(namespace, label_selector=SELECTOR)}


def store_state(informer: Informer) -> dict[str, str]:
    return {object_key(o): o.metadata.resourceVersion for o in informer.list()}


def converged(informer: Informer, recorder: Recorder, resource: dynkube.ResourceClient, namespace: str) -> bool:
    """The store and the handlers' model both equal a fresh list."""
    expected = server_state(resource, namespace)
    return store_state(informer) == expected and recorder.model() == expected


def random_changes(resource: dynkube.ResourceClient, namespace: str, writer_id: int, changes: int,
                   done: list[Change], payload: int = 0, until: Callable[[], object] | None = None,
                   limit: float = 60) -> None:
    """Create, update and delete objects of this writer's own names, ``changes`` times, appending
    each to ``done``; ``payload`` adds that many random hex characters to each object. With
    ``until``, keep writing past ``changes`` until it is true (for at most ``limit`` seconds)."""
    rng = random.Random(writer_id)
    alive: set[str] = set()
    deadline = time.monotonic() + limit
    for step in itertools.count():
        if step >= changes and (until is None or until() or time.monotonic() > deadline):
            return
        name = f"w{writer_id}-{rng.randrange(12)}"
        data = {"step": str(step), "payload": rng.randbytes(payload // 2).hex()}
        if name not in alive:
            obj = resource.create(labelled(name, **data), namespace=namespace)
            alive.add(name)
        elif rng.random() < 0.25:
            resource.delete(name, namespace=namespace)
            alive.discard(name)
            done.append((f"{namespace}/{name}", None))
            continue
        else:
            obj = resource.patch(name, {"data": data}, namespace=namespace)
        done.append((f"{namespace}/{name}", obj.metadata.resourceVersion))


def run_writers(resource: dynkube.ResourceClient, namespace: str, writers: int, changes_each: int,
                payload: int = 0, until: Callable[[], object] | None = None) -> list[Change]:
    """``writers`` threads of ``random_changes``; returns every change made. With ``until``, each
    writer goes on past ``changes_each`` until it is true (bounded): make an event certain to
    happen during the writes, whatever the machine's speed."""
    done: list[Change] = []
    threads = [threading.Thread(target=random_changes, args=(resource, namespace, i, changes_each, done, payload,
                                                             until))
               for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done


def assert_seen_once_each(recorder: Recorder, done: list[Change]) -> None:
    """Every change was notified exactly once: adds/updates by resourceVersion, deletes by count."""
    notified = collections.Counter((key, version) for kind, key, version, _ in recorder.entries() if kind != "delete")
    wrong = [(w, notified[w]) for w in done if w[1] is not None and notified[w] != 1]
    assert not wrong, f"changes missed or delivered twice: {wrong[:5]}"
    deletes = collections.Counter(key for _, key, _, _ in recorder.entries("delete"))
    assert deletes == collections.Counter(key for key, version in done if version is None)
