#!/usr/bin/env python3
"""Record real watch streams from the test cluster into fixtures/watch/ for the decoder's unit tests.

    .venv/bin/python scripts/record_watch.py [--kubeconfig PATH]

Writes, for each stream, ``NAME.stream`` (the response body bytes, as received) and
``NAME.chunks.json`` (the sizes of the pieces they arrived in):
- ``configmaps``: a streaming list (initial ADDED events, the initial-events-end bookmark) of a fresh
  namespace, then create / update / delete of config maps whose data holds multi-byte UTF-8;
- ``gone``: a watch of a just-created custom resource from resourceVersion "1" (an ERROR 410 event).
Everything the script creates is deleted again. Never edit the outputs by hand; run this again.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import threading
import time
import uuid
from pathlib import Path

import dynkube

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "watch"
UNICODE = "héllo wörld ✓ 日本語 🚀"

log = logging.getLogger("record_watch")


class Recorder:
    """Reads one watch response in a thread, keeping every piece of the body as it arrives."""

    def __init__(self, client: dynkube.Client, path: str, params: dict[str, str]) -> None:
        self.chunks: list[bytes] = []
        self._response = client.transport.request("GET", path, params=params, stream=True, rate_limited=False,
                                                  timeout=(10, 60))
        self._thread = threading.Thread(target=self._read)
        self._thread.start()

    def _read(self) -> None:
        for chunk in self._response.iter_content(1 << 20):
            self.chunks.append(chunk)

    def text(self) -> str:
        return b"".join(self.chunks).decode()

    def wait_for(self, needle: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{needle!r} never appeared in the stream")
            time.sleep(0.05)

    def finish(self) -> None:
        self._thread.join()

    def save(self, name: str) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{name}.stream").write_bytes(b"".join(self.chunks))
        (OUT / f"{name}.chunks.json").write_text(json.dumps([len(c) for c in self.chunks]) + "\n")
        log.info("wrote %s.stream: %d bytes in %d pieces", name, sum(map(len, self.chunks)), len(self.chunks))


def record_configmaps(client: dynkube.Client) -> None:
    namespaces, cms = client.resource("namespaces"), client.resource("configmaps")
    ns = f"record-watch-{uuid.uuid4().hex[:6]}"
    namespaces.create({"metadata": {"name": ns}})
    try:
        for i in range(3):
            cms.create({"metadata": {"name": f"before-{i}"}, "data": {"text": UNICODE * (i + 1)}}, namespace=ns)
        recorder = Recorder(client, cms.resource.path(ns), {
            "watch": "true", "allowWatchBookmarks": "true", "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan", "timeoutSeconds": "5"})
        recorder.wait_for("k8s.io/initial-events-end")
        cms.create({"metadata": {"name": "during"}, "data": {"text": UNICODE}}, namespace=ns)
        cms.patch("during", {"data": {"more": UNICODE * 40}}, namespace=ns)
        cms.delete("during", namespace=ns)
        cms.delete("before-0", namespace=ns)
        recorder.finish()  # the server ends the stream after timeoutSeconds
        recorder.save("configmaps")
    finally:
        namespaces.delete(ns)


def record_gone(client: dynkube.Client) -> None:
    crds = client.resource("customresourcedefinitions")
    group = f"rec{uuid.uuid4().hex[:6]}.example.com"
    crds.create({"metadata": {"name": f"gadgets.{group}"}, "spec": {
        "group": group, "scope": "Namespaced", "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                gadgets = client.resource(f"gadgets.{group}")
                recorder = Recorder(client, gadgets.resource.path("default"), {"watch": "true", "resourceVersion": "1"})
                break
            except (dynkube.ResourceNotFound, dynkube.NotFound):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        recorder.finish()
        recorder.save("gone")
    finally:
        crds.delete(f"gadgets.{group}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", help="default: the envtest cluster (started if needed)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    kubeconfig = args.kubeconfig or subprocess.run([str(ROOT / "scripts" / "envtest"), "up"], check=True,
                                                   capture_output=True, text=True).stdout.strip().splitlines()[-1]
    with dynkube.Client(kubeconfig=kubeconfig, cache_dir=False) as client:
        record_configmaps(client)
        record_gone(client)


if __name__ == "__main__":
    main()
