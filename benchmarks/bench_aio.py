"""The asyncio client (``dynkube.aio``) against the async anchors and the async raw floor (issue 12).

Contenders: ``dynkube.aio``; the official client's ``kubernetes.aio`` (its asyncio copy, shipped in
the ``kubernetes`` package since 37: no ``kubernetes_asyncio`` needed); kr8s's async API
(``kr8s.asyncio``); lightkube's ``AsyncClient``; the async raw floor (aiohttp + ``json.loads``, the
code of ``bench_async_http.py``, so the floor is measured the same way there and here); and, as
reference rows, the sync ``dynkube`` and the sync floor (requests + ``json.loads``, also from
``bench_async_http.py``). Objects: bench_list's 10,000 ConfigMaps of about 1 KB.

Scenarios, each run in a fresh interpreter per contender and run, contenders interleaved, round 0
dropped (it warms the server's and the OS's caches):

- cold: from process start to the first answer: a ``python -c`` program that imports the library,
  builds the client from the kubeconfig, resolves ConfigMaps (discovery, with an empty cache
  directory for the libraries that have one) and GETs one ConfigMap. Wall time measured from just
  before the parent starts the interpreter; CPU is the whole process's.
- list: every ConfigMap of the namespace in pages of 500 (kr8s cannot be told: 100), each object's
  ``metadata.name`` and ``data["index"]`` read: wall, client CPU, peak RSS growth; the peak of Python
  allocations from one separate run under ``tracemalloc`` per contender.
- watch: a watch without resourceVersion on the ConfigMaps (10,000 ADDED events from the watch
  cache), each object's name read up to the 10,000th; every contender asks for ``identity`` (httpx,
  under kr8s and lightkube, cannot decode the server's multi-member gzip watch body): events/s, CPU.
- gets: 100 concurrent GETs of one ConfigMap (``asyncio.gather`` over one client, one connection
  open before): wall of the first gather (the pool grows) and of a second one (warm pool). The sync
  rows do the 100 GETs one after another.

A sync check in the same run: bench_list's own list workers for ``dynkube`` and ``raw`` (its
``cm.metadata.name`` loop), to compare with the sync numbers in docs/performance.md; with
``--before TREE`` also bench_list's ``dynkube`` importing the ``dynkube/`` package of TREE (for
example ``git archive main dynkube | tar -x -C TREE``), and the ``dynkube.aio`` and ``dynkube (sync)``
rows of every scenario again with TREE's package (``dynkube.aio (before)``, ``dynkube (sync, before)``),
so a change is measured before and after in one run. TREE comes first on ``PYTHONPATH``, which wins
over an editable install only in its ``compat`` mode (``pip install -e . --config-settings
editable_mode=compat``); each worker checks that it imported TREE's package.

    python benchmarks/bench_aio.py [--runs 3] [--quick] [--only list,gets] [--before TREE] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import bench_async_http as floors  # noqa: E402  (the aiohttp and requests floors)
import bench_list  # noqa: E402  (the shared 10,000 ConfigMaps)

NS = _common.BENCH_NAMESPACE
PATH = f"/api/v1/namespaces/{NS}/configmaps"
NAME = "bench-cm-00000"
SELECTOR = f"{bench_list.LABEL}=true"
PAGE = 500
EVENTS = 10_000
CONCURRENT = 100
WORKER_TIMEOUT = 600.0
SCENARIOS = ("cold", "list", "watch", "gets")

BASE = "dynkube.aio"
FLOOR = "aiohttp (floor)"
SYNC = "dynkube (sync)"
SYNC_FLOOR = "requests (sync floor)"
ANCHORS = ("kubernetes.aio", "kr8s.asyncio", "lightkube.AsyncClient")
CONTENDERS = (BASE, *ANCHORS, FLOOR, SYNC, SYNC_FLOOR)
SYNC_CHECK = ("dynkube", "raw")  # bench_list's contenders, run by bench_list.py's worker
BEFORE = "dynkube (before)"  # bench_list's dynkube imported from the tree given with --before
BASE_BEFORE = "dynkube.aio (before)"  # with --before: this module's dynkube.aio and sync rows, importing TREE's
SYNC_BEFORE = "dynkube (sync, before)"
BEFORE_ROWS = {BASE_BEFORE: BASE, SYNC_BEFORE: SYNC}
PAGE_SIZE = {"kr8s.asyncio": 100}


# ---- cold: a python -c program per contender, timed from process start -------------------------------

_COLD_PRELUDE = """
import json, sys, time
spawned, kubeconfig, cache = float(sys.argv[1]), sys.argv[2], sys.argv[3]
NS, NAME = {ns!r}, {name!r}
counted = []
def count():
    mods = sys.modules
    if "aiohttp" in mods:
        original = mods["aiohttp"].ClientSession._request
        async def request(self, method, url, *a, **k):
            counted.append(method)
            return await original(self, method, url, *a, **k)
        mods["aiohttp"].ClientSession._request = request
    for name in ("httpx", "httpx2"):
        if name in mods:
            original_h = mods[name].AsyncHTTPTransport.handle_async_request
            async def handle(self, request, _o=original_h):
                counted.append(request.method)
                return await _o(self, request)
            mods[name].AsyncHTTPTransport.handle_async_request = handle
    if "urllib3" in mods:
        import urllib3.connectionpool as pool
        original_u = pool.HTTPConnectionPool._make_request
        def make(self, conn, method, url, *a, **k):
            counted.append(method)
            return original_u(self, conn, method, url, *a, **k)
        pool.HTTPConnectionPool._make_request = make
def check_tree(module):
    import os
    tree = os.environ.get("DYNKUBE_BENCH_TREE")
    assert not tree or module.__file__.startswith(tree), f"{{module.__file__}} is not from {{tree}}"
def done(imported, name):
    assert name == NAME, name
    print("{marker}" + json.dumps({{"seconds": time.time() - spawned, "imports": imported - spawned,
                                    "cpu": time.process_time(), "requests": len(counted)}}), flush=True)
"""

COLD: dict[str, str] = {
    BASE: """
import asyncio, dynkube.aio
imported = time.time(); count(); check_tree(dynkube)
async def main():
    async with dynkube.aio.Client(kubeconfig=kubeconfig, cache_dir=cache) as client:
        cm = await (await client.resource("configmaps")).get(NAME, NS)
        done(imported, cm.metadata.name)
asyncio.run(main())
""",
    "kubernetes.aio": """
import asyncio
from kubernetes.aio import config, dynamic
imported = time.time(); count()
async def main():
    api = await config.new_client_from_config(config_file=kubeconfig)
    async with api:
        client = await dynamic.DynamicClient(api, cache_file=cache + "/discovery.json")
        configmaps = await client.resources.get(api_version="v1", kind="ConfigMap")
        cm = await configmaps.get(name=NAME, namespace=NS)
        done(imported, cm.metadata.name)
asyncio.run(main())
""",
    "kr8s.asyncio": """
import asyncio, warnings, kr8s.asyncio
warnings.filterwarnings("ignore", message="Kubernetes version")
imported = time.time(); count()
async def main():
    api = await kr8s.asyncio.api(kubeconfig=kubeconfig)
    async for cm in api.get("configmaps", NAME, namespace=NS):
        done(imported, cm.metadata.name)
asyncio.run(main())
""",
    "lightkube.AsyncClient": """
import asyncio, lightkube
from lightkube.resources.core_v1 import ConfigMap
imported = time.time(); count()
async def main():
    client = lightkube.AsyncClient(config=lightkube.KubeConfig.from_file(kubeconfig))
    cm = await client.get(ConfigMap, NAME, namespace=NS)
    done(imported, cm.metadata.name)
    await client.close()
asyncio.run(main())
""",
    FLOOR: """
import asyncio, base64, os, ssl, aiohttp, yaml
imported = time.time(); count()
async def main():
    config = yaml.safe_load(open(kubeconfig).read())
    context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    tls = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    fd = os.memfd_create("cert")
    os.write(fd, base64.b64decode(user["client-certificate-data"]) + b"\\n" + base64.b64decode(user["client-key-data"]))
    tls.load_cert_chain(f"/proc/self/fd/{fd}")
    os.close(fd)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as session:
        async with session.get(f"{cluster['server']}/api/v1/namespaces/{NS}/configmaps/{NAME}") as r:
            r.raise_for_status()
            done(imported, json.loads(await r.read())["metadata"]["name"])
asyncio.run(main())
""",
    SYNC: """
from dynkube import Client  # loads the client and requests (import dynkube alone loads neither)
imported = time.time(); count(); check_tree(sys.modules["dynkube"])
with Client(kubeconfig=kubeconfig, cache_dir=cache) as client:
    done(imported, client.resource("configmaps").get(NAME, NS).metadata.name)
""",
    SYNC_FLOOR: """
import base64, os, requests, yaml
imported = time.time(); count()
config = yaml.safe_load(open(kubeconfig).read())
context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
def write(name, b64):
    path = os.path.join(cache, name)
    with open(path, "wb") as f:
        f.write(base64.b64decode(b64))
    return path
session = requests.Session()
session.trust_env = False
session.verify = write("ca.crt", cluster["certificate-authority-data"])
session.cert = (write("client.crt", user["client-certificate-data"]), write("client.key", user["client-key-data"]))
r = session.get(f"{cluster['server']}/api/v1/namespaces/{NS}/configmaps/{NAME}", timeout=60)
r.raise_for_status()
done(imported, json.loads(r.content)["metadata"]["name"])
""",
}
COLD_CODE = {
    BASE: "Client(kubeconfig=..., cache_dir=<empty>); await (await client.resource('configmaps')).get(name, ns)",
    "kubernetes.aio": "await DynamicClient(await new_client_from_config(...), cache_file=<new>); "
                      "await (await client.resources.get(api_version='v1', kind='ConfigMap')).get(name=, namespace=)",
    "kr8s.asyncio": "api = await kr8s.asyncio.api(kubeconfig=...); async for cm in api.get('configmaps', name, "
                    "namespace=ns)",
    "lightkube.AsyncClient": "await AsyncClient(config=KubeConfig.from_file(...)).get(ConfigMap, name, namespace=ns) "
                             "(the model is declared in lightkube: no discovery)",
    FLOOR: "aiohttp.ClientSession(TCPConnector(ssl=<context from the kubeconfig's data>)); GET of the URL; json.loads",
    SYNC: "dynkube.Client(kubeconfig=..., cache_dir=<empty>).resource('configmaps').get(name, ns)",
    SYNC_FLOOR: "requests.Session() (certificates written to files); GET of the URL; json.loads",
}


def cold_run(name: str, kubeconfig: Path, env: dict[str, str]) -> dict[str, Any]:
    """One cold start of ``name`` in a fresh interpreter with an empty cache directory."""
    program = _COLD_PRELUDE.format(ns=NS, name=NAME, marker=_common.RESULT_MARKER) + COLD[name]
    with tempfile.TemporaryDirectory(prefix="dynkube-bench-aio-") as cache:
        spawned = time.time()
        try:
            done = subprocess.run([sys.executable, "-c", program, repr(spawned), str(kubeconfig), cache],
                                  capture_output=True, text=True, timeout=WORKER_TIMEOUT, env=env, cwd=cache)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {WORKER_TIMEOUT:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(_common.RESULT_MARKER):
            answer: dict[str, Any] = json.loads(line[len(_common.RESULT_MARKER):])
            return answer
    return {"error": f"exit {done.returncode}: " + " | ".join((done.stderr or done.stdout).strip().splitlines()[-6:])}


# ---- list, watch, gets: one class per library -----------------------------------------------------------

class Contender:
    """One async library: ``setup`` (untimed: client, discovery, one open connection), then the scenarios."""

    async def setup(self, kubeconfig: str, identity: bool) -> None:
        raise NotImplementedError

    async def list_all(self) -> int:
        raise NotImplementedError

    async def watch(self) -> int:
        raise NotImplementedError

    async def get_one(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class Dynkube(Contender):
    async def setup(self, kubeconfig: str, identity: bool) -> None:
        import dynkube.aio
        from dynkube.config import load_kubeconfig

        check_tree(dynkube.aio)
        config = load_kubeconfig(kubeconfig)
        if identity:
            config = config.replace(disable_compression=True)
        self.client = dynkube.aio.Client(config, cache_dir=tempfile.mkdtemp(prefix="dynkube-bench-"))
        self.configmaps = await self.client.resource("configmaps")
        await self.configmaps.list_page(NS, limit=1)

    async def list_all(self) -> int:
        n = 0
        async for cm in self.configmaps.list(NS, limit=PAGE):
            cm.metadata.name
            cm.data.get("index")
            n += 1
        return n

    async def watch(self) -> int:
        n = 0
        async with self.configmaps.watch(NS, label_selector=SELECTOR) as events:
            async for event in events:
                event.object.metadata.name
                n += 1
                if n == EVENTS:
                    break
        return n

    async def get_one(self) -> None:
        (await self.configmaps.get(NAME, NS)).metadata.name

    async def close(self) -> None:
        await self.client.close()


class Kubernetes(Contender):
    async def setup(self, kubeconfig: str, identity: bool) -> None:
        from kubernetes.aio import client, config, dynamic

        self.api = await config.new_client_from_config(config_file=kubeconfig)
        if identity:  # aiohttp asks for gzip unless told otherwise
            self.api.set_default_header("Accept-Encoding", "identity")
        self.dynamic = await dynamic.DynamicClient(self.api, cache_file=tempfile.mktemp(prefix="dynkube-bench-"))
        self.configmaps = await self.dynamic.resources.get(api_version="v1", kind="ConfigMap")
        self.v1 = client.CoreV1Api(self.api)
        await self.configmaps.get(namespace=NS, limit=1)

    async def list_all(self) -> int:
        n, token = 0, None
        while True:
            page = await self.configmaps.get(namespace=NS, limit=PAGE, _continue=token)
            for cm in page.items:
                cm.metadata.name
                cm.data["index"]
                n += 1
            token = page.metadata["continue"]
            if not token:
                return n

    async def watch(self) -> int:
        from kubernetes.aio import watch

        n = 0
        stream = watch.Watch()
        async for event in stream.stream(self.v1.list_namespaced_config_map, NS, label_selector=SELECTOR,
                                         allow_watch_bookmarks=True):
            event["object"].metadata.name
            n += 1
            if n == EVENTS:
                break
        stream.stop()
        await stream.close()
        return n

    async def get_one(self) -> None:
        (await self.configmaps.get(name=NAME, namespace=NS)).metadata.name

    async def close(self) -> None:
        await self.api.close()


class Kr8s(Contender):
    async def setup(self, kubeconfig: str, identity: bool) -> None:
        import warnings

        import kr8s.asyncio

        warnings.filterwarnings("ignore", message="Kubernetes version")
        self.api = await kr8s.asyncio.api(kubeconfig=kubeconfig)
        async for _ in self.api.get("configmaps", "kube-root-ca.crt", namespace=NS):
            pass
        if identity:
            self.api._session.headers["Accept-Encoding"] = "identity"  # type: ignore[union-attr]  # httpx: gzip watch

    async def list_all(self) -> int:
        n = 0
        async for cm in self.api.get("configmaps", namespace=NS):  # kr8s pages by 100, not settable
            cm.metadata.name  # type: ignore[union-attr]
            cm.data.get("index")  # type: ignore[union-attr]
            n += 1
        return n

    async def watch(self) -> int:
        n = 0
        async for _op, cm in self.api.watch("configmaps", namespace=NS, label_selector=SELECTOR):
            cm.metadata.name
            n += 1
            if n == EVENTS:
                break
        return n

    async def get_one(self) -> None:
        async for cm in self.api.get("configmaps", NAME, namespace=NS):
            cm.metadata.name  # type: ignore[union-attr]

    async def close(self) -> None:
        if self.api._session is not None:
            await self.api._session.aclose()


class Lightkube(Contender):
    async def setup(self, kubeconfig: str, identity: bool) -> None:
        import lightkube
        from lightkube.resources.core_v1 import ConfigMap

        self.kind = ConfigMap
        self.client = lightkube.AsyncClient(config=lightkube.KubeConfig.from_file(kubeconfig))
        if identity:
            self.client._client._client.headers["Accept-Encoding"] = "identity"  # httpx stalls on gzip watch bodies
        async for _ in self.client.list(ConfigMap, namespace=NS, chunk_size=1):
            break

    async def list_all(self) -> int:
        n = 0
        async for cm in self.client.list(self.kind, namespace=NS, chunk_size=PAGE):
            cm.metadata.name  # type: ignore[union-attr]
            cm.data.get("index")  # type: ignore[union-attr]
            n += 1
        return n

    async def watch(self) -> int:
        n = 0
        async for _op, cm in self.client.watch(self.kind, namespace=NS, labels={bench_list.LABEL: "true"}):
            cm.metadata.name  # type: ignore[union-attr]
            n += 1
            if n == EVENTS:
                break
        return n

    async def get_one(self) -> None:
        (await self.client.get(self.kind, NAME, namespace=NS)).metadata.name  # type: ignore[union-attr]

    async def close(self) -> None:
        await self.client.close()


LIBRARIES: dict[str, Callable[[], Contender]] = {
    BASE: Dynkube, "kubernetes.aio": Kubernetes, "kr8s.asyncio": Kr8s, "lightkube.AsyncClient": Lightkube}
CODE = {
    BASE: "async for cm in (await client.resource('configmaps')).list(ns, limit=500): cm.metadata.name, "
          "cm.data['index']; async with rc.watch(ns, label_selector=sel) as w: async for e in w; "
          "gather(*(rc.get(name, ns) for _ in range(100)))",
    "kubernetes.aio": "DynamicClient: page = await v1.get(namespace=ns, limit=500, _continue=token), cm.metadata.name, "
                      "cm.data['index']; watch: Watch().stream(CoreV1Api.list_namespaced_config_map, ...); "
                      "gets: await v1.get(name=, namespace=)",
    "kr8s.asyncio": "async for cm in api.get('configmaps', namespace=ns) (pages of 100); api.watch('configmaps', ...); "
                    "gets: async for cm in api.get('configmaps', name, namespace=ns) (a list by fieldSelector)",
    "lightkube.AsyncClient": "async for cm in client.list(ConfigMap, namespace=ns, chunk_size=500); "
                             "client.watch(ConfigMap, ...); await client.get(ConfigMap, name, namespace=ns)",
    FLOOR: floors.CODE["aiohttp"] + " (bench_async_http.py)",
    SYNC: "for cm in client.resource('configmaps').list(ns, limit=500); rc.watch(...); 100 rc.get() one after "
          "another",
    SYNC_FLOOR: floors.CODE[floors.SYNC] + " (bench_async_http.py)",
}


async def _library_scenario(library: Contender, scenario: str) -> dict[str, Any]:
    if scenario == "list":
        return {"items": await library.list_all()}
    if scenario == "watch":
        return {"events": await library.watch()}

    async def gather() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(library.get_one() for _ in range(CONCURRENT)))
        return time.perf_counter() - started

    first = await gather()
    return {"first": first, "second": await gather(), "sockets": floors.open_sockets()}


def library_worker(name: str, scenario: str, kubeconfig: str, mode: str) -> None:
    async def main() -> dict[str, Any]:
        before = floors.open_sockets()
        library = LIBRARIES[name]()
        await library.setup(kubeconfig, identity=scenario == "watch")
        try:
            meter = floors.Meter(mode)
            answer = meter.done(await _library_scenario(library, scenario))
        finally:
            await library.close()
        if "sockets" in answer:
            answer["sockets"] -= before
        return answer

    _common.emit(asyncio.run(main()))


def sync_dynkube_worker(scenario: str, kubeconfig: str, mode: str) -> None:
    import dynkube
    from dynkube.config import load_kubeconfig

    check_tree(dynkube)
    before = floors.open_sockets()
    config = load_kubeconfig(kubeconfig)
    if scenario == "watch":
        config = config.replace(disable_compression=True)
    client = dynkube.Client(config, cache_dir=tempfile.mkdtemp(prefix="dynkube-bench-"))
    configmaps = client.resource("configmaps")
    configmaps.list_page(NS, limit=1)

    def listing() -> dict[str, Any]:
        n = 0
        for cm in configmaps.list(NS, limit=PAGE):
            cm.metadata.name
            cm.data.get("index")
            n += 1
        return {"items": n}

    def watching() -> dict[str, Any]:
        n = 0
        with configmaps.watch(NS, label_selector=SELECTOR) as events:
            for event in events:
                event.object.metadata.name
                n += 1
                if n == EVENTS:
                    break
        return {"events": n}

    def gets() -> dict[str, Any]:
        def batch() -> float:
            started = time.perf_counter()
            for _ in range(CONCURRENT):
                configmaps.get(NAME, NS).metadata.name
            return time.perf_counter() - started

        first = batch()
        return {"first": first, "second": batch(), "sockets": floors.open_sockets() - before}

    meter = floors.Meter(mode)
    answer = meter.done({"list": listing, "watch": watching, "gets": gets}[scenario]())
    client.close()
    _common.emit(answer)


def check_tree(module: Any) -> None:
    """With DYNKUBE_BENCH_TREE set (a ``before`` row), fail unless ``module`` came from that tree."""
    tree = os.environ.get("DYNKUBE_BENCH_TREE")
    if tree and not str(module.__file__).startswith(tree):
        raise SystemExit(f"{module.__file__} is not from {tree}: install dynkube editable in compat mode")


def worker(argv: list[str]) -> None:
    name, scenario, kubeconfig, mode = argv
    if name in LIBRARIES:
        library_worker(name, scenario, kubeconfig, mode)
    elif name == SYNC:
        sync_dynkube_worker(scenario, kubeconfig, mode)
    elif name == FLOOR:
        floors.async_worker("aiohttp", scenario, kubeconfig, mode)
    elif name == SYNC_FLOOR:
        floors.sync_worker(scenario, kubeconfig, mode)
    else:
        raise SystemExit(f"unknown contender {name!r}")


def profile_worker(scenario: str, kubeconfig: str) -> None:
    """cProfile of dynkube.aio in one scenario (after its untimed setup)."""
    async def main() -> None:
        library = Dynkube()
        await library.setup(kubeconfig, identity=scenario == "watch")
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        await _library_scenario(library, scenario)
        profiler.disable()
        await library.close()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(30)
        print(out.getvalue())

    asyncio.run(main())


# ---- the benchmark -----------------------------------------------------------------------------------

def _measure(name: str, scenario: str, kubeconfig: Path, env: dict[str, str], mode: str = "time",
             before: Path | None = None) -> dict[str, Any]:
    if name in BEFORE_ROWS and before is not None:
        name, env = BEFORE_ROWS[name], {**env, "PYTHONPATH": str(before), "DYNKUBE_BENCH_TREE": str(before.resolve())}
    if scenario == "cold":
        return cold_run(name, kubeconfig, env)
    if name == BEFORE and before is not None:
        return _common.run_worker(_common.BENCH_DIR / "bench_list.py", ["list", "dynkube", str(kubeconfig), mode],
                                  timeout=WORKER_TIMEOUT, env={**env, "PYTHONPATH": str(before)})
    if name in SYNC_CHECK:
        return _common.run_worker(_common.BENCH_DIR / "bench_list.py", ["list", name, str(kubeconfig), mode],
                                  timeout=WORKER_TIMEOUT, env=env)
    return _common.run_worker(Path(__file__).resolve(), [name, scenario, str(kubeconfig), mode],
                              timeout=WORKER_TIMEOUT, env=env)


def _line(scenario: str, name: str, answer: dict[str, Any]) -> str:
    extra = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in answer.items() if k not in ("seconds", "cpu")}
    return f"  {scenario:<5} {name:<24} {answer['seconds']:.3f} s (cpu {answer['cpu']:.3f} s) {json.dumps(extra)}"


def spread(values: list[float], unit: str) -> str:
    return f"{_common.fmt_value(min(values), unit)} - {_common.fmt_value(max(values), unit)}"


def summarise(s: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    """Median and range of each key over the runs."""
    row: dict[str, Any] = {}
    for key in keys:
        values = [x[key] for x in s if isinstance(x.get(key), (int, float))]
        if values:
            row[key] = _common.median(values)
            row[f"{key}_range"] = spread(values, "B" if key == "rss_peak" else "s")
    return row


def run(options: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = _common.kubeconfig_path()
    if options.profile:
        profile_worker(options.profile, str(kubeconfig))
        return {"tables": [], "profile": True}
    setup = bench_list.ensure_configmaps(kubeconfig, EVENTS)
    print(f"setup: {setup}", flush=True)
    runs = 1 if options.quick else options.runs
    scenarios = [s for s in SCENARIOS if not options.only or s in options.only.split(",")]
    env = _common.child_env()
    checks = (*SYNC_CHECK, BEFORE) if options.before else SYNC_CHECK
    names = (*CONTENDERS, *BEFORE_ROWS) if options.before else CONTENDERS
    plan = [(s, n) for s in scenarios for n in names] + ([("list", n) for n in checks] if "list" in scenarios
                                                              else [])
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in plan}
    errors: dict[str, str] = {}
    for attempt in range(runs + 1):  # round 0 warms caches and is dropped
        for scenario, name in plan:
            key = f"{name} {scenario}"
            if key in errors:
                continue
            answer = _measure(name, scenario, kubeconfig, env, before=options.before)
            if "error" in answer:
                errors[key] = answer["error"]
                print(f"  {key}: {answer['error']}", flush=True)
            elif attempt:
                samples[(scenario, name)].append(answer)
                print(_line(scenario, name, answer), flush=True)
    traced: dict[str, int] = {}
    if "list" in scenarios:
        for name in names:
            if f"{name} list" not in errors:
                answer = _measure(name, "list", kubeconfig, env, mode="memory", before=options.before)
                if "error" in answer:
                    errors[f"{name} list memory"] = answer["error"]
                else:
                    traced[name] = answer["traced"]
    tables = []
    builders = {"cold": cold_table, "list": lambda s, r: list_table(s, r, traced), "watch": watch_table,
                "gets": gets_table}
    for scenario in scenarios:
        tables.append(builders[scenario](samples, runs))
    if "list" in scenarios:
        tables.append(sync_check_table(samples, runs, checks))
    return {"setup": setup, "errors": errors, "tables": tables, "targets": targets(tables),
            "samples": {f"{n} {s}": v for (s, n), v in samples.items()}}


def _rows(samples: dict[tuple[str, str], list[dict[str, Any]]], scenario: str, keys: tuple[str, ...],
          names: tuple[str, ...] = (*CONTENDERS, *BEFORE_ROWS)) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        s = samples.get((scenario, name), [])
        if name in BEFORE_ROWS and (scenario, name) not in samples:
            continue  # no --before
        rows.append({"name": name, **summarise(s, keys)} if s else {"name": name, "error": "no samples"})
    return rows


def cold_table(samples: dict[tuple[str, str], list[dict[str, Any]]], runs: int) -> dict[str, Any]:
    rows = _rows(samples, "cold", ("seconds", "imports", "cpu", "requests"))
    return _common.table(
        f"cold: process start to the first ConfigMap (import, client, discovery with an empty cache, GET); "
        f"median of {runs} fresh interpreters", rows,
        [("seconds", "time", "s"), ("seconds_range", "range", "t"), ("imports", "of which start + imports", "s"),
         ("cpu", "process CPU", "s"), ("cpu_range", "CPU range", "t"), ("requests", "HTTP requests", "n")],
        ratios=["seconds", "cpu"], base=BASE, floor=FLOOR,
        notes=["time from just before the parent starts the interpreter; CPU = the whole process's (interpreter "
               "start included)"] + [f"{n}: `{c}`" for n, c in COLD_CODE.items()])


def list_table(samples: dict[tuple[str, str], list[dict[str, Any]]], runs: int,
               traced: dict[str, int]) -> dict[str, Any]:
    rows = _rows(samples, "list", ("seconds", "cpu", "rss_peak", "items"))
    for row in rows:
        row["page"] = PAGE_SIZE.get(row["name"], PAGE)
        row["traced"] = traced.get(row["name"])
    return _common.table(
        f"list {EVENTS} ConfigMaps in pages of {PAGE}, metadata.name and data['index'] read; median of {runs} "
        "fresh interpreters", rows,
        [("page", "page", "n"), ("seconds", "time", "s"), ("seconds_range", "range", "t"), ("cpu", "client CPU", "s"),
         ("cpu_range", "CPU range", "t"), ("rss_peak", "peak RSS growth", "B"), ("traced", "tracemalloc peak", "B")],
        ratios=["seconds", "cpu", "rss_peak", "traced"], base=BASE, floor=FLOOR,
        notes=["time = wall clock (includes the server's work, shared by all); client CPU = CPU seconds of the "
               "client process; tracemalloc peak from one separate run per contender",
               "every contender asks for gzip (aiohttp's, httpx's and requests' default)"]
        + [f"{n}: `{c}`" for n, c in CODE.items()])


def watch_table(samples: dict[tuple[str, str], list[dict[str, Any]]], runs: int) -> dict[str, Any]:
    rows = _rows(samples, "watch", ("seconds", "cpu", "events"))
    for row in rows:
        rates = [x["events"] / x["seconds"] for x in samples.get(("watch", row["name"]), [])]
        if rates:
            row["events_per_s"] = _common.median(rates)
            row["rate_range"] = f"{min(rates):.0f} - {max(rates):.0f}"
    return _common.table(
        f"watch without resourceVersion: {EVENTS} ADDED events, each object's name read; median of {runs} fresh "
        "interpreters", rows,
        [("events_per_s", "events/s", "n"), ("rate_range", "events/s range", "t"), ("seconds", "time", "s"),
         ("cpu", "client CPU", "s"), ("cpu_range", "CPU range", "t")],
        ratios=["events_per_s", "cpu"], base=BASE, floor=FLOOR,
        notes=["every contender asks for Accept-Encoding: identity (httpx, under kr8s and lightkube, stalls on "
               "the server's multi-member gzip watch body)",
               "events/s includes the server producing the events from its watch cache (shared by all)"])


def gets_table(samples: dict[tuple[str, str], list[dict[str, Any]]], runs: int) -> dict[str, Any]:
    rows = _rows(samples, "gets", ("first", "second", "cpu", "sockets"))
    return _common.table(
        f"{CONCURRENT} concurrent GETs of one ConfigMap (asyncio.gather over one client), twice; median of {runs} "
        "fresh interpreters", rows,
        [("first", "first gather", "s"), ("first_range", "range", "t"), ("second", "second gather", "s"),
         ("second_range", "range", "t"), ("cpu", "client CPU (both)", "s"), ("sockets", "connections after", "n")],
        ratios=["first", "second", "cpu"], base=BASE, floor=FLOOR,
        notes=["one connection open before the first gather; 'connections after' = sockets the process holds after "
               "the second gather that it did not hold before the client was made",
               "sync rows: the 100 GETs one after another on one client (a reference, not concurrent)"])


def sync_check_table(samples: dict[tuple[str, str], list[dict[str, Any]]], runs: int,
                     names: tuple[str, ...]) -> dict[str, Any]:
    rows = _rows(samples, "list", ("seconds", "cpu", "rss_peak"), names=names)
    return _common.table(
        f"sync check, same run: bench_list's paginated list (cm.metadata.name), dynkube against raw; median of {runs}",
        rows, [("seconds", "time", "s"), ("seconds_range", "range", "t"), ("cpu", "client CPU", "s"),
               ("cpu_range", "CPU range", "t"), ("rss_peak", "peak RSS growth", "B")],
        ratios=["seconds", "cpu", "rss_peak"], base="dynkube", floor="raw",
        notes=["bench_list.py's own list worker (its code, not this module's); docs/performance.md had 1.13x wall "
               "and 1.29x CPU of raw", f"{BEFORE}: the same worker importing dynkube from the --before tree"])


def targets(tables: list[dict[str, Any]]) -> dict[str, Any]:
    """dynkube.aio within 1.2x of the async floor, and ahead of every async anchor, per scenario's measures."""
    found: dict[str, Any] = {}
    measures = {"cold": ("seconds", "cpu"), "list": ("seconds", "cpu", "rss_peak"), "watch": ("events_per_s", "cpu"),
                "gets": ("first", "second")}
    for t in tables:
        scenario = next((s for s in measures if t["title"].lower().startswith(s) or
                         (s == "gets" and "concurrent" in t["title"])), None)
        if scenario is None or t.get("base") != BASE:
            continue
        rows = {r["name"]: r for r in t["rows"]}
        base = rows.get(BASE, {})
        for key in measures[scenario]:
            higher = key == "events_per_s"
            ratio = base.get(f"{key}/floor")
            if ratio is not None:
                ratio = 1 / ratio if higher else ratio  # cost over the floor's: > 1 is worse
                found[f"{scenario}_{key}_vs_floor"] = {"ratio": round(ratio, 3), "met": ratio <= 1.2}
            for anchor in ANCHORS:
                mine, theirs = base.get(key), rows.get(anchor, {}).get(key)
                if isinstance(mine, (int, float)) and isinstance(theirs, (int, float)) and mine > 0:
                    over = (mine / theirs) if higher else (theirs / mine)  # the anchor's cost over dynkube.aio's
                    found[f"{scenario}_{key}_{anchor}_over_dynkube.aio"] = {"ratio": round(over, 3), "met": over > 1}
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=3, help="fresh interpreters per contender and scenario")
    parser.add_argument("--only", help=f"comma-separated scenarios (default all: {', '.join(SCENARIOS)})")
    parser.add_argument("--before", type=Path, metavar="TREE",
                        help="also run the dynkube rows with the dynkube/ package of TREE (before/after)")
    parser.add_argument("--profile", choices=("list", "watch", "gets"),
                        help="print a cProfile of dynkube.aio in that scenario and exit")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_aio", run, worker, add_arguments))
