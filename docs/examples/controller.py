#!/usr/bin/env python3
"""A small controller: keep a copy of every ConfigMap labelled ``dynkube.io/replicate=true`` of
one namespace in another namespace, and remove copies whose source is gone.

    python docs/examples/controller.py --source apps --target backup [--kubeconfig PATH]

The shape is client-go's: an informer keeps a local cache and calls handlers; the handlers only
put keys on a queue; one worker takes keys off the queue and reconciles each from the cache
(level-triggered: it looks at the state now, not at the event). Ctrl-C or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import logging
import queue
import signal
import threading
from typing import Any

import dynkube
from dynkube.informer import DeletedFinalStateUnknown, Informer, object_key

LABEL = "dynkube.io/replicate"
MANAGER = "replicator-example"

log = logging.getLogger("replicator")


class KeyQueue:
    """A queue that holds each key once, however often it is added before being taken."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._queued: set[str] = set()
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        with self._lock:
            if key in self._queued:
                return
            self._queued.add(key)
        self._queue.put(key)

    def get(self) -> str | None:
        """The next key, or None once ``close()`` was called."""
        key = self._queue.get()
        with self._lock:
            self._queued.discard(key)  # type: ignore[arg-type]
        return key

    def close(self) -> None:
        self._queue.put(None)


class Replicator:
    """Copies labelled ConfigMaps from ``source`` to ``target``."""

    def __init__(self, client: dynkube.Client, source: str, target: str) -> None:
        self.configmaps = client.resource("configmaps")
        self.target = target
        self.queue = KeyQueue()
        self.informer = Informer(self.configmaps, source, label_selector={LABEL: "true"}, resync_period=60)
        self.informer.add_handler(on_add=self.on_add, on_update=self.on_update, on_delete=self.on_delete)

    # Handlers run on the informer's handler thread: keep them short, just queue the key.
    def on_add(self, obj: dynkube.ApiObject, is_initial: bool) -> None:
        self.queue.add(object_key(obj))

    def on_update(self, old: dynkube.ApiObject, new: dynkube.ApiObject) -> None:
        self.queue.add(object_key(new))

    def on_delete(self, obj: dynkube.ApiObject | DeletedFinalStateUnknown) -> None:
        # A tombstone says the object was deleted while the watch was down; its key is all we need.
        self.queue.add(obj.key if isinstance(obj, DeletedFinalStateUnknown) else object_key(obj))

    def reconcile(self, key: str) -> None:
        """Make the copy of ``key`` match the cache: present and equal, or absent."""
        name = key.split("/", 1)[1]
        source = self.informer.store.get(key)
        if source is None:
            try:
                self.configmaps.delete(name, self.target)
                log.info("deleted copy %s/%s", self.target, name)
            except dynkube.NotFound:
                pass
            return
        copy: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": name, "namespace": self.target,
                                             "annotations": {"dynkube.io/copied-from": key}},
                                "data": source.get("data") or {}}
        self.configmaps.apply(copy, field_manager=MANAGER, force=True)
        log.info("applied copy %s/%s", self.target, name)

    def run(self, stop: threading.Event) -> None:
        """Reconcile queued keys until ``stop`` is set."""
        worker = threading.Thread(target=self._work, name="replicator-worker")
        with self.informer:
            if not self.informer.wait_for_sync(60):
                raise SystemExit(f"the cache did not sync: {self.informer.last_error}")
            log.info("synced %d source objects", len(self.informer.store))
            worker.start()
            stop.wait()
            self.queue.close()
            worker.join()

    def _work(self) -> None:
        while (key := self.queue.get()) is not None:
            try:
                self.reconcile(key)
            except dynkube.DynkubeError as exc:  # log, and try again a bit later
                log.warning("reconciling %s failed: %s; retrying", key, exc)
                threading.Timer(1.0, self.queue.add, args=(key,)).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="namespace to copy from")
    parser.add_argument("--target", required=True, help="namespace to copy into")
    parser.add_argument("--kubeconfig", help="default: $KUBECONFIG, ~/.kube/config, else in-cluster")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with dynkube.Client(kubeconfig=args.kubeconfig) as client:
        Replicator(client, args.source, args.target).run(stop)
    log.info("stopped")


if __name__ == "__main__":
    main()
