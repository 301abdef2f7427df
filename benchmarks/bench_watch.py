"""Watch throughput over 10,000 events, and informer memory for 10,000 objects.

Objects: bench_list's 10,000 ConfigMaps of about 1 KB (labelled ``dynkube-bench-list=true`` in the
namespace ``dynkube-bench``; created when missing, shared with bench_list).

Live watch: every contender opens a watch without resourceVersion on those ConfigMaps, so the
server streams 10,000 ADDED events from its watch cache, and consumes them, reading each object's
name, up to the 10,000th. One fresh interpreter per run; the client is built and its connection
opened (a ``limit=1`` list) before the clock starts. Time is wall clock (it includes the server's
work, the same for all); client CPU is the client process's CPU seconds. Contenders compare within
the response encoding they ask for: requests and httpx ask for gzip by default, the official
client's urllib3 does not; dynkube and the raw floor are run both ways.

Decoding: the same 10,000-event stream (recorded once, identity encoding) decoded in memory, in
1 MiB reads: the raw floor (``requests`` ``iter_lines`` + ``json.loads``) against dynkube's decoder
and events. No server, no network: the client-side cost alone, with little noise.

Informer: time to sync and memory held by an informer of the 10,000 ConfigMaps (streaming list,
and paginated list + watch), against the floor of one unpaged list parsed into a dict by key. No
anchor offers an informer (the official Python client, kr8s and lightkube have none).

    python benchmarks/bench_watch.py [--runs 5] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import bench_list  # noqa: E402  (the shared 10,000 ConfigMaps)

NS = _common.BENCH_NAMESPACE
SELECTOR = f"{bench_list.LABEL}=true"
EVENTS = 10_000
READ = 1 << 20
WORKER_TIMEOUT = 600.0
DECODE_REPEATS = 5
PATH = f"/api/v1/namespaces/{NS}/configmaps"

Consume = Callable[[], int]  # reads EVENTS events, returns how many it read


# ---- live watch contenders: (encoding, build) where build() prepares and returns consume() ---------

def _raw(kubeconfig: str, encoding: str) -> Consume:
    raw = _common.RawCluster(Path(kubeconfig))
    if encoding == "identity":
        raw.session.headers["Accept-Encoding"] = "identity"
    raw.session.get(raw.server + PATH, params={"limit": 1}, timeout=60).json()

    def consume() -> int:
        params = {"watch": "true", "labelSelector": SELECTOR, "allowWatchBookmarks": "true"}
        response = raw.session.get(raw.server + PATH, params=params, stream=True, timeout=(10, 120))
        n = 0
        for line in response.iter_lines(chunk_size=READ):
            event = json.loads(line)
            event["object"]["metadata"]["name"]
            n += 1
            if n == EVENTS:
                break
        response.close()
        return n

    return consume


def _dynkube(kubeconfig: str, encoding: str, stdlib: bool = False) -> Consume:
    if stdlib:
        os.environ["DYNKUBE_JSON"] = "stdlib"
    import dynkube

    config = dynkube.Client(kubeconfig=kubeconfig).config
    if encoding == "identity":
        config = config.replace(disable_compression=True)
    client = dynkube.Client(config, cache_dir=tempfile.mkdtemp(prefix="dynkube-bench-"))
    configmaps = client.resource("configmaps")
    configmaps.list_page(NS, limit=1)

    def consume() -> int:
        n = 0
        with configmaps.watch(NS, label_selector=SELECTOR) as watch:
            for event in watch:
                event.object["metadata"]["name"]
                n += 1
                if n == EVENTS:
                    break
        return n

    return consume


def _kubernetes(kubeconfig: str, encoding: str) -> Consume:
    from kubernetes import client, config, watch

    v1 = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    v1.list_namespaced_config_map(NS, limit=1)

    def consume() -> int:
        n = 0
        stream = watch.Watch()
        for event in stream.stream(v1.list_namespaced_config_map, NS, label_selector=SELECTOR,
                                   allow_watch_bookmarks=True):
            event["object"].metadata.name
            n += 1
            if n == EVENTS:
                break
        stream.stop()
        return n

    return consume


def _lightkube(kubeconfig: str, encoding: str) -> Consume:
    import lightkube
    from lightkube.resources.core_v1 import ConfigMap

    client = lightkube.Client(config=lightkube.KubeConfig.from_file(kubeconfig))
    next(iter(client.list(ConfigMap, namespace=NS, chunk_size=1)), None)

    def consume() -> int:
        n = 0
        for _op, cm in client.watch(ConfigMap, namespace=NS, labels={bench_list.LABEL: "true"}):
            cm.metadata.name  # type: ignore[union-attr]
            n += 1
            if n == EVENTS:
                break
        return n

    return consume


def _kr8s(kubeconfig: str, encoding: str) -> Consume:
    import warnings

    import kr8s

    warnings.filterwarnings("ignore", message="Kubernetes version")
    api = kr8s.api(kubeconfig=kubeconfig)
    next(iter(api.get("configmaps", "kube-root-ca.crt", namespace=NS)), None)

    def consume() -> int:
        n = 0
        for _op, cm in api.watch("configmaps", namespace=NS, label_selector=SELECTOR):
            cm.metadata.name
            n += 1
            if n == EVENTS:
                break
        return n

    return consume


BUILDERS: dict[str, Callable[[str, str], Consume]] = {
    "raw": _raw, "dynkube": _dynkube, "dynkube (stdlib json)": lambda k, e: _dynkube(k, e, stdlib=True),
    "kubernetes.watch": _kubernetes, "lightkube": _lightkube, "kr8s": _kr8s}
CONTENDERS = [("raw", "gzip"), ("dynkube", "gzip"), ("dynkube (stdlib json)", "gzip"), ("lightkube", "gzip"),
              ("kr8s", "gzip"), ("raw", "identity"), ("dynkube", "identity"), ("dynkube (stdlib json)", "identity"),
              ("kubernetes.watch", "identity")]
CODE = {
    "raw": "session.get(url, params={watch, labelSelector, allowWatchBookmarks}, stream=True); "
           "for line in r.iter_lines(chunk_size=1 MiB): json.loads(line)['object']['metadata']['name']",
    "dynkube": "for e in cms.watch(ns, label_selector=sel): e.object['metadata']['name']  (orjson when installed)",
    "dynkube (stdlib json)": "the same with DYNKUBE_JSON=stdlib",
    "kubernetes.watch": "for e in Watch().stream(v1.list_namespaced_config_map, ns, label_selector=sel, "
                        "allow_watch_bookmarks=True): e['object'].metadata.name",
    "lightkube": "for op, cm in client.watch(ConfigMap, namespace=ns, labels=...): cm.metadata.name",
    "kr8s": "for op, cm in api.watch('configmaps', namespace=ns, label_selector=sel): cm.metadata.name",
}


def watch_worker(name: str, encoding: str, kubeconfig: str) -> None:
    consume = BUILDERS[name](kubeconfig, encoding)
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    events = consume()
    _common.emit({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "events": events})


# ---- decoding in memory ------------------------------------------------------------------------

def record_stream(kubeconfig: str) -> bytes:
    """The first EVENTS events of the watch, as the server sent them (identity encoding)."""
    raw = _common.RawCluster(Path(kubeconfig))
    raw.session.headers["Accept-Encoding"] = "identity"
    params = {"watch": "true", "labelSelector": SELECTOR, "allowWatchBookmarks": "true"}
    response = raw.session.get(raw.server + PATH, params=params, stream=True, timeout=(10, 120))
    lines = []
    for line in response.iter_lines(chunk_size=READ):
        lines.append(line + b"\n")
        if len(lines) == EVENTS:
            break
    response.close()
    raw.close()
    return b"".join(lines)


def _floor_decode(body: bytes) -> int:
    import requests

    response = requests.Response()
    response.raw = io.BytesIO(body)
    n = 0
    for line in response.iter_lines(chunk_size=READ):
        json.loads(line)["object"]["metadata"]["name"]
        n += 1
    return n


def _dynkube_decode(body: bytes) -> int:
    from dynkube.watch import JSONStreamDecoder, decode_event

    decoder, n = JSONStreamDecoder(), 0
    for chunk in _chunks(body):
        for document in decoder.feed(chunk):
            decode_event(document).object["metadata"]["name"]
            n += 1
    return n


def _chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), READ):
        yield body[start:start + READ]


DECODERS: dict[str, Callable[[bytes], int]] = {"raw": _floor_decode, "dynkube": _dynkube_decode,
                                               "dynkube (stdlib json)": _dynkube_decode}


def decode_worker(name: str, path: str) -> None:
    """Decode the recorded stream DECODE_REPEATS times in this fresh process; CPU seconds of each."""
    body = Path(path).read_bytes()
    if name == "dynkube (stdlib json)":
        os.environ["DYNKUBE_JSON"] = "stdlib"
    times = []
    for _ in range(DECODE_REPEATS):
        gc.collect()
        started = time.process_time()
        events = DECODERS[name](body)
        times.append(time.process_time() - started)
    _common.emit({"times": times, "events": events, "bytes": len(body)})


# ---- informer memory ---------------------------------------------------------------------------

def _floor_store(kubeconfig: str) -> Callable[[], Any]:
    raw = _common.RawCluster(Path(kubeconfig))
    raw.session.get(raw.server + PATH, params={"limit": 1}, timeout=60).json()

    def sync() -> Any:
        items = raw.session.get(raw.server + PATH, params={"labelSelector": SELECTOR}, timeout=120).json()["items"]
        return {f"{o['metadata']['namespace']}/{o['metadata']['name']}": o for o in items}

    return sync


def _informer(kubeconfig: str, watch_list: bool) -> Callable[[], Any]:
    import dynkube
    from dynkube.informer import Informer

    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=tempfile.mkdtemp(prefix="dynkube-bench-"))
    configmaps = client.resource("configmaps")
    configmaps.list_page(NS, limit=1)

    def sync() -> Any:
        informer = Informer(configmaps, NS, label_selector=SELECTOR, use_watch_list=watch_list)
        informer.start()
        if not informer.wait_for_sync(300):
            raise SystemExit(f"the informer did not sync: {informer.last_error}")
        return informer

    return sync


STORES: dict[str, Callable[[str], Callable[[], Any]]] = {
    "raw": _floor_store,
    "dynkube (streaming list)": lambda kubeconfig: _informer(kubeconfig, True),
    "dynkube (list + watch)": lambda kubeconfig: _informer(kubeconfig, False),
}
STORE_CODE = {
    "raw": "one unpaged GET, json.loads, {ns/name: item} (no watch: a floor, not an informer)",
    "dynkube (streaming list)": "Informer(cms, ns, label_selector=sel, use_watch_list=True).start(); wait_for_sync()",
    "dynkube (list + watch)": "Informer(..., use_watch_list=False): pages of 500, then a watch",
}


def informer_worker(name: str, kubeconfig: str, mode: str) -> None:
    sync = STORES[name](kubeconfig)
    gc.collect()
    if mode == "memory":
        tracemalloc.start()
        store = sync()
        gc.collect()
        retained, peak = tracemalloc.get_traced_memory()
        _common.emit({"retained": retained, "peak": peak})
        return
    rss = _common.rss_bytes()
    _common.reset_peak_rss()
    started, cpu = time.perf_counter(), time.process_time()
    store = sync()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    objects = len(store.store) if hasattr(store, "store") else len(store)
    _common.emit({"seconds": seconds, "cpu": cpu_seconds, "rss_peak": _common.peak_rss_bytes() - rss,
                  "objects": objects})


def worker(argv: list[str]) -> None:
    if argv[0] == "watch":
        watch_worker(argv[1], argv[2], argv[3])
    elif argv[0] == "record":
        Path(argv[2]).write_bytes(record_stream(argv[1]))
        _common.emit({})
    elif argv[0] == "decode":
        decode_worker(argv[1], argv[2])
    elif argv[0] == "informer":
        informer_worker(argv[1], argv[2], argv[3])
    else:
        raise SystemExit(f"unknown worker {argv[0]!r}")


# ---- the benchmark -------------------------------------------------------------------------------

def watch_table(kubeconfig: Path, runs: int, env: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    script = Path(__file__).resolve()
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {c: [] for c in CONTENDERS}
    for attempt in range(runs + 1):  # round 0 warms caches and is dropped
        order = list(CONTENDERS)
        random.Random(attempt).shuffle(order)  # each round in another order, so that none always follows the same one
        for name, encoding in order:
            key = f"{name} ({encoding})"
            if key in errors:
                continue
            answer = _common.run_worker(script, ["watch", name, encoding, str(kubeconfig)], timeout=WORKER_TIMEOUT,
                                        env=env)
            if "error" in answer:
                errors[key] = answer["error"]
            elif attempt:
                samples[(name, encoding)].append(answer)
                print(f"  {key:<28} {answer['seconds']:.3f} s (cpu {answer['cpu']:.3f} s), {answer['events']} events",
                      flush=True)
    rows: list[dict[str, Any]] = []
    for (name, encoding), s in samples.items():
        if not s:
            rows.append({"name": name, "encoding": encoding, "error": errors.get(f"{name} ({encoding})")})
            continue
        seconds = _common.median(x["seconds"] for x in s)
        rows.append({"name": name, "encoding": encoding, "events": s[0]["events"], "seconds": seconds,
                     "events_per_s": s[0]["events"] / seconds, "cpu": _common.median(x["cpu"] for x in s)})
    return _common.table(
        f"live watch: {EVENTS} ADDED events of ~1 KB ConfigMaps, each object's name read; median of {runs} fresh "
        "interpreters", rows,
        [("events_per_s", "events/s", "n"), ("seconds", "time", "s"), ("cpu", "client CPU", "s")],
        ratios=["events_per_s", "cpu"], group_key="encoding",
        notes=["ratios compare within an encoding; target: dynkube events/s >= 1.0x raw",
               "time includes the server producing the events (shared by all, noisy on 2 CPUs); client CPU is the "
               "client's own cost"] + [f"{n}: `{c}`" for n, c in CODE.items()])


def decode_table(kubeconfig: Path, runs: int, env: dict[str, str], errors: dict[str, str]) -> dict[str, Any] | None:
    script = Path(__file__).resolve()
    with tempfile.TemporaryDirectory(prefix="dynkube-bench-watch-") as tmp:
        stream = str(Path(tmp) / "stream.json")
        answer = _common.run_worker(script, ["record", str(kubeconfig), stream], timeout=WORKER_TIMEOUT, env=env)
        times: dict[str, list[float]] = {name: [] for name in DECODERS}
        for _ in range(runs):
            for name in DECODERS:
                if "error" not in answer:
                    answer = _common.run_worker(script, ["decode", name, stream], timeout=WORKER_TIMEOUT, env=env)
                if "error" in answer:
                    errors["decode"] = answer["error"]
                    return None
                times[name] += answer["times"]
    rows = []
    for name, samples in times.items():
        print(f"  decode {name:<10} median {_common.median(samples) * 1000:.1f} ms, best {min(samples) * 1000:.1f} ms",
              flush=True)
        rows.append({"name": name, "seconds": _common.median(samples), "best": min(samples),
                     "events_per_s": answer["events"] / _common.median(samples),
                     "best_events_per_s": answer["events"] / min(samples)})
    return _common.table(
        f"decoding the same {answer['events']}-event stream in memory ({answer['bytes'] / 2**20:.1f} MiB, 1 MiB "
        f"reads): CPU time, median and best of {runs} fresh interpreters x {DECODE_REPEATS}", rows,
        [("events_per_s", "events/s", "n"), ("best_events_per_s", "best events/s", "n"), ("seconds", "CPU time", "s"),
         ("best", "best CPU time", "s")], ratios=["events_per_s", "best_events_per_s"],
        notes=["raw: requests.Response.iter_lines + json.loads per line; dynkube: JSONStreamDecoder.feed + "
               "decode_event (WatchEvent with an ApiObject) per event"])


def informer_table(kubeconfig: Path, runs: int, env: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    script = Path(__file__).resolve()
    rows: list[dict[str, Any]] = []
    for name in STORES:
        timed = []
        for attempt in range(runs + 1):
            answer = _common.run_worker(script, ["informer", name, str(kubeconfig), "time"], timeout=WORKER_TIMEOUT,
                                        env=env)
            if "error" in answer:
                errors[name] = answer["error"]
                break
            if attempt:
                timed.append(answer)
        memory = _common.run_worker(script, ["informer", name, str(kubeconfig), "memory"], timeout=WORKER_TIMEOUT,
                                    env=env)
        if "error" in memory or not timed:
            errors.setdefault(name, memory.get("error", "no samples"))
            rows.append({"name": name, "error": errors[name]})
            continue
        print(f"  {name:<26} sync {_common.median(x['seconds'] for x in timed):.2f} s, retained "
              f"{memory['retained'] / 2**20:.1f} MiB", flush=True)
        rows.append({"name": name, "objects": timed[0]["objects"],
                     "seconds": _common.median(x["seconds"] for x in timed),
                     "cpu": _common.median(x["cpu"] for x in timed),
                     "rss": _common.median(x["rss_peak"] for x in timed), "retained": memory["retained"],
                     "peak": memory["peak"]})
    return _common.table(
        f"informer of {EVENTS} ConfigMaps: time to sync and memory; median of {runs} fresh interpreters", rows,
        [("objects", "objects", "n"), ("seconds", "sync time", "s"), ("cpu", "client CPU", "s"),
         ("rss", "peak RSS growth", "B"), ("retained", "tracemalloc held", "B"), ("peak", "tracemalloc peak", "B")],
        ratios=["seconds", "retained", "peak"], base="dynkube (streaming list)",
        notes=["held = Python allocations still live after sync (gc run); the official client, kr8s and lightkube "
               "have no informer"] + [f"{n}: `{c}`" for n, c in STORE_CODE.items()])


def run(options: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = _common.kubeconfig_path()
    setup = bench_list.ensure_configmaps(kubeconfig, EVENTS)
    print(f"setup: {setup}", flush=True)
    runs = 2 if options.quick else options.runs
    env = _common.child_env()
    errors: dict[str, str] = {}
    parts = set(options.parts.split(","))
    tables = [watch_table(kubeconfig, runs, env, errors)] if "watch" in parts else []
    decoded = decode_table(kubeconfig, runs, env, errors) if "decode" in parts else None
    if decoded:
        tables.append(decoded)
    if "informer" in parts:
        tables.append(informer_table(kubeconfig, runs, env, errors))
    targets: dict[str, Any] = {}
    for row in tables[0]["rows"] if "watch" in parts else ():
        if row["name"].startswith("dynkube") and row.get("events_per_s/floor") is not None:
            ratio = row["events_per_s/floor"]
            suffix = "_stdlib_json" if "stdlib" in row["name"] else ""
            targets[f"watch_events_per_s_vs_raw_{row['encoding']}{suffix}"] = {"ratio": ratio, "met": ratio >= 1.0}
    if decoded:
        for name in ("dynkube", "dynkube (stdlib json)"):
            for key in ("events_per_s", "best_events_per_s"):
                ratio = next(r for r in decoded["rows"] if r["name"] == name)[f"{key}/floor"]
                suffix = "_stdlib_json" if "stdlib" in name else ""
                targets[f"decode_{key}_vs_raw{suffix}"] = {"ratio": ratio, "met": ratio >= 1.0}
    return {"setup": setup, "errors": errors, "tables": tables, "targets": targets}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per contender")
    parser.add_argument("--parts", default="watch,decode,informer",
                        help="which tables, comma-separated (default: watch,decode,informer)")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_watch", run, worker, add_arguments))
