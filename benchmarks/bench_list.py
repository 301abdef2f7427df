"""Listing 10,000 ConfigMaps of about 1 KB, and wrapping a 10,000-object list already in memory.

Setup (reused when present): ``--objects`` ConfigMaps ``bench-cm-NNNNN`` labelled
``dynkube-bench-list=true`` in the namespace ``dynkube-bench``, created concurrently without client
rate limiting. ``--cleanup`` deletes them and exits.

Paginated list: every contender iterates the 10,000 labelled ConfigMaps with pages of 500 (kr8s
cannot be told a page size; it always asks for 100) and reads each item's ``metadata.name`` and one
data key the way its users would. dynkube runs with the JSON decoder it picks (orjson when the
``fast`` extra is installed) and, as "dynkube (stdlib json)", with ``DYNKUBE_JSON=stdlib``. Each
run is a fresh interpreter, contenders in another (seeded) order each round; the client is built,
discovery done and the connection opened (one ``limit=1`` list) before the clock starts. Time runs
report wall time and the peak RSS growth during the list (VmHWM reset just before); separate runs under ``tracemalloc``
report the peak of Python allocations (tracemalloc slows everything down, so never both at once).

Wrapping: the same 10,000 objects as one JSON document in memory: ``json.loads`` of the bytes
against ``ApiList(doc)`` (and iterating its items' names), with the anchors' equivalents.

    python benchmarks/bench_list.py [--objects 10000] [--runs 7] [--cleanup] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

NS = _common.BENCH_NAMESPACE
LABEL = "dynkube-bench-list"
SELECTOR = f"{LABEL}=true"
PAGE = 500
DEFAULT_OBJECTS = 10_000
WORKER_TIMEOUT = 600.0
WRAP_REPEATS = 7

Contender = Callable[[str], tuple[Callable[[], None], Callable[[], int]]]


# ---- setup -----------------------------------------------------------------------------------

def configmap(i: int) -> dict[str, Any]:
    """About 1 KB as the server returns it (data, labels, managedFields and the rest of metadata)."""
    return {"metadata": {"name": f"bench-cm-{i:05d}", "labels": {LABEL: "true", "shard": str(i % 10)}},
            "data": {"payload": f"{i:05d}-" * 100, "index": str(i)}}


def ensure_configmaps(kubeconfig: Path, objects: int) -> dict[str, Any]:
    import dynkube

    client = _common.admin_client(kubeconfig)
    try:
        _common.ensure_namespace(client)
        configmaps = client.resource("configmaps")
        existing = {c["metadata"]["name"] for c in configmaps.list(NS, label_selector=f"{LABEL}=true")}
        missing = [i for i in range(objects) if f"bench-cm-{i:05d}" not in existing]

        def create(i: int) -> None:
            try:
                configmaps.create(configmap(i), NS)
            except dynkube.AlreadyExists:
                pass

        started = time.monotonic()
        if missing:
            print(f"creating {len(missing)} ConfigMaps in {NS} ({objects - len(missing)} already there) ...",
                  flush=True)
            with ThreadPoolExecutor(max_workers=8) as pool:
                for _ in pool.map(create, missing):
                    pass
        return {"created": len(missing), "reused": objects - len(missing),
                "setup_seconds": round(time.monotonic() - started, 1)}
    finally:
        client.close()


def cleanup(kubeconfig: Path) -> None:
    client = _common.admin_client(kubeconfig)
    client.resource("configmaps").delete_collection(NS, label_selector=f"{LABEL}=true")
    client.close()


# ---- contenders: (prepare, iterate every item of the namespace) -----------------------------------

def _dynkube(kubeconfig: str, attributes: bool = True, stdlib: bool = False) -> tuple[Callable[[], None],
                                                                                    Callable[[], int]]:
    import os
    import tempfile

    if stdlib:
        os.environ["DYNKUBE_JSON"] = "stdlib"
    import dynkube

    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=tempfile.mkdtemp(prefix="dynkube-bench-"))
    configmaps = client.resource("configmaps")

    def prepare() -> None:
        configmaps.list_page(NS, limit=1)

    def iterate() -> int:
        n = 0
        for cm in configmaps.list(NS, label_selector=SELECTOR, limit=PAGE):
            cm.metadata.name
            cm.data["index"]
            n += 1
        return n

    def iterate_items() -> int:  # the library's own cost, without attribute access
        n = 0
        for cm in configmaps.list(NS, label_selector=SELECTOR, limit=PAGE):
            cm["metadata"]["name"]
            cm["data"]["index"]
            n += 1
        return n

    return prepare, iterate if attributes else iterate_items


def _kubernetes(kubeconfig: str) -> tuple[Callable[[], None], Callable[[], int]]:
    import tempfile

    from kubernetes import config, dynamic

    client = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig),
                                   cache_file=tempfile.mktemp(prefix="dynkube-bench-osrcp-"))
    configmaps = client.resources.get(api_version="v1", kind="ConfigMap")

    def prepare() -> None:
        configmaps.get(namespace=NS, limit=1)

    def iterate() -> int:
        n, token = 0, None
        while True:
            page = configmaps.get(namespace=NS, label_selector=SELECTOR, limit=PAGE, _continue=token)
            for cm in page.items:
                cm.metadata.name
                cm.data["index"]
                n += 1
            token = page.metadata["continue"]
            if not token:
                return n

    return prepare, iterate


def _kr8s(kubeconfig: str) -> tuple[Callable[[], None], Callable[[], int]]:
    import warnings

    import kr8s

    warnings.filterwarnings("ignore", message="Kubernetes version")
    api = kr8s.api(kubeconfig=kubeconfig)

    def prepare() -> None:
        next(iter(api.get("configmaps", "kube-root-ca.crt", namespace=NS)), None)

    def iterate() -> int:
        n = 0
        for cm in api.get("configmaps", namespace=NS, label_selector=SELECTOR):  # kr8s pages by 100, not settable
            cm.metadata.name
            cm.data["index"]
            n += 1
        return n

    return prepare, iterate


def _lightkube(kubeconfig: str) -> tuple[Callable[[], None], Callable[[], int]]:
    import lightkube
    from lightkube.resources.core_v1 import ConfigMap

    client = lightkube.Client(config=lightkube.KubeConfig.from_file(kubeconfig))

    def prepare() -> None:
        next(iter(client.list(ConfigMap, namespace=NS, chunk_size=1)), None)

    def iterate() -> int:
        n = 0
        for cm in client.list(ConfigMap, namespace=NS, labels={LABEL: "true"}, chunk_size=PAGE):
            cm.metadata.name
            cm.data["index"]  # type: ignore[index]
            n += 1
        return n

    return prepare, iterate


def _raw(kubeconfig: str, page: int | None = PAGE) -> tuple[Callable[[], None], Callable[[], int]]:
    raw = _common.RawCluster(Path(kubeconfig))
    path = f"/api/v1/namespaces/{NS}/configmaps"

    def prepare() -> None:
        raw.session.get(raw.server + path, params={"limit": 1}, timeout=120).json()

    def iterate() -> int:
        n, token = 0, None
        while True:
            params = {"labelSelector": SELECTOR, **({"limit": page, "continue": token} if page else {})}
            document = raw.session.get(raw.server + path, params=params, timeout=120).json()
            for cm in document["items"]:
                cm["metadata"]["name"]
                cm["data"]["index"]
                n += 1
            token = document["metadata"].get("continue")
            if not token:
                return n

    return prepare, iterate


CONTENDERS: dict[str, Contender] = {
    "dynkube": _dynkube,
    "dynkube (item access)": lambda kubeconfig: _dynkube(kubeconfig, attributes=False),
    "dynkube (stdlib json)": lambda kubeconfig: _dynkube(kubeconfig, stdlib=True),
    "kubernetes.dynamic": _kubernetes,
    "kr8s": _kr8s,
    "lightkube": _lightkube,
    "raw": _raw,
    "raw (one GET)": lambda kubeconfig: _raw(kubeconfig, page=None),
}
PAGE_SIZE = {"kr8s": 100, "raw (one GET)": "all"}
CODE = {
    "dynkube": "for cm in client.resource('configmaps').list(ns, label_selector=sel, limit=500): "
               "cm.metadata.name; cm.data['index']  (orjson when installed)",
    "dynkube (item access)": "the same with cm['metadata']['name']; cm['data']['index']",
    "dynkube (stdlib json)": "the same as dynkube with DYNKUBE_JSON=stdlib",
    "kubernetes.dynamic": "page = v1.get(namespace=ns, label_selector=sel, limit=500, _continue=token); "
                          "for cm in page.items: cm.metadata.name; cm.data['index'] (loop on metadata.continue)",
    "kr8s": "for cm in api.get('configmaps', namespace=ns, label_selector=sel): cm.metadata.name; "
            "cm.data['index']  (kr8s pages by 100)",
    "lightkube": "for cm in client.list(ConfigMap, namespace=ns, labels=..., chunk_size=500): cm.metadata.name; "
                 "cm.data['index']",
    "raw": "session.get(url, params={'labelSelector': sel, 'limit': 500, 'continue': token}).json(); "
           "for cm in doc['items']: cm['metadata']['name']; cm['data']['index']",
    "raw (one GET)": "session.get(url, params={'labelSelector': sel}).json() without limit (reference)",
}


# ---- workers ---------------------------------------------------------------------------------

def list_worker(name: str, kubeconfig: str, mode: str) -> None:
    prepare, iterate = CONTENDERS[name](kubeconfig)
    prepare()
    counter = _common.RequestCounter().install()
    gc.collect()
    if mode == "memory":
        tracemalloc.start()
        count = iterate()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        _common.emit({"items": count, "tracemalloc_peak": peak, "requests": counter.count})
        return
    _common.reset_peak_rss()
    baseline = _common.rss_bytes()
    started, cpu_started = time.perf_counter(), time.process_time()
    count = iterate()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    _common.emit({"items": count, "seconds": seconds, "cpu": cpu, "rss_peak": _common.peak_rss_bytes() - baseline,
                  "requests": counter.count})


def wrap_worker(kubeconfig: str) -> None:
    """Wrapping the same 10,000-object list already in memory (bytes or parsed), median of repeats."""
    import dynkube

    raw = _common.RawCluster(Path(kubeconfig))
    content = raw.get(f"/api/v1/namespaces/{NS}/configmaps").content
    raw.close()

    def timed(fn: Callable[[Any], Any], make_input: Callable[[], Any], repeats: int = WRAP_REPEATS) -> float:
        samples = []
        for _ in range(repeats):
            argument = make_input()
            gc.collect()
            started = time.perf_counter()
            fn(argument)
            samples.append(time.perf_counter() - started)
            del argument
        return _common.median(samples)

    def traced(fn: Callable[[Any], Any], make_input: Callable[[], Any]) -> int:
        argument = make_input()
        gc.collect()
        tracemalloc.start()
        kept = fn(argument)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del kept, argument
        return peak

    def names_dynkube(doc: dict[str, Any]) -> int:
        return sum(1 for cm in dynkube.ApiList(doc) if cm.metadata.name)

    def names_plain(doc: dict[str, Any]) -> int:
        return sum(1 for cm in doc["items"] if cm["metadata"]["name"])

    parsed = lambda: json.loads(content)  # noqa: E731
    as_bytes = lambda: content  # noqa: E731
    rows: list[dict[str, Any]] = []

    def row(name: str, what: str, fn: Callable[[Any], Any], make_input: Callable[[], Any], repeats: int = WRAP_REPEATS,
            **extra: Any) -> None:
        rows.append({"name": name, "what": what, "seconds": timed(fn, make_input, repeats),
                     "memory": traced(fn, make_input), **extra})

    row("json.loads", "json.loads(bytes)", json.loads, as_bytes)
    from dynkube.core import jsondecode

    jsondecode.loads(content)  # past FAST_FROM: the rows show the decoder a long list ends up with
    row("dynkube decode", f"dynkube.core.jsondecode.loads(bytes) ({jsondecode.decoder()})", jsondecode.loads, as_bytes)
    row("dynkube", "ApiList(doc)", dynkube.ApiList, parsed)
    row("dynkube + names", "ApiList(doc), then every item's .metadata.name", names_dynkube, parsed)
    row("dict + names", "doc['items'][i]['metadata']['name'] for every item", names_plain, parsed)
    errors: dict[str, str] = {}
    try:
        from kubernetes.dynamic.resource import ResourceInstance

        row("kubernetes.dynamic", "ResourceInstance(client, doc)", lambda d: ResourceInstance(None, d), parsed,
            repeats=3)
    except Exception as exc:  # an anchor failing must not stop the benchmark
        errors["kubernetes.dynamic"] = repr(exc)
    try:
        import warnings

        import kr8s
        from kr8s.objects import ConfigMap as Kr8sConfigMap

        warnings.filterwarnings("ignore", message="Kubernetes version")
        api = kr8s.api(kubeconfig=kubeconfig)
        row("kr8s", "[ConfigMap(item, api=api) for item in doc['items']]",
            lambda d: [Kr8sConfigMap(item, api=api) for item in d["items"]], parsed, repeats=3)
    except Exception as exc:
        errors["kr8s"] = repr(exc)
    try:
        from lightkube.core import decoders
        from lightkube.resources.core_v1 import ConfigMap

        row("lightkube", "decoders.decode_list(bytes, ConfigMap) (decodes bytes: no json.loads)",
            lambda b: decoders.decode_list(b, ConfigMap), as_bytes)
    except Exception as exc:
        errors["lightkube"] = repr(exc)
    _common.emit({"rows": rows, "bytes": len(content), "items": len(json.loads(content)["items"]), "errors": errors})


def profile_worker(kubeconfig: str) -> None:
    """cProfile of dynkube's paginated list of the namespace (after its warm-up request)."""
    prepare, iterate = _dynkube(kubeconfig)
    prepare()
    print(_common.profile(iterate))


def worker(argv: list[str]) -> None:
    if argv[0] == "profile":
        profile_worker(argv[1])
    elif argv[0] == "list":
        list_worker(argv[1], argv[2], argv[3])
    elif argv[0] == "wrap":
        wrap_worker(argv[1])
    else:
        raise SystemExit(f"unknown worker {argv[0]!r}")


# ---- the benchmark ---------------------------------------------------------------------------

def run(options: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = _common.kubeconfig_path()
    if options.cleanup:
        cleanup(kubeconfig)
        print(f"deleted the benchmark ConfigMaps of {NS}")
        return {"tables": [], "cleanup": True}
    if options.profile:
        profile_worker(str(kubeconfig))
        return {"tables": [], "profile": True}
    setup = ensure_configmaps(kubeconfig, options.objects)
    print(f"setup: {setup}", flush=True)
    runs = 2 if options.quick else options.runs
    env = _common.child_env()
    script = Path(__file__).resolve()
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
    memory: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for attempt in range(runs + 1):  # round 0 warms the server's and the OS's caches and is dropped
        # each round in another order (seeded), so that none always follows the same one (the
        # unpaged GET leaves the server collecting garbage for whoever comes next)
        names = list(CONTENDERS)
        random.Random(attempt).shuffle(names)
        for name in names:
            if name in errors:
                continue
            answer = _common.run_worker(script, ["list", name, str(kubeconfig), "time"], timeout=WORKER_TIMEOUT,
                                        env=env)
            if "error" in answer:
                errors[name] = answer["error"]
                continue
            if attempt:
                samples[name].append(answer)
                print(f"  {name:<20} {answer['seconds']:.3f} s (cpu {answer['cpu']:.3f} s), {answer['items']} items, "
                      f"{answer['requests']} requests, RSS +{answer['rss_peak'] / 2**20:.1f} MiB", flush=True)
    for name in CONTENDERS:
        if name not in errors:
            answer = _common.run_worker(script, ["list", name, str(kubeconfig), "memory"], timeout=WORKER_TIMEOUT,
                                        env=env)
            if "error" in answer:
                errors[name] = answer["error"]
            else:
                memory[name] = answer
    rows = []
    for name in CONTENDERS:
        s = samples[name]
        if not s:
            rows.append({"name": name, "error": errors.get(name, "no samples")})
            continue
        rows.append({"name": name, "page": PAGE_SIZE.get(name, PAGE),
                     "seconds": _common.median(x["seconds"] for x in s),
                     "min": min(x["seconds"] for x in s), "cpu": _common.median(x["cpu"] for x in s),
                     "rss": _common.median(x["rss_peak"] for x in s),
                     "traced": memory.get(name, {}).get("tracemalloc_peak"), "items": s[0]["items"],
                     "requests": _common.median(x["requests"] for x in s), "code": CODE[name]})
    listing = _common.table(
        f"paginated list of {rows[0].get('items', '?')} ConfigMaps (~1 KB), every item's name and one data key read; "
        f"median of {runs} fresh interpreters", rows,
        [("page", "page", "n"), ("requests", "requests", "n"), ("seconds", "time", "s"), ("min", "min", "s"),
         ("cpu", "client CPU", "s"), ("rss", "peak RSS growth", "B"), ("traced", "tracemalloc peak", "B")],
        ratios=["seconds", "cpu", "rss", "traced"],
        notes=["targets: dynkube at most 1.0x raw (requests + json.loads, same page size) in time, client CPU "
               "and memory; ahead of every anchor in time and client CPU",
               "time = wall clock (includes the server's work, shared by all); client CPU = CPU seconds of the "
               "client process (all its threads), the client-side cost alone",
               "kr8s cannot be given a page size through its API (always limit=100)",
               "raw (one GET) is one unpaged request: a reference, not the floor"]
        + [f"{n}: `{c}`" for n, c in CODE.items()])

    wrap = _common.run_worker(script, ["wrap", str(kubeconfig)], timeout=WORKER_TIMEOUT, env=env)
    tables = [listing]
    result: dict[str, Any] = {"setup": setup, "errors": errors}
    if "error" in wrap:
        errors["wrap"] = wrap["error"]
    else:
        wrap_rows = wrap["rows"]
        wrap_table = _common.table(
            f"wrapping a {wrap['items']}-object list already in memory ({wrap['bytes'] / 2**20:.1f} MiB of JSON); "
            f"median of {WRAP_REPEATS}", wrap_rows,
            [("what", "what", "t"), ("seconds", "time", "s"), ("memory", "tracemalloc peak", "B")],
            ratios=["seconds", "memory"], base="json.loads", floor=None,
            notes=["target: ApiList(doc) costs at most 1.2x json.loads of the same bytes",
                   "rows other than json.loads start from the parsed document, except lightkube's, which decodes "
                   "the bytes itself (compare it with json.loads + ApiList)"])
        tables.append(wrap_table)
        result["wrap"] = {k: v for k, v in wrap.items() if k != "rows"}
        errors.update({f"wrap {k}": v for k, v in wrap.get("errors", {}).items()})
    by_name = {r["name"]: r for r in rows}
    dyn = by_name.get("dynkube", {})
    targets: dict[str, Any] = {}
    if dyn.get("seconds/floor") is not None:
        for name, suffix in (("dynkube", ""), ("dynkube (stdlib json)", "_stdlib_json")):
            row = by_name.get(name, {})
            for key in ("seconds", "cpu", "rss", "traced"):
                ratio = row.get(f"{key}/floor")
                targets[f"list_{'time' if key == 'seconds' else key}_vs_raw{suffix}"] = {
                    "ratio": ratio, "met": ratio is not None and ratio <= 1.0}
        targets["list_ahead_of_anchors"] = {  # ahead = less wall time and less client CPU
            n: {"anchor_over_dynkube": (1 / by_name[n]["seconds/base"]) if by_name[n].get("seconds/base") else None,
                "anchor_cpu_over_dynkube": (1 / by_name[n]["cpu/base"]) if by_name[n].get("cpu/base") else None,
                "met": bool(by_name[n].get("seconds/base") and by_name[n]["seconds/base"] > 1
                            and by_name[n].get("cpu/base") and by_name[n]["cpu/base"] > 1)}
            for n in ("kubernetes.dynamic", "kr8s", "lightkube") if n in by_name}
    if "rows" in wrap:
        loads_s = wrap["rows"][0]["seconds"]
        apilist = next(r for r in wrap["rows"] if r["what"] == "ApiList(doc)")
        targets["wrap_vs_json_loads"] = {"ratio": apilist["seconds"] / loads_s,
                                         "met": apilist["seconds"] / loads_s <= 1.2}
    result.update({"tables": tables, "targets": targets})
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--objects", type=int, default=DEFAULT_OBJECTS, help="ConfigMaps to list (default 10000)")
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per contender")
    parser.add_argument("--cleanup", action="store_true", help="delete the benchmark ConfigMaps and exit")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of dynkube's paginated list and exit (ConfigMaps must exist)")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_list", run, worker, add_arguments))
