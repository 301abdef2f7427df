"""Raw async HTTP floors: which asyncio HTTP library ``dynkube.aio`` should stand on (issue 12).

No dynkube code is measured: each contender is an async HTTP library used directly, the way a
library on top of it would, plus ``json.loads`` — the floor a client built on it could reach.
Contenders: aiohttp, httpx, httpx2 (the maintained fork of httpx), niquests (``AsyncSession``;
HTTP/2 negotiated by default, and forced to HTTP/1.1), httpx with ``http2=True``, and the sync floor
(``requests`` + ``json.loads``, as bench_list has it) as the reference. A contender whose library is
not installed is reported as missing, not as a failure. Install niquests with
``URLLIB3_NO_OVERRIDE=1 pip install --no-binary urllib3-future niquests``: its urllib3-future wheel
otherwise replaces the ``urllib3`` package, and the sync floor would measure that instead.

TLS: the async contenders build their credentials from the kubeconfig's in-memory data (CA and client
certificate): an ``ssl.SSLContext`` (the client certificate and key are loaded from a memfd, never
written to disk) for aiohttp and httpx/httpx2; niquests takes the PEM strings themselves
(``verify=<CA PEM>``, ``cert=(<cert PEM>, <key PEM>)``). Every contender sends
``Accept-Encoding: gzip`` for GETs and lists (so the server compresses the same way for all) and
``identity`` for watches (httpx cannot decode the server's multi-member gzip watch body); no proxy.

Objects: bench_list's 10,000 ConfigMaps of about 1 KB (``dynkube-bench-list=true`` in the namespace
``dynkube-bench``; created when missing). Scenarios, each one fresh interpreter per contender and
run, contenders interleaved, round 0 dropped (it warms the server's and the OS's caches):

- list: every ConfigMap of the namespace in pages of 500, ``json.loads`` of each page, each object's
  ``metadata.name`` and ``data["index"]`` read: wall time, client CPU, peak RSS growth; the peak of
  Python allocations comes from one separate run under ``tracemalloc`` per contender.
- watch: a watch without resourceVersion over the same ConfigMaps (10,000 ADDED events from the
  watch cache), the body split into lines and each ``json.loads``-ed up to the 10,000th: events/s and
  client CPU.
- gets: 100 concurrent GETs of one ConfigMap (``asyncio.gather`` over one client, one connection
  already open): wall time of the first gather (it opens whatever connections the pool opens) and
  of a second one (warm pool), and the connections the client holds after. The sync reference does the
  100 GETs one after another on one session.

Ratios are to the fastest row of the same column (1.00x is the fastest). The spread is the range over
the runs.

    python benchmarks/bench_async_http.py [--runs 3] [--quick] [--only aiohttp,httpx] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import ssl
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import bench_list  # noqa: E402  (the shared 10,000 ConfigMaps)

NS = _common.BENCH_NAMESPACE
PATH = f"/api/v1/namespaces/{NS}/configmaps"
ONE = f"{PATH}/bench-cm-00000"
SELECTOR = f"{bench_list.LABEL}=true"
PAGE = 500
EVENTS = 10_000
CONCURRENT = 100
READ = 1 << 20
WORKER_TIMEOUT = 600.0
HEADERS = {"Accept-Encoding": "gzip", "Accept": "application/json"}
# Watches ask for identity: the server's gzip watch body is several gzip members one after another,
# and httpx/httpx2 decode only the first (the watch then stalls silently; see docs/async-http-choice.md)
IDENTITY = {"Accept-Encoding": "identity"}
SYNC = "requests (sync)"
SCENARIOS = ("list", "watch", "gets")


# ---- credentials from the kubeconfig, in memory ----------------------------------------------------

class Credentials:
    """The current context's server, CA and client certificate, as PEM bytes (nothing written to disk)."""

    def __init__(self, kubeconfig: Path) -> None:
        import yaml

        config = yaml.safe_load(kubeconfig.read_text())
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        self.server: str = cluster["server"].rstrip("/")
        self.ca = base64.b64decode(cluster["certificate-authority-data"])
        self.cert = base64.b64decode(user["client-certificate-data"])
        self.key = base64.b64decode(user["client-key-data"])

    def ssl_context(self) -> ssl.SSLContext:
        """CA from memory (``cadata``); the client certificate and key through a memfd, because
        ``SSLContext.load_cert_chain`` only reads files."""
        context = ssl.create_default_context(cadata=self.ca.decode())
        fd = os.memfd_create("dynkube-client-cert")
        try:
            os.write(fd, self.cert + b"\n" + self.key)
            context.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return context


def open_sockets() -> int:
    """Sockets this process holds open (from /proc/self/fd)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


# ---- contenders: get(path, params) -> body bytes; stream(path, params) -> chunks --------------------

Params = dict[str, str]


class Async:
    """One async HTTP library, used directly."""

    async def get(self, path: str, params: Params | None = None) -> bytes:
        raise NotImplementedError

    def stream(self, path: str, params: Params) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class Aiohttp(Async):
    def __init__(self, creds: Credentials) -> None:
        import aiohttp

        self.server = creds.server
        # total=None: aiohttp's default ClientTimeout(total=300) would end any watch after 5 minutes
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=creds.ssl_context()),
                                             timeout=timeout, headers=HEADERS)

    async def get(self, path: str, params: Params | None = None) -> bytes:
        async with self.session.get(self.server + path, params=params) as response:
            response.raise_for_status()
            return await response.read()

    @asynccontextmanager
    async def stream(self, path: str, params: Params) -> AsyncIterator[AsyncIterator[bytes]]:
        async with self.session.get(self.server + path, params=params, headers=IDENTITY) as response:
            response.raise_for_status()
            yield response.content.iter_chunked(READ)

    async def close(self) -> None:
        await self.session.close()


class Httpx(Async):
    def __init__(self, creds: Credentials, module: str = "httpx", http2: bool = False) -> None:
        httpx = __import__(module)
        self.server = creds.server
        self.client = httpx.AsyncClient(verify=creds.ssl_context(), http2=http2, headers=HEADERS, trust_env=False,
                                        timeout=httpx.Timeout(10, read=120))

    async def get(self, path: str, params: Params | None = None) -> bytes:
        response = await self.client.get(self.server + path, params=params)
        response.raise_for_status()
        content: bytes = response.content
        return content

    @asynccontextmanager
    async def stream(self, path: str, params: Params) -> AsyncIterator[AsyncIterator[bytes]]:
        async with self.client.stream("GET", self.server + path, params=params, headers=IDENTITY) as response:
            response.raise_for_status()
            yield response.aiter_bytes()  # no chunk_size: httpx would hold bytes back until it has that many

    async def close(self) -> None:
        await self.client.aclose()


class Niquests(Async):
    def __init__(self, creds: Credentials, http2: bool = True) -> None:
        import niquests

        self.server = creds.server
        self.session = niquests.AsyncSession(disable_http2=not http2, disable_http3=True, headers=HEADERS,
                                             timeout=(10, 120))
        self.session.trust_env = False
        self.session.verify = creds.ca.decode()
        self.session.cert = (creds.cert.decode(), creds.key.decode())

    async def get(self, path: str, params: Params | None = None) -> bytes:
        response = await self.session.get(self.server + path, params=params)
        response.raise_for_status()
        return response.content or b""

    @asynccontextmanager
    async def stream(self, path: str, params: Params) -> AsyncIterator[AsyncIterator[bytes]]:
        response = await self.session.get(self.server + path, params=params, headers=IDENTITY, stream=True)
        try:
            response.raise_for_status()
            yield await response.iter_content(-1)  # a positive size waits until that many bytes have come
        finally:
            await response.close()

    async def close(self) -> None:
        await self.session.close()


ASYNC: dict[str, tuple[tuple[str, ...], Callable[[Credentials], Async]]] = {  # name: (modules it needs, build)
    "aiohttp": (("aiohttp",), Aiohttp),
    "httpx": (("httpx",), Httpx),
    "httpx2": (("httpx2",), lambda creds: Httpx(creds, "httpx2")),
    "niquests": (("niquests",), Niquests),
    "niquests (http/1.1)": (("niquests",), lambda creds: Niquests(creds, http2=False)),
    "httpx (http2=True)": (("httpx", "h2"), lambda creds: Httpx(creds, http2=True)),
}
CONTENDERS = [*ASYNC, SYNC]
CODE = {
    "aiohttp": "ClientSession(connector=TCPConnector(ssl=ctx), timeout=ClientTimeout(total=None, sock_read=120)); "
               "await r.read() / r.content.iter_chunked(1 MiB)",
    "httpx": "AsyncClient(verify=ctx, timeout=Timeout(10, read=120)); r.content / r.aiter_bytes()",
    "httpx2": "the same code as httpx, with import httpx2",
    "niquests": "AsyncSession(timeout=(10, 120)), verify=<CA PEM>, cert=(<PEM>, <PEM>); r.content / "
                "await r.iter_content(-1) (stream=True); HTTP/2 negotiated by ALPN",
    "niquests (http/1.1)": "the same with AsyncSession(disable_http2=True)",
    "httpx (http2=True)": "httpx with AsyncClient(http2=True) (needs h2)",
    SYNC: "requests.Session (certificates in temporary files): json.loads(session.get(url, params).content), "
          "r.iter_content(1 MiB) for the watch, 100 GETs one after another",
}


def read_items(body: bytes) -> tuple[int, str | None]:
    """json.loads of a page; every item's name and one data key read; the number of items and the
    continue token."""
    document = json.loads(body)
    n = 0
    for item in document["items"]:
        item["metadata"]["name"]
        (item.get("data") or {}).get("index")
        n += 1
    return n, document["metadata"].get("continue")


def list_params(token: str | None) -> Params:
    return {"limit": str(PAGE), "continue": token} if token else {"limit": str(PAGE)}


WATCH_PARAMS: Params = {"watch": "true", "labelSelector": SELECTOR, "allowWatchBookmarks": "true"}


async def split_events(chunks: AsyncIterator[bytes], limit: int) -> int:
    """Split a watch body into lines, json.loads each, read the object's name; stop after ``limit``."""
    n, rest = 0, b""
    async for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            if line:
                json.loads(line)["object"]["metadata"]["name"]
                n += 1
                if n == limit:
                    return n
    return n


# ---- async scenarios: prepare (untimed), then the timed part -----------------------------------------

async def async_list(client: Async) -> dict[str, Any]:
    n, token = 0, None
    while True:
        items, token = read_items(await client.get(PATH, list_params(token)))
        n += items
        if not token:
            return {"items": n}


async def async_watch(client: Async) -> dict[str, Any]:
    async with client.stream(PATH, WATCH_PARAMS) as chunks:
        return {"events": await split_events(chunks, EVENTS)}


async def async_gets(client: Async) -> dict[str, Any]:
    async def one() -> None:
        json.loads(await client.get(ONE))["metadata"]["name"]

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    first = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    return {"first": first, "second": time.perf_counter() - started, "sockets": open_sockets()}


ASYNC_SCENARIOS: dict[str, Callable[[Async], Awaitable[dict[str, Any]]]] = {
    "list": async_list, "watch": async_watch, "gets": async_gets}


class Meter:
    """Started just before the timed part: wall, CPU and peak RSS growth of it or, in memory mode, the
    tracemalloc peak (never both: tracemalloc slows everything down)."""

    def __init__(self, mode: str) -> None:
        self.memory = mode == "memory"
        gc.collect()
        if self.memory:
            tracemalloc.start()
            return
        _common.reset_peak_rss()
        self.baseline = _common.rss_bytes()
        self.started, self.cpu = time.perf_counter(), time.process_time()

    def done(self, answer: dict[str, Any]) -> dict[str, Any]:
        if self.memory:
            answer["traced"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return answer
        answer.update(seconds=time.perf_counter() - self.started, cpu=time.process_time() - self.cpu,
                      rss_peak=_common.peak_rss_bytes() - self.baseline)
        return answer


def async_worker(name: str, scenario: str, kubeconfig: str, mode: str) -> None:
    creds = Credentials(Path(kubeconfig))

    async def main() -> dict[str, Any]:
        before = open_sockets()  # the event loop's own socketpair
        client = ASYNC[name][1](creds)
        try:
            await client.get(PATH, {"limit": "1"})  # the connection is open before the clock starts
            meter = Meter(mode)
            answer = meter.done(await ASYNC_SCENARIOS[scenario](client))
            if "sockets" in answer:
                answer["sockets"] -= before
            return answer
        finally:
            await client.close()

    _common.emit(asyncio.run(main()))


# ---- the sync reference ------------------------------------------------------------------------------

def sync_worker(scenario: str, kubeconfig: str, mode: str) -> None:
    before = open_sockets()
    raw = _common.RawCluster(Path(kubeconfig))
    raw.session.headers.update(HEADERS)
    session, server = raw.session, raw.server
    session.get(server + PATH, params={"limit": 1}, timeout=120).raise_for_status()

    def get(path: str, params: Params | None = None) -> bytes:
        response = session.get(server + path, params=params, timeout=(10, 120))
        response.raise_for_status()
        content: bytes = response.content
        return content

    def listing() -> dict[str, Any]:
        n, token = 0, None
        while True:
            items, token = read_items(get(PATH, list_params(token)))
            n += items
            if not token:
                return {"items": n}

    def watch() -> dict[str, Any]:
        response = session.get(server + PATH, params=WATCH_PARAMS, headers=IDENTITY, stream=True, timeout=(10, 120))
        response.raise_for_status()
        n, rest = 0, b""
        for chunk in response.iter_content(READ):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if line:
                    json.loads(line)["object"]["metadata"]["name"]
                    n += 1
                    if n == EVENTS:
                        response.close()
                        return {"events": n}
        response.close()
        return {"events": n}

    def gets() -> dict[str, Any]:
        def batch() -> float:
            started = time.perf_counter()
            for _ in range(CONCURRENT):
                json.loads(get(ONE))["metadata"]["name"]
            return time.perf_counter() - started

        first = batch()
        return {"first": first, "second": batch(), "sockets": open_sockets() - before}

    meter = Meter(mode)
    answer = meter.done({"list": listing, "watch": watch, "gets": gets}[scenario]())
    raw.close()
    _common.emit(answer)


def worker(argv: list[str]) -> None:
    name, scenario, kubeconfig, mode = argv
    if name == SYNC:
        sync_worker(scenario, kubeconfig, mode)
    else:
        async_worker(name, scenario, kubeconfig, mode)


# ---- the benchmark -----------------------------------------------------------------------------------

def installed(name: str) -> bool:
    if name == SYNC:
        return True
    import importlib.util

    return all(importlib.util.find_spec(module) is not None for module in ASYNC[name][0])


def spread(values: list[float], unit: str) -> str:
    return f"{_common.fmt_value(min(values), unit)} - {_common.fmt_value(max(values), unit)}"


def with_ratios(rows: list[dict[str, Any]], keys: dict[str, bool]) -> None:
    """For each key, ``key/best``: the row's value over the best row's (``True``: higher is better, then
    the best's value over the row's), so 1.00x is the fastest and larger is slower."""
    for key, higher_better in keys.items():
        values = [r[key] for r in rows if isinstance(r.get(key), (int, float)) and r[key] > 0]
        if not values:
            continue
        best = max(values) if higher_better else min(values)
        for r in rows:
            value = r.get(key)
            if isinstance(value, (int, float)) and value > 0:
                r[f"{key}/best"] = (best / value) if higher_better else (value / best)
                r[f"{key}_vs_best"] = f"{r[f'{key}/best']:.2f}x"


def run(options: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = _common.kubeconfig_path()
    setup = bench_list.ensure_configmaps(kubeconfig, EVENTS)
    print(f"setup: {setup}", flush=True)
    runs = 2 if options.quick else options.runs
    wanted = options.only.split(",") if options.only else CONTENDERS
    unknown = [n for n in wanted if n not in CONTENDERS]
    if unknown:
        sys.exit(f"bench_async_http: unknown contender {', '.join(unknown)} (have: {', '.join(CONTENDERS)})")
    missing = [n for n in wanted if not installed(n)]
    names = [n for n in CONTENDERS if n in wanted and n not in missing]
    if missing:
        print(f"not installed, left out: {', '.join(missing)}", flush=True)
    env = _common.child_env()
    script = Path(__file__).resolve()
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {(n, s): [] for n in names for s in SCENARIOS}
    errors: dict[str, str] = {}
    for attempt in range(runs + 1):  # round 0 warms caches and is dropped
        for scenario in SCENARIOS:
            for name in names:
                key = f"{name} {scenario}"
                if key in errors:
                    continue
                answer = _common.run_worker(script, [name, scenario, str(kubeconfig), "time"],
                                            timeout=WORKER_TIMEOUT, env=env)
                if "error" in answer:
                    errors[key] = answer["error"]
                    print(f"  {key}: {answer['error']}", flush=True)
                elif attempt:
                    samples[(name, scenario)].append(answer)
                    print(f"  {scenario:<5} {name:<20} {answer['seconds']:.3f} s (cpu {answer['cpu']:.3f} s) "
                          + json.dumps({k: v for k, v in answer.items() if k not in ("seconds", "cpu")}), flush=True)
    traced: dict[str, int] = {}
    for name in names:
        if f"{name} list" not in errors:
            answer = _common.run_worker(script, [name, "list", str(kubeconfig), "memory"], timeout=WORKER_TIMEOUT,
                                        env=env)
            if "error" in answer:
                errors[f"{name} list memory"] = answer["error"]
            else:
                traced[name] = answer["traced"]
    tables = [list_table(names, samples, traced, runs, errors), watch_table(names, samples, runs, errors),
              gets_table(names, samples, runs, errors)]
    return {"setup": setup, "errors": errors, "missing": missing, "tables": tables,
            "samples": {f"{n} {s}": v for (n, s), v in samples.items()}}


def _error_row(name: str, scenario: str, errors: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "error": errors.get(f"{name} {scenario}", "no samples")}


def list_table(names: list[str], samples: dict[tuple[str, str], list[dict[str, Any]]], traced: dict[str, int],
               runs: int, errors: dict[str, str]) -> dict[str, Any]:
    rows = []
    for name in names:
        s = samples[(name, "list")]
        if not s:
            rows.append(_error_row(name, "list", errors))
            continue
        rows.append({"name": name, "items": s[0]["items"], "seconds": _common.median(x["seconds"] for x in s),
                     "seconds_spread": spread([x["seconds"] for x in s], "s"),
                     "cpu": _common.median(x["cpu"] for x in s), "cpu_spread": spread([x["cpu"] for x in s], "s"),
                     "rss": _common.median(x["rss_peak"] for x in s), "traced": traced.get(name)})
    with_ratios(rows, {"seconds": False, "cpu": False, "rss": False, "traced": False})
    return _common.table(
        f"list {rows[0].get('items', '?')} ConfigMaps in pages of {PAGE}, json.loads + name + one data key; "
        f"median of {runs} fresh interpreters", rows,
        [("items", "items", "n"), ("seconds", "time", "s"), ("seconds_vs_best", "vs fastest", "t"),
         ("seconds_spread", "time range", "t"), ("cpu", "client CPU", "s"), ("cpu_vs_best", "vs fastest", "t"),
         ("cpu_spread", "CPU range", "t"), ("rss", "peak RSS growth", "B"), ("rss_vs_best", "vs best", "t"),
         ("traced", "tracemalloc peak", "B"), ("traced_vs_best", "vs best", "t")],
        base=None, floor=None,
        notes=["time = wall clock (includes the server's work, shared by all); client CPU = CPU seconds of the "
               "client process; tracemalloc peak from one separate run per contender"]
        + [f"{n}: `{c}`" for n, c in CODE.items() if n in names])


def watch_table(names: list[str], samples: dict[tuple[str, str], list[dict[str, Any]]], runs: int,
                errors: dict[str, str]) -> dict[str, Any]:
    rows = []
    for name in names:
        s = samples[(name, "watch")]
        if not s:
            rows.append(_error_row(name, "watch", errors))
            continue
        rates = [x["events"] / x["seconds"] for x in s]
        rows.append({"name": name, "events": s[0]["events"], "events_per_s": _common.median(rates),
                     "rate_spread": f"{min(rates):.0f} - {max(rates):.0f}",
                     "cpu": _common.median(x["cpu"] for x in s), "cpu_spread": spread([x["cpu"] for x in s], "s")})
    with_ratios(rows, {"events_per_s": True, "cpu": False})
    return _common.table(
        f"watch without resourceVersion: {EVENTS} ADDED events, lines split + json.loads + name; median of {runs} "
        "fresh interpreters", rows,
        [("events", "events", "n"), ("events_per_s", "events/s", "n"),
         ("events_per_s_vs_best", "fastest is x faster", "t"),
         ("rate_spread", "events/s range", "t"), ("cpu", "client CPU", "s"), ("cpu_vs_best", "vs fastest", "t"),
         ("cpu_spread", "CPU range", "t")],
        base=None, floor=None,
        notes=["events/s includes the server producing the events from its watch cache (shared by all)"])


def gets_table(names: list[str], samples: dict[tuple[str, str], list[dict[str, Any]]], runs: int,
               errors: dict[str, str]) -> dict[str, Any]:
    rows = []
    for name in names:
        s = samples[(name, "gets")]
        if not s:
            rows.append(_error_row(name, "gets", errors))
            continue
        rows.append({"name": name, "first": _common.median(x["first"] for x in s),
                     "first_spread": spread([x["first"] for x in s], "s"),
                     "second": _common.median(x["second"] for x in s),
                     "second_spread": spread([x["second"] for x in s], "s"),
                     "cpu": _common.median(x["cpu"] for x in s), "sockets": _common.median(x["sockets"] for x in s)})
    with_ratios(rows, {"first": False, "second": False, "cpu": False})
    return _common.table(
        f"{CONCURRENT} concurrent GETs of one ConfigMap (asyncio.gather over one client), twice; median of {runs} "
        "fresh interpreters", rows,
        [("first", "first gather", "s"), ("first_vs_best", "vs fastest", "t"), ("first_spread", "range", "t"),
         ("second", "second gather", "s"), ("second_vs_best", "vs fastest", "t"), ("second_spread", "range", "t"),
         ("cpu", "client CPU (both)", "s"), ("cpu_vs_best", "vs fastest", "t"), ("sockets", "connections after", "n")],
        base=None, floor=None,
        notes=["one connection is open before the first gather; 'connections after' = sockets the process holds "
               "after the second gather that it did not hold before the client was made (the pool the library built)",
               f"{SYNC}: the {CONCURRENT} GETs one after another on one session (a reference, not concurrent)"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=3, help="fresh interpreters per contender and scenario")
    parser.add_argument("--only", help=f"comma-separated contenders (default all: {', '.join(CONTENDERS)})")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_async_http", run, worker, add_arguments))
