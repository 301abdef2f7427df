"""Large collections: informers over 100,000 ConfigMaps, their relist after a real 410, and lists
iterated page by page.

Setup (reused when present): ``--objects`` ConfigMaps ``bench-cm-NNNNNN`` of about 1 KB (the body of
bench_list.py's), labelled ``dynkube-bench-informer=true``, and one ConfigMap ``bench-relist-marker``, in
the namespace ``dynkube-bench-informer``, created 16 at a time without client rate limiting.
``--cleanup`` deletes the namespace and exits. 100,000 objects load the API server and etcd for
everyone, so the server is ``$DYNKUBE_BENCH_INFORMER_KUBECONFIG`` only, a control plane of its own;
without it the module reports that it was skipped (``make bench`` on the shared plane).

Measured in fresh interpreters (the client built, discovery done and one ``limit=1`` list sent
before the clock starts):

- sync: an ``Informer`` of the namespace (streaming list, the default against this server; and with
  ``use_watch_list=False``, a paginated list of 500), the same ``metadata_only=True``, and the aio
  ``Informer``: time until ``wait_for_sync``, client CPU, peak RSS growth and the RSS the synced
  store keeps; in separate runs, the tracemalloc size of what is kept (bytes per object) and its
  peak. Against: every object of a paginated list (500) kept in a dict by key, by dynkube's
  ``list``, by the anchors (kubernetes.dynamic, lightkube: neither they nor kr8s has an informer)
  and by the raw floor (``requests`` + ``json.loads`` of each page, every item kept: the least a
  process can hold the parsed objects in).
- relist: the synced informer is cut off from the server (a TCP proxy, ``tests/faults/proxy.py``),
  a ConfigMap is changed until the server answers 410 for the resourceVersion the informer holds
  (the watch cache no longer reaches back to it), and the proxy let through again: the informer's
  watch resumes, gets the 410, lists again and notifies the change. Time from the 410 (its log
  record) to the change's ``on_update``; peak RSS growth and tracemalloc peak over the relist, against
  what the store keeps (two copies at the peak would be 2x).
- pages: ``list()`` iterated to the end, nothing kept, with pages of 100, 500, 1000 and 5000: peak RSS
  growth and tracemalloc peak, dynkube sync and aio against the raw floor (constant memory: the peak
  follows the page size, not the 100,000).

    python benchmarks/bench_informer.py [--objects 100000] [--runs 3] [--parts hold,relist,pages]
                                        [--before TREE] [--cleanup] [--profile] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

NS = "dynkube-bench-informer"
LABEL = "dynkube-bench-informer"
SELECTOR = f"{LABEL}=true"
DEFAULT_OBJECTS = 100_000
MARKER = "bench-relist-marker"  # the ConfigMap changed while the informer is cut off
PAGE = 500
PAGE_SIZES = (100, 500, 1000, 5000)
WORKER_TIMEOUT = 900.0
WRITE_BATCH = 20   # writes between two probes of the server's watch window
MAX_WRITES = 20_000


# ---- setup -----------------------------------------------------------------------------------

def name_of(i: int) -> str:
    return f"bench-cm-{i:06d}"


def configmap(i: int) -> dict[str, Any]:
    """About 1 KB as the server returns it (bench_list.py's body)."""
    return {"metadata": {"name": name_of(i), "labels": {LABEL: "true", "shard": str(i % 10)}},
            "data": {"payload": f"{i:05d}-" * 100, "index": str(i)}}


def ensure_configmaps(kubeconfig: Path, objects: int) -> dict[str, Any]:
    import dynkube

    client = _common.admin_client(kubeconfig)
    try:
        _common.ensure_namespace(client, NS)
        configmaps = client.resource("configmaps")
        existing = {c.metadata.name for c in configmaps.list(NS, label_selector=SELECTOR, metadata_only=True,
                                                              limit=5000)}
        missing = [i for i in range(objects) if name_of(i) not in existing]

        def create(i: int) -> None:
            try:
                configmaps.create(configmap(i), NS)
            except dynkube.AlreadyExists:
                pass

        started = time.monotonic()
        if missing:
            print(f"creating {len(missing)} ConfigMaps in {NS} ({objects - len(missing)} already there) ...",
                  flush=True)
            with ThreadPoolExecutor(max_workers=16) as pool:
                for done, _ in enumerate(pool.map(create, missing), 1):
                    if done % 10_000 == 0:
                        print(f"  {done} created", flush=True)
        try:
            configmaps.get(MARKER, NS)
        except dynkube.NotFound:
            configmaps.create({"metadata": {"name": MARKER, "labels": {LABEL: "true"}}, "data": {"n": "0"}}, NS)
        return {"created": len(missing), "reused": objects - len(missing),
                "setup_seconds": round(time.monotonic() - started, 1)}
    finally:
        client.close()


def cleanup(kubeconfig: Path) -> None:
    client = _common.admin_client(kubeconfig)
    client.resource("namespaces").delete(NS)
    client.close()


# ---- what each worker holds: (prepare, fill) where fill() returns the number of objects kept ------

Holder = Callable[[str], tuple[Callable[[], None], Callable[[], Any], Callable[[Any], int]]]


def _dynkube_client(kubeconfig: str, server: str | None = None) -> Any:
    import dynkube

    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=tempfile.mkdtemp(prefix="dynkube-bench-"))
    if server is None:
        return client
    config = client.config.replace(server=server)
    client.close()
    return dynkube.Client(config, cache_dir=tempfile.mkdtemp(prefix="dynkube-bench-"))


def _informer(kubeconfig: str, **options: Any) -> tuple[Callable[[], None], Callable[[], Any], Callable[[Any], int]]:
    from dynkube import Informer

    configmaps = _dynkube_client(kubeconfig).resource("configmaps")

    def prepare() -> None:
        configmaps.list_page(NS, limit=1)
        configmaps.client.version()  # the informer asks it to choose a streaming list

    def fill() -> Any:
        informer = Informer(configmaps, NS, label_selector=SELECTOR, **options).start()
        if not informer.wait_for_sync(WORKER_TIMEOUT):
            raise RuntimeError(f"the informer did not sync: {informer.last_error!r}")
        return informer

    return prepare, fill, lambda informer: len(informer.store)


def _aio_informer(kubeconfig: str) -> tuple[Callable[[], None], Callable[[], Any], Callable[[Any], int]]:
    import asyncio

    import dynkube.aio

    loop = asyncio.new_event_loop()
    client = dynkube.aio.Client(kubeconfig=kubeconfig, cache_dir=tempfile.mkdtemp(prefix="dynkube-bench-"))
    configmaps = loop.run_until_complete(client.resource("configmaps"))

    def prepare() -> None:
        loop.run_until_complete(configmaps.list_page(NS, limit=1))
        loop.run_until_complete(client.version())

    def fill() -> Any:
        async def synced() -> Any:
            informer = dynkube.aio.Informer(configmaps, NS, label_selector=SELECTOR).start()
            if not await informer.wait_for_sync(WORKER_TIMEOUT):
                raise RuntimeError(f"the informer did not sync: {informer.last_error!r}")
            return informer
        return loop.run_until_complete(synced())

    return prepare, fill, lambda informer: len(informer.store)


def _dynkube_list(kubeconfig: str, metadata_only: bool = False) -> tuple[Callable[[], None], Callable[[], Any],
                                                                        Callable[[Any], int]]:
    from dynkube.informer import object_key

    configmaps = _dynkube_client(kubeconfig).resource("configmaps")

    def prepare() -> None:
        configmaps.list_page(NS, limit=1)

    def fill() -> Any:
        return {object_key(cm): cm for cm in configmaps.list(NS, label_selector=SELECTOR, limit=PAGE,
                                                             metadata_only=metadata_only)}

    return prepare, fill, len


def _kubernetes(kubeconfig: str) -> tuple[Callable[[], None], Callable[[], Any], Callable[[Any], int]]:
    from kubernetes import config, dynamic

    client = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig),
                                   cache_file=tempfile.mktemp(prefix="dynkube-bench-osrcp-"))
    configmaps = client.resources.get(api_version="v1", kind="ConfigMap")

    def prepare() -> None:
        configmaps.get(namespace=NS, limit=1)

    def fill() -> Any:
        kept, token = {}, None
        while True:
            page = configmaps.get(namespace=NS, label_selector=SELECTOR, limit=PAGE, _continue=token)
            for cm in page.items:
                kept[f"{cm.metadata.namespace}/{cm.metadata.name}"] = cm
            token = page.metadata["continue"]
            if not token:
                return kept

    return prepare, fill, len


def _lightkube(kubeconfig: str) -> tuple[Callable[[], None], Callable[[], Any], Callable[[Any], int]]:
    import lightkube
    from lightkube.resources.core_v1 import ConfigMap

    client = lightkube.Client(config=lightkube.KubeConfig.from_file(kubeconfig))

    def prepare() -> None:
        next(iter(client.list(ConfigMap, namespace=NS, chunk_size=1)), None)

    def fill() -> Any:
        return {f"{cm.metadata.namespace}/{cm.metadata.name}": cm  # type: ignore[union-attr]
                for cm in client.list(ConfigMap, namespace=NS, labels={LABEL: "true"}, chunk_size=PAGE)}

    return prepare, fill, len


def _raw(kubeconfig: str) -> tuple[Callable[[], None], Callable[[], Any], Callable[[Any], int]]:
    raw = _common.RawCluster(Path(kubeconfig))
    url = f"{raw.server}/api/v1/namespaces/{NS}/configmaps"

    def prepare() -> None:
        raw.session.get(url, params={"limit": 1}, timeout=120).json()

    def fill() -> Any:
        kept, token = {}, None
        while True:
            params: dict[str, Any] = {"labelSelector": SELECTOR, "limit": PAGE}
            if token:
                params["continue"] = token
            document = json.loads(raw.session.get(url, params=params, timeout=120).content)
            for cm in document["items"]:
                kept[f"{cm['metadata']['namespace']}/{cm['metadata']['name']}"] = cm
            token = document["metadata"].get("continue")
            if not token:
                return kept

    return prepare, fill, len


HOLDERS: dict[str, Holder] = {
    "dynkube Informer": _informer,
    "dynkube Informer (paged list)": lambda kubeconfig: _informer(kubeconfig, use_watch_list=False),
    "dynkube Informer, metadata only": lambda kubeconfig: _informer(kubeconfig, metadata_only=True),
    "dynkube.aio Informer": _aio_informer,
    "dynkube list -> dict": _dynkube_list,
    "dynkube list, metadata only -> dict": lambda kubeconfig: _dynkube_list(kubeconfig, metadata_only=True),
    "kubernetes.dynamic list -> dict": _kubernetes,
    "lightkube list -> dict": _lightkube,
    "raw list -> dict": _raw,
}
HOLDER_BASE = "dynkube Informer"
HOLDER_FLOOR = "raw list -> dict"
HOLDER_CODE = {
    "dynkube Informer": "Informer(client.resource('configmaps'), ns, label_selector=sel).start().wait_for_sync() "
                        "(a streaming list: this server is 1.37)",
    "dynkube Informer (paged list)": "the same with use_watch_list=False: list by pages of 500, then watch",
    "dynkube Informer, metadata only": "the same as dynkube Informer with metadata_only=True",
    "dynkube.aio Informer": "await dynkube.aio.Informer(await client.resource('configmaps'), ns, "
                            "label_selector=sel).start().wait_for_sync()",
    "dynkube list -> dict": "{object_key(cm): cm for cm in rc.list(ns, label_selector=sel, limit=500)}",
    "dynkube list, metadata only -> dict": "the same with metadata_only=True",
    "kubernetes.dynamic list -> dict": "v1.get(namespace=ns, label_selector=sel, limit=500, _continue=token) "
                                       "page by page, every page.items item kept by key",
    "lightkube list -> dict": "{key: cm for cm in client.list(ConfigMap, namespace=ns, labels=..., chunk_size=500)}",
    "raw list -> dict": "requests.Session GET of each page (limit=500), json.loads(content), every item kept by key "
                        "(the floor)",
}


def hold_worker(name: str, kubeconfig: str, mode: str) -> None:
    """Fill one holder in this fresh process; time and RSS, or (mode ``memory``) tracemalloc."""
    prepare, fill, count = HOLDERS[name](kubeconfig)
    prepare()
    gc.collect()
    if mode == "memory":
        tracemalloc.start()
        kept = fill()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        _common.emit({"items": count(kept), "traced_kept": current, "traced_peak": peak})
        return
    _common.reset_peak_rss()
    baseline = _common.rss_bytes()
    started, cpu_started = time.perf_counter(), time.process_time()
    kept = fill()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = _common.peak_rss_bytes() - baseline
    gc.collect()
    _common.emit({"items": count(kept), "seconds": seconds, "cpu": cpu, "rss_peak": peak,
                  "rss_kept": _common.rss_bytes() - baseline})


# ---- the relist after a real 410 ---------------------------------------------------------------

class _GoneSeen(logging.Handler):
    """Notes when the informer logs that it lists again after a 410 (its Gone, as it saw it)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.at: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        import dynkube

        args = record.args if isinstance(record.args, tuple) else ()
        if self.at is None and any(isinstance(a, dynkube.Gone) for a in args):
            self.at = time.perf_counter()


def _gone_for(configmaps: Any, version: str) -> bool:
    """Whether the server answers 410 to a watch from ``version`` (its watch cache no longer reaches it)."""
    import dynkube

    try:
        next(iter(configmaps.watch(NS, resource_version=version, timeout_seconds=1)), None)
    except dynkube.Gone:
        return True
    return False


def relist_worker(kubeconfig: str, mode: str) -> None:
    """A synced informer behind a proxy; cut off, a change, the server's window moved past the
    informer's resourceVersion, let through: the 410, the relist, the change notified."""
    from urllib.parse import urlsplit

    import dynkube  # first: with --before, from the other tree (PYTHONPATH), not from ROOT below
    from dynkube.watch import Backoff

    sys.path.append(str(_common.ROOT))
    from tests.faults.proxy import FaultProxy

    direct = _dynkube_client(kubeconfig).resource("configmaps")
    server = urlsplit(direct.client.config.server)
    proxy = FaultProxy((server.hostname or "127.0.0.1", server.port or 443))
    configmaps = _dynkube_client(kubeconfig, server=proxy.url).resource("configmaps")
    configmaps.list_page(NS, limit=1)
    gone = _GoneSeen()
    logging.getLogger("dynkube.informer").addHandler(gone)
    logging.getLogger("dynkube.informer").setLevel(logging.INFO)
    changed = threading.Event()
    noticed: list[float] = []

    def on_update(old: Any, new: Any) -> None:
        if new["metadata"]["name"] == MARKER and not changed.is_set():
            noticed.append(time.perf_counter())
            changed.set()

    gc.collect()
    if mode == "memory":
        tracemalloc.start()
    informer = dynkube.Informer(configmaps, NS, label_selector=SELECTOR, backoff=Backoff(initial=0.05, cap=0.5))
    informer.add_handler(on_update=on_update)
    informer.start()
    if not informer.wait_for_sync(WORKER_TIMEOUT):
        raise RuntimeError(f"the informer did not sync: {informer.last_error!r}")
    gc.collect()
    store_traced = tracemalloc.get_traced_memory()[0] if mode == "memory" else None
    proxy.outage()
    before = direct.list_page(NS, limit=1).resource_version
    writes = 0
    while not _gone_for(direct, before):  # each write moves the watch cache's window (bounded below)
        if writes >= MAX_WRITES:
            raise RuntimeError(f"the server still serves a watch from {before} after {writes} writes")
        for _ in range(WRITE_BATCH):
            writes += 1
            direct.patch(MARKER, {"data": {"n": str(time.time_ns()), "writes": str(writes)}}, NS)
    gc.collect()
    if mode == "memory":
        tracemalloc.reset_peak()
    _common.reset_peak_rss()
    baseline = _common.rss_bytes()
    restored = time.perf_counter()
    proxy.restore()
    if not changed.wait(WORKER_TIMEOUT):
        raise RuntimeError(f"the informer did not relist: {informer.last_error!r}")
    result: dict[str, Any] = {"items": len(informer.store), "writes": writes, "dynkube": dynkube.__file__}
    if gone.at is None:
        raise RuntimeError("the informer relisted without logging a 410")
    if mode == "memory":
        _, peak = tracemalloc.get_traced_memory()
        result.update(traced_store=store_traced, traced_peak=peak)
    else:
        result.update(seconds=noticed[0] - gone.at, restore_to_gone=gone.at - restored,
                      rss_peak=_common.peak_rss_bytes() - baseline)
    informer.stop()
    proxy.close()
    _common.emit(result)


# ---- lists iterated page by page, nothing kept ----------------------------------------------------

def _pages_dynkube(kubeconfig: str, page: int) -> tuple[Callable[[], None], Callable[[], int]]:
    configmaps = _dynkube_client(kubeconfig).resource("configmaps")

    def prepare() -> None:
        configmaps.list_page(NS, limit=1)

    def iterate() -> int:
        n = 0
        for cm in configmaps.list(NS, label_selector=SELECTOR, limit=page):
            cm.metadata.name
            n += 1
        return n

    return prepare, iterate


def _pages_aio(kubeconfig: str, page: int) -> tuple[Callable[[], None], Callable[[], int]]:
    import asyncio

    import dynkube.aio

    loop = asyncio.new_event_loop()
    client = dynkube.aio.Client(kubeconfig=kubeconfig, cache_dir=tempfile.mkdtemp(prefix="dynkube-bench-"))
    configmaps = loop.run_until_complete(client.resource("configmaps"))

    def prepare() -> None:
        loop.run_until_complete(configmaps.list_page(NS, limit=1))

    async def count() -> int:
        n = 0
        async for cm in configmaps.list(NS, label_selector=SELECTOR, limit=page):
            cm.metadata.name
            n += 1
        return n

    return prepare, lambda: loop.run_until_complete(count())


def _pages_raw(kubeconfig: str, page: int) -> tuple[Callable[[], None], Callable[[], int]]:
    raw = _common.RawCluster(Path(kubeconfig))
    url = f"{raw.server}/api/v1/namespaces/{NS}/configmaps"

    def prepare() -> None:
        raw.session.get(url, params={"limit": 1}, timeout=120).json()

    def iterate() -> int:
        n, token = 0, None
        while True:
            params: dict[str, Any] = {"labelSelector": SELECTOR, "limit": page}
            if token:
                params["continue"] = token
            document = json.loads(raw.session.get(url, params=params, timeout=120).content)
            for cm in document["items"]:
                cm["metadata"]["name"]
                n += 1
            token = document["metadata"].get("continue")
            del document
            if not token:
                return n

    return prepare, iterate


PAGERS: dict[str, Callable[[str, int], tuple[Callable[[], None], Callable[[], int]]]] = {
    "dynkube": _pages_dynkube, "dynkube.aio": _pages_aio, "raw": _pages_raw}
PAGER_CODE = {
    "dynkube": "for cm in rc.list(ns, label_selector=sel, limit=PAGE): cm.metadata.name",
    "dynkube.aio": "async for cm in rc.list(ns, label_selector=sel, limit=PAGE): cm.metadata.name",
    "raw": "requests GET of each page, json.loads(content), cm['metadata']['name'] of each item, the page dropped "
           "before the next",
}


def pages_worker(name: str, page: str, kubeconfig: str, mode: str) -> None:
    prepare, iterate = PAGERS[name](kubeconfig, int(page))
    prepare()
    gc.collect()
    if mode == "memory":
        tracemalloc.start()
        count = iterate()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        _common.emit({"items": count, "traced_peak": peak})
        return
    _common.reset_peak_rss()
    baseline = _common.rss_bytes()
    started, cpu_started = time.perf_counter(), time.process_time()
    count = iterate()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    _common.emit({"items": count, "seconds": seconds, "cpu": cpu, "rss_peak": _common.peak_rss_bytes() - baseline})


def profile_worker(kubeconfig: str) -> None:
    """cProfile of the sync Informer's first sync (the reflector's thread included)."""
    import cProfile
    import io
    import pstats

    prepare, fill, _count = _informer(kubeconfig)
    prepare()
    profiler = cProfile.Profile()  # it follows one thread: the reflector's, where the sync happens
    from dynkube import informer as informer_module

    original = informer_module.Informer._reflect

    def profiled(self: Any) -> None:
        profiler.runcall(original, self)

    informer_module.Informer._reflect = profiled  # type: ignore[method-assign]
    informer = fill()
    informer.stop()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(30)
    print(out.getvalue())


def worker(argv: list[str]) -> None:
    if argv[0] == "hold":
        hold_worker(argv[1], argv[2], argv[3])
    elif argv[0] == "relist":
        relist_worker(argv[1], argv[2])
    elif argv[0] == "pages":
        pages_worker(argv[1], argv[2], argv[3], argv[4])
    elif argv[0] == "profile":
        profile_worker(argv[1])
    else:
        raise SystemExit(f"unknown worker {argv[0]!r}")


# ---- the benchmark ---------------------------------------------------------------------------

def _stats(samples: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key in keys:
        values = [s[key] for s in samples if s.get(key) is not None]
        if values:
            row[key] = _common.median(values)
            row[f"{key}_range"] = [min(values), max(values)]
    return row


def _spread(row: dict[str, Any], key: str, unit: str) -> str | None:
    """The min-max of a metric, formatted (a column of its own)."""
    low_high = row.get(f"{key}_range")
    if not low_high:
        return None
    return "–".join(_common.fmt_value(v, unit) for v in low_high)


def _hold(kubeconfig: Path, env: dict[str, str], runs: int,
          errors: dict[str, str]) -> dict[str, Any]:
    script = Path(__file__).resolve()
    names = list(HOLDERS)
    warm = _common.run_worker(script, ["hold", HOLDER_FLOOR, str(kubeconfig), "time"], timeout=WORKER_TIMEOUT, env=env)
    print(f"  warm-up ({HOLDER_FLOOR}): {warm.get('seconds', warm.get('error'))}", flush=True)
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for attempt in range(runs):
        random.Random(attempt).shuffle(names)  # each round in another order
        for name in names:
            if name in errors:
                continue
            answer = _common.run_worker(script, ["hold", name, str(kubeconfig), "time"], timeout=WORKER_TIMEOUT,
                                        env=env)
            if "error" in answer:
                errors[name] = answer["error"]
                continue
            samples[name].append(answer)
            print(f"  {name:<36} {answer['seconds']:.2f} s (cpu {answer['cpu']:.2f} s), {answer['items']} items, "
                  f"RSS peak +{answer['rss_peak'] / 2**20:.0f} MiB, kept +{answer['rss_kept'] / 2**20:.0f} MiB",
                  flush=True)
    rows = []
    for name in HOLDERS:
        if not samples[name]:
            rows.append({"name": name, "error": errors.get(name, "no samples")})
            continue
        memory = _common.run_worker(script, ["hold", name, str(kubeconfig), "memory"], timeout=WORKER_TIMEOUT * 2,
                                    env=env)
        if "error" in memory:
            errors[f"{name} (tracemalloc)"] = memory["error"]
            memory = {}
        row = {"name": name, "items": samples[name][0]["items"],
               **_stats(samples[name], ("seconds", "cpu", "rss_peak", "rss_kept")),
               "traced_kept": memory.get("traced_kept"), "traced_peak": memory.get("traced_peak"),
               "per_object": memory["traced_kept"] / memory["items"] if memory.get("items") else None}
        row["range"] = _spread(row, "seconds", "s")
        rows.append(row)
    items = next((r["items"] for r in rows if "items" in r), "?")
    return _common.table(
        f"holding {items} ConfigMaps (~1 KB): an informer synced against every object of a list kept in a dict; "
        f"median of {runs} fresh interpreters (min–max)", rows,
        [("seconds", "time to synced / listed", "s"), ("range", "min–max", "t"), ("cpu", "client CPU", "s"),
         ("rss_peak", "peak RSS growth", "B"), ("rss_kept", "RSS kept", "B"),
         ("traced_kept", "tracemalloc kept", "B"), ("per_object", "bytes per object", "n"),
         ("traced_peak", "tracemalloc peak", "B")],
        ratios=["seconds", "cpu", "rss_peak", "traced_kept"], base=HOLDER_BASE, floor=HOLDER_FLOOR,
        notes=["neither kubernetes (the official client), kr8s nor lightkube has an informer in Python: the anchors "
               "are their paginated list with every object kept by key, which is what an informer's store holds",
               "time = wall clock from start() (or the first page request) to wait_for_sync() returning (or the "
               "last page); client CPU = CPU seconds of the process, every thread",
               "RSS kept = RSS after the sync (gc collected) over the RSS just before start; tracemalloc (separate "
               "runs) counts Python allocations only: kept = what is still allocated after the sync, bytes per "
               "object = kept / objects (the informer's store includes its namespace index)",
               "kr8s pages by 100 and cannot be told otherwise (1,001 requests for 100,000): left out"]
        + [f"{name}: `{code}`" for name, code in HOLDER_CODE.items()])


def _relist_row(label: str, kubeconfig: Path, env: dict[str, str], runs: int,
                errors: dict[str, str]) -> dict[str, Any]:
    script = Path(__file__).resolve()
    samples = []
    for _ in range(runs):
        answer = _common.run_worker(script, ["relist", str(kubeconfig), "time"], timeout=WORKER_TIMEOUT * 2, env=env)
        if "error" in answer:
            errors[f"relist {label}"] = answer["error"]
            break
        samples.append(answer)
        print(f"  relist ({label}): {answer['seconds']:.2f} s from the 410 to the change notified "
              f"({answer['restore_to_gone']:.2f} s from the restore to the 410), RSS peak "
              f"+{answer['rss_peak'] / 2**20:.0f} MiB, {answer['writes']} writes to reach a 410", flush=True)
    memory = _common.run_worker(script, ["relist", str(kubeconfig), "memory"], timeout=WORKER_TIMEOUT * 3, env=env)
    if "error" in memory:
        errors[f"relist {label} (tracemalloc)"] = memory["error"]
        memory = {}
    row: dict[str, Any] = {"name": label, **_stats(samples, ("seconds", "restore_to_gone", "rss_peak", "writes")),
                           "items": samples[0]["items"] if samples else None,
                           "traced_store": memory.get("traced_store"), "traced_peak": memory.get("traced_peak")}
    row["range"] = _spread(row, "seconds", "s")
    if row["traced_store"] and row["traced_peak"]:
        row["peak_over_store"] = f"{row['traced_peak'] / row['traced_store']:.2f}x"
    return row


def _relist(kubeconfig: Path, env: dict[str, str], runs: int, errors: dict[str, str],
            before: Path | None) -> dict[str, Any]:
    rows = [_relist_row("dynkube Informer", kubeconfig, env, runs, errors)]
    if before is not None:  # the same worker importing another tree's dynkube/ package
        rows.append(_relist_row(f"dynkube Informer ({before.name})", kubeconfig,
                                {**env, "PYTHONPATH": str(before)}, runs, errors))
    return _common.table(
        f"relist of {rows[0]['items']} ConfigMaps after a real 410; median of {runs} fresh interpreters (min–max)",
        rows,
        [("seconds", "410 to change notified", "s"), ("range", "min–max", "t"),
         ("restore_to_gone", "restore to 410", "s"), ("rss_peak", "peak RSS growth", "B"),
         ("traced_store", "tracemalloc of the synced store", "B"), ("traced_peak", "tracemalloc peak in relist", "B"),
         ("peak_over_store", "peak / store", "t"), ("writes", "writes until 410", "n")],
        base=None, floor=None,
        notes=["the informer (streaming list, as this server offers) syncs through a TCP proxy; the proxy cuts it "
               f"off; the ConfigMap {MARKER} is patched {WRITE_BATCH} times at a time until a watch from the "
               "resourceVersion of a list made just after the cut is answered 410 (the watch cache no longer "
               "reaches back to it); "
               "then the proxy lets connections through: the informer's watch resumes, gets 410, lists again, "
               "and its handler is told of the change",
               "time = from the informer's log record of the 410 to on_update of the marker (the whole new list is "
               "applied before any of its notices is queued)",
               "peak RSS growth from the restore (VmHWM reset); tracemalloc peak (a separate run, traced from "
               "before the first sync) against what the synced store holds: 2.0x would be two whole copies"])


def _pages(kubeconfig: Path, env: dict[str, str], runs: int, errors: dict[str, str]) -> dict[str, Any]:
    script = Path(__file__).resolve()
    rows = []
    for page in PAGE_SIZES:
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in PAGERS}
        names = list(PAGERS)
        for attempt in range(runs):
            random.Random(attempt).shuffle(names)
            for name in names:
                answer = _common.run_worker(script, ["pages", name, str(page), str(kubeconfig), "time"],
                                            timeout=WORKER_TIMEOUT, env=env)
                if "error" in answer:
                    errors[f"pages {name} {page}"] = answer["error"]
                    continue
                samples[name].append(answer)
        for name in PAGERS:
            memory = _common.run_worker(script, ["pages", name, str(page), str(kubeconfig), "memory"],
                                        timeout=WORKER_TIMEOUT, env=env)
            if "error" in memory:
                errors[f"pages {name} {page} (tracemalloc)"] = memory["error"]
            row = {"name": name, "page": page, **_stats(samples[name], ("seconds", "cpu", "rss_peak")),
                   "traced_peak": memory.get("traced_peak"),
                   "items": samples[name][0]["items"] if samples[name] else None}
            row["rss_range"] = _spread(row, "rss_peak", "B")
            rows.append(row)
            print(f"  pages of {page:>5} {name:<12} {_common.fmt_value(row.get('seconds'), 's'):>8}  RSS peak "
                  f"+{_common.fmt_value(row.get('rss_peak'), 'B')}  tracemalloc peak "
                  f"{_common.fmt_value(row.get('traced_peak'), 'B')}", flush=True)
    items = next((r["items"] for r in rows if r.get("items")), "?")
    return _common.table(
        f"iterating a list of {items} ConfigMaps to the end, nothing kept, by page size; median of {runs} fresh "
        "interpreters", rows,
        [("seconds", "time", "s"), ("cpu", "client CPU", "s"), ("rss_peak", "peak RSS growth", "B"),
         ("rss_range", "min–max", "t"), ("traced_peak", "tracemalloc peak", "B")],
        ratios=["rss_peak", "traced_peak"], base="dynkube", floor="raw", group_key="page",
        notes=["constant memory: the peak should follow the page size, not the number of objects",
               "tracemalloc peak from a separate run of each"] + [f"{n}: `{c}`" for n, c in PAGER_CODE.items()])


def _targets(tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    targets: dict[str, Any] = {}
    hold = {r["name"]: r for r in tables.get("hold", {}).get("rows", [])}
    informer, metadata = hold.get(HOLDER_BASE, {}), hold.get("dynkube Informer, metadata only", {})
    if informer.get("traced_kept/floor") is not None:
        targets["informer_memory_vs_parsed_list"] = {"ratio": informer["traced_kept/floor"],
                                                     "met": informer["traced_kept/floor"] <= 1.0}
    if informer.get("seconds/floor") is not None:
        targets["informer_sync_time_vs_raw_list"] = {"ratio": informer["seconds/floor"],
                                                     "met": informer["seconds/floor"] <= 1.0}
    if metadata.get("traced_kept") and informer.get("traced_kept"):
        targets["metadata_informer_memory_vs_full"] = {"ratio": metadata["traced_kept"] / informer["traced_kept"]}
    relist: dict[str, Any] = next(iter(tables.get("relist", {}).get("rows", [])), {})
    if relist.get("traced_peak") and relist.get("traced_store"):
        ratio = relist["traced_peak"] / relist["traced_store"]
        targets["relist_peak_vs_store"] = {"ratio": ratio, "met": ratio < 1.5}
    for row in tables.get("pages", {}).get("rows", []):
        if row["name"] == "dynkube" and row.get("traced_peak/floor") is not None:
            targets[f"pages_{row['page']}_traced_peak_vs_raw"] = {"ratio": row["traced_peak/floor"],
                                                                  "met": row["traced_peak/floor"] <= 1.0}
    return targets


def run(options: argparse.Namespace) -> dict[str, Any]:
    explicit = os.environ.get("DYNKUBE_BENCH_INFORMER_KUBECONFIG")
    if not explicit:
        why = "skipped: set DYNKUBE_BENCH_INFORMER_KUBECONFIG to a control plane of its own (see docs/performance.md)"
        print(f"bench_informer: {why}", file=sys.stderr)
        return {"tables": [], "skipped": why}
    kubeconfig = Path(explicit)
    if options.cleanup:
        cleanup(kubeconfig)
        print(f"deleting the namespace {NS}")
        return {"tables": [], "cleanup": True}
    setup = ensure_configmaps(kubeconfig, options.objects)
    print(f"setup: {setup}", flush=True)
    if options.profile:
        profile_worker(str(kubeconfig))
        return {"tables": [], "profile": True}
    runs = 1 if options.quick else options.runs
    env = _common.child_env()
    errors: dict[str, str] = {}
    parts = options.parts.split(",")
    unknown = set(parts) - {"hold", "relist", "pages"}
    if unknown:
        sys.exit(f"bench_informer: no part {', '.join(sorted(unknown))} (have: hold, relist, pages)")
    tables: dict[str, dict[str, Any]] = {}
    if "hold" in parts:
        print("informers and lists kept in memory", flush=True)
        tables["hold"] = _hold(kubeconfig, env, runs, errors)
    if "relist" in parts:
        print("relist after a 410", flush=True)
        tables["relist"] = _relist(kubeconfig, env, runs, errors, options.before)
    if "pages" in parts:
        print("lists page by page", flush=True)
        tables["pages"] = _pages(kubeconfig, env, runs, errors)
    return {"setup": setup, "errors": errors, "tables": list(tables.values()), "targets": _targets(tables)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--objects", type=int, default=DEFAULT_OBJECTS, help="ConfigMaps (default 100000)")
    parser.add_argument("--runs", type=int, default=3, help="fresh interpreters per measurement (default 3)")
    parser.add_argument("--parts", default="hold,relist,pages", help="comma-separated: hold, relist, pages")
    parser.add_argument("--before", type=Path, metavar="TREE",
                        help="also run the relist with the dynkube/ package of TREE (PYTHONPATH=TREE)")
    parser.add_argument("--cleanup", action="store_true", help="delete the benchmark namespace and exit")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the sync Informer's first sync and exit")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_informer", run, worker, add_arguments))
