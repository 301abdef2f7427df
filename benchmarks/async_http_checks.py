"""Behaviour checks of the async HTTP candidates for ``dynkube.aio`` against the local control plane
(the facts behind docs/async-http-choice.md; the numbers are in bench_async_http.py).

Each check runs every candidate and prints one line per candidate:

- timeouts: idle watches (a label selector no object has, no bookmarks) with the library's default
  timeouts, with a 2 s per-read timeout, and with the settings dynkube would use (no total, per-read
  30 s) against a server-side ``timeoutSeconds``; for aiohttp also ``ClientTimeout(total=3)``.
- tls: a GET with credentials built from the kubeconfig's in-memory data.
- proxy: a GET through a real HTTP proxy (tinyproxy, when installed) named by ``HTTPS_PROXY`` and
  by the library's own proxy argument; the proxy's log must show the CONNECT.
- http2: the negotiated protocol, and the sockets 20 concurrent idle watches hold.
- streams: the 10,000-event watch asked for with gzip (events read within 20 s); and the delay from
  creating one object to its event leaving the library's chunk iterator, with 1 MiB reads and with
  the library's read-what-has-come mode (ConfigMaps ``latency-*`` in ``dynkube-bench``, deleted after);
  and aiohttp's line iterator over a watch event of about 1 MB.
- pool: 110 idle watches at once and then one GET, with default pool limits and with them lifted.
- cancel: the process's sockets (/proc/self/fd) before a watch, during it, after its task is
  cancelled mid-stream, and after the client is closed.
- headers: two ``Impersonate-Group`` header lines, as seen by the server (a SelfSubjectReview).
- release: latest version and release dates from the PyPI JSON API, and the installed size of
  each candidate with its dependencies.

    python benchmarks/async_http_checks.py [--only timeouts,cancel,...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import bench_async_http as bench  # noqa: E402

NS = _common.BENCH_NAMESPACE
IDLE = {"watch": "true", "labelSelector": "dynkube-bench-nothing=none", "allowWatchBookmarks": "false"}
CANDIDATES = ("aiohttp", "httpx", "httpx2", "niquests")
DISTRIBUTIONS = {"aiohttp": "aiohttp", "httpx": "httpx", "httpx2": "httpx2", "niquests": "niquests"}


def line(name: str, text: str) -> None:
    print(f"  {name:<9} {text}", flush=True)


async def timed_outcome(coro: Awaitable[Any], bound: float) -> str:
    """How an awaited stream ended and after how long (bounded by ``bound`` seconds)."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(bound):
            result = await coro
        outcome = f"ended normally ({f'{len(result)} bytes' if isinstance(result, bytes) else result})"
    except TimeoutError as exc:
        if time.monotonic() - started >= bound - 0.05 and not exc.args:
            outcome = f"still open at the {bound:.0f} s bound"
        else:
            outcome = f"raised {type(exc).__module__}.{type(exc).__name__}"
    except Exception as exc:  # the outcome is what is checked
        outcome = f"raised {type(exc).__module__}.{type(exc).__name__}"
    return f"{outcome} after {time.monotonic() - started:.1f} s"


# ---- per library: an idle watch read to its end, with given timeout settings ------------------------

async def idle_aiohttp(creds: bench.Credentials, timeout: Any, server_seconds: int) -> str:
    import aiohttp

    kwargs = {} if timeout == "default" else {"timeout": timeout}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=creds.ssl_context()), **kwargs) as s:
        async with s.get(creds.server + bench.PATH, params={**IDLE, "timeoutSeconds": str(server_seconds)}) as r:
            return f"{len(await r.read())} bytes"


async def idle_httpx(creds: bench.Credentials, timeout: Any, server_seconds: int, module: str = "httpx") -> str:
    httpx = __import__(module)
    kwargs = {} if timeout == "default" else {"timeout": timeout}
    async with httpx.AsyncClient(verify=creds.ssl_context(), **kwargs) as c:
        async with c.stream("GET", creds.server + bench.PATH,
                            params={**IDLE, "timeoutSeconds": str(server_seconds)}) as r:
            return f"{len(await r.aread())} bytes"


async def idle_niquests(creds: bench.Credentials, timeout: Any, server_seconds: int) -> str:
    import niquests

    async with niquests.AsyncSession(disable_http3=True) as s:
        s.trust_env = False  # else $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE replace the session's verify
        s.verify, s.cert = creds.ca.decode(), (creds.cert.decode(), creds.key.decode())
        kwargs = {} if timeout == "default" else {"timeout": timeout}
        r = await s.get(creds.server + bench.PATH, params={**IDLE, "timeoutSeconds": str(server_seconds)},
                        stream=True, **kwargs)
        n = 0
        async for chunk in await r.iter_content(-1):
            n += len(chunk)
        await r.close()
        return f"{n} bytes"


async def check_timeouts(creds: bench.Credentials) -> None:
    import aiohttp
    import httpx
    import niquests

    server = 20  # the server ends each watch after this many seconds
    cases: list[tuple[str, str, Awaitable[str]]] = [
        ("aiohttp", "defaults (ClientTimeout(total=300, sock_connect=30))", idle_aiohttp(creds, "default", server)),
        ("aiohttp", "ClientTimeout(total=None, sock_read=2)", idle_aiohttp(
            creds, aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=2), server)),
        ("aiohttp", "ClientTimeout(total=3) (what total does to a watch)", idle_aiohttp(
            creds, aiohttp.ClientTimeout(total=3), server)),
        ("aiohttp", "ClientTimeout(total=None, sock_connect=10, sock_read=30)", idle_aiohttp(
            creds, aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=30), server)),
    ]
    for module in ("httpx", "httpx2"):
        lib = __import__(module)
        cases += [
            (module, "defaults (Timeout(5.0))", idle_httpx(creds, "default", server, module)),
            (module, "Timeout(10, read=2)", idle_httpx(creds, lib.Timeout(10, read=2), server, module)),
            (module, "Timeout(10, read=30)", idle_httpx(creds, lib.Timeout(10, read=30), server, module)),
        ]
    cases += [
        ("niquests", "defaults (read 30 s)", idle_niquests(creds, "default", 40)),
        ("niquests", "timeout=(10, 2)", idle_niquests(creds, (10, 2), server)),
        ("niquests", "timeout=(10, 30)", idle_niquests(creds, (10, 30), server)),
    ]
    del httpx, niquests
    outcomes = await asyncio.gather(*(timed_outcome(coro, 50) for _, _, coro in cases))
    print(f"timeouts: idle watch, server timeoutSeconds={server} (niquests defaults: 40)")
    for (name, what, _), outcome in zip(cases, outcomes):
        line(name, f"{what}: {outcome}")


# ---- TLS from memory, HTTP version, concurrent watches -------------------------------------------------

def clients(creds: bench.Credentials) -> dict[str, Callable[[], bench.Async]]:
    return {"aiohttp": lambda: bench.Aiohttp(creds), "httpx": lambda: bench.Httpx(creds),
            "httpx (http2=True)": lambda: bench.Httpx(creds, http2=True),
            "httpx2": lambda: bench.Httpx(creds, "httpx2"), "httpx2 (http2=True)": lambda: bench.Httpx(
                creds, "httpx2", http2=True), "niquests": lambda: bench.Niquests(creds),
            "niquests (multiplexed=True)": lambda: multiplexed_niquests(creds)}


def multiplexed_niquests(creds: bench.Credentials) -> bench.Async:
    import niquests

    client = bench.Niquests(creds)
    client.session = niquests.AsyncSession(multiplexed=True, disable_http3=True, headers=bench.HEADERS,
                                           timeout=(10, 120))
    client.session.trust_env = False
    client.session.verify, client.session.cert = creds.ca.decode(), (creds.cert.decode(), creds.key.decode())
    return client


async def http_version(client: bench.Async) -> str:
    if isinstance(client, bench.Aiohttp):
        async with client.session.get(client.server + "/version") as r:
            return f"HTTP/{r.version.major}.{r.version.minor}" if r.version else "?"
    if isinstance(client, bench.Httpx):
        return str((await client.client.get(client.server + "/version")).http_version)
    assert isinstance(client, bench.Niquests)
    answer = await client.session.get(client.server + "/version")
    if getattr(answer, "lazy", False):
        await client.session.gather(answer)
    version = answer.http_version
    return f"HTTP/{version / 10:.1f}" if isinstance(version, int) else str(version)


async def concurrent_watches(client: bench.Async, n: int = 20) -> int:
    """Sockets held while ``n`` idle watches are open at once (each has sent its response headers)."""
    before = bench.open_sockets()
    started = asyncio.Event()
    opened = 0
    release = asyncio.Event()

    async def one(i: int) -> None:
        nonlocal opened
        params = {**IDLE, "labelSelector": f"dynkube-bench-nothing=w{i}", "timeoutSeconds": "60"}
        async with client.stream(bench.PATH, params):
            opened += 1
            if opened == n:
                started.set()
            await release.wait()

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    try:
        async with asyncio.timeout(30):
            await started.wait()
        return bench.open_sockets() - before
    finally:
        release.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def check_tls_http2(creds: bench.Credentials) -> None:
    print("tls + http2: in-memory credentials; negotiated protocol; sockets held by 20 concurrent idle watches")
    for name, make in clients(creds).items():
        client = make()
        try:
            version = await http_version(client)
            watches = await concurrent_watches(client)
            line(name, f"GET /version ok over {version}; 20 concurrent watches hold {watches} new sockets")
        except Exception as exc:  # the outcome is what is checked
            line(name, f"failed: {type(exc).__name__}: {exc}")
        finally:
            await client.close()


# ---- watch bodies: gzip, and how soon a read returns an event ------------------------------------------

async def gzip_watch(name: str, creds: bench.Credentials) -> str:
    """Events read within 20 s from the 10,000-event watch with Accept-Encoding: gzip."""
    n, rest = 0, b""

    async def read(chunks: Any) -> None:
        nonlocal n, rest
        async for chunk in chunks:
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            n += sum(1 for x in lines if x)
            if n >= bench.EVENTS:
                return

    async def run() -> None:
        if name == "aiohttp":
            client = bench.Aiohttp(creds)
            try:
                async with client.session.get(client.server + bench.PATH, params=bench.WATCH_PARAMS) as r:
                    await read(r.content.iter_chunked(bench.READ))
            finally:
                await client.close()
        elif name.startswith("httpx"):
            client_x = bench.Httpx(creds, name)
            try:
                async with client_x.client.stream("GET", client_x.server + bench.PATH, params=bench.WATCH_PARAMS) as r:
                    await read(r.aiter_bytes())
            finally:
                await client_x.close()
        else:
            client_n = bench.Niquests(creds)
            try:
                streamed = await client_n.session.get(client_n.server + bench.PATH, params=bench.WATCH_PARAMS,
                                                      stream=True)
                await read(await streamed.iter_content(-1))
                await streamed.close()
            finally:
                await client_n.close()

    outcome = await timed_outcome(run(), 20)
    return f"{n} of {bench.EVENTS} events; {outcome}"


async def first_event(creds: bench.Credentials, name: str, mode: str) -> str:
    """Seconds from creating one object to its ADDED event coming out of the library's chunk iterator,
    on an otherwise idle watch (1 MiB reads, or the library's 'as it comes' read)."""
    label = f"latency-{os.getpid()}-{name.replace(' ', '')}-{mode}".replace("(", "").replace(")", "").replace("/", "")
    params = {"watch": "true", "labelSelector": f"dynkube-bench-latency={label}", "timeoutSeconds": "30"}
    admin = bench.Aiohttp(creds)
    cm_name = label[:60].lower()
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": cm_name, "labels": {"dynkube-bench-latency": label}}, "data": {"a": "b"}}

    async def chunks_of(r: Any) -> Any:
        if name == "aiohttp":
            return r.content.iter_chunked(bench.READ) if mode == "1MiB" else r.content.iter_any()
        if name.startswith("httpx"):
            return r.aiter_bytes(bench.READ) if mode == "1MiB" else r.aiter_bytes()
        return await r.iter_content(bench.READ if mode == "1MiB" else -1)

    async def watch(opened: asyncio.Event) -> float:
        headers = bench.IDENTITY
        if name == "aiohttp":
            async with admin.session.get(admin.server + bench.PATH, params=params, headers=headers) as r:
                opened.set()
                async for _ in await chunks_of(r):
                    return time.monotonic()
        elif name.startswith("httpx"):
            client = bench.Httpx(creds, name)
            async with client.client.stream("GET", client.server + bench.PATH, params=params, headers=headers) as r:
                opened.set()
                async for _ in await chunks_of(r):
                    await client.close()
                    return time.monotonic()
        else:
            client_n = bench.Niquests(creds, http2=False)
            streamed = await client_n.session.get(client_n.server + bench.PATH, params=params, headers=headers,
                                                  stream=True)
            opened.set()
            async for _ in await chunks_of(streamed):
                await client_n.close()
                return time.monotonic()
        raise RuntimeError("the watch ended without an event")

    opened = asyncio.Event()
    task = asyncio.create_task(watch(opened))
    try:
        async with asyncio.timeout(10):
            await opened.wait()
        async with admin.session.post(admin.server + bench.PATH, json=body) as posted:
            posted.raise_for_status()
        created = time.monotonic()
        try:
            async with asyncio.timeout(10):
                arrived = await task
            return f"{arrived - created:.2f} s"
        except TimeoutError:
            return "no event within 10 s"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        async with admin.session.delete(f"{admin.server}{bench.PATH}/{cm_name}"):
            pass
        await admin.close()


async def long_line(creds: bench.Credentials) -> str:
    """aiohttp's line iterator (``async for line in response.content``) on a watch whose one event is a
    ~1 MB line: a ConfigMap ``latency-big-*`` in ``dynkube-bench`` near the 1 MiB a ConfigMap may hold,
    deleted after."""
    client = bench.Aiohttp(creds)
    cm_name = f"latency-big-{os.getpid()}"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm_name}, "data": {"big": "x" * 1_000_000}}
    try:
        async with client.session.post(client.server + bench.PATH, json=body) as posted:
            posted.raise_for_status()
        params = {"watch": "true", "fieldSelector": f"metadata.name={cm_name}", "timeoutSeconds": "10"}
        async with client.session.get(client.server + bench.PATH, params=params, headers=bench.IDENTITY) as r:
            try:
                async for event_line in r.content:
                    return f"a {len(event_line)}-byte line read"
            except Exception as exc:  # the outcome is what is checked
                return f"raised {type(exc).__module__}.{type(exc).__name__}: {exc}"[:160]
        return "no line"
    finally:
        async with client.session.delete(f"{client.server}{bench.PATH}/{cm_name}"):
            pass
        await client.close()


async def check_streams(creds: bench.Credentials) -> None:
    print("streams: the 10,000-event watch with Accept-Encoding: gzip (the server sends several gzip members)")
    for name in CANDIDATES:
        line(name, await gzip_watch(name, creds))
    print("streams: aiohttp `async for line in response.content` over a watch event of ~1 MB")
    line("aiohttp", await long_line(creds))
    print("streams: one object created on an idle watch: time until the library's chunk iterator yields it")
    for name in ("aiohttp", "httpx", "niquests"):
        for mode in ("1MiB", "as-it-comes"):
            how = {"aiohttp": {"1MiB": "iter_chunked(1 MiB)", "as-it-comes": "iter_any()"},
                   "httpx": {"1MiB": "aiter_bytes(1 MiB)", "as-it-comes": "aiter_bytes()"},
                   "niquests": {"1MiB": "iter_content(1 MiB)", "as-it-comes": "iter_content(-1)"}}[name][mode]
            try:
                line(name, f"{how}: {await first_event(creds, name, mode)}")
            except Exception as exc:  # the outcome is what is checked
                line(name, f"{how}: failed: {type(exc).__name__}: {exc}")


# ---- many watches at once: the pool's connection limit -------------------------------------------------

async def watches_and_a_get(client: bench.Async, n: int) -> str:
    """Open ``n`` idle watches at once (15 s for that), then one GET (5 s for it); what happened."""
    opened = 0
    release = asyncio.Event()

    async def one(i: int) -> None:
        nonlocal opened
        params = {**IDLE, "labelSelector": f"dynkube-bench-nothing=p{i}", "timeoutSeconds": "60"}
        async with client.stream(bench.PATH, params):
            opened += 1
            await release.wait()

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    try:
        deadline = time.monotonic() + 15
        while opened < n and time.monotonic() < deadline and not any(t.done() for t in tasks):
            await asyncio.sleep(0.1)
        failed = [t.exception() for t in tasks if t.done() and t.exception()]
        get = await timed_outcome(client.get(bench.PATH, {"limit": "1"}), 5)
        why = f" (first failure: {type(failed[0]).__name__})" if failed else ""
        return f"{opened} of {n} watches open{why}; then a GET {get}"
    finally:
        release.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def check_pool(creds: bench.Credentials) -> None:
    import aiohttp
    import httpx

    n = 110
    print(f"pool: {n} idle watches at once (informers over many kinds), then one GET, with default pool limits and "
          "with the limit lifted")
    unlimited_aiohttp = bench.Aiohttp(creds)
    await unlimited_aiohttp.session.close()
    unlimited_aiohttp.session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=creds.ssl_context(), limit=0),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120), headers=bench.HEADERS)
    unlimited_httpx = bench.Httpx(creds)
    await unlimited_httpx.client.aclose()
    unlimited_httpx.client = httpx.AsyncClient(verify=creds.ssl_context(), headers=bench.HEADERS,
                                               timeout=httpx.Timeout(10, read=120),
                                               limits=httpx.Limits(max_connections=None))
    cases = [("aiohttp", "TCPConnector() (limit=100)", bench.Aiohttp(creds)),
             ("aiohttp", "TCPConnector(limit=0)", unlimited_aiohttp),
             ("httpx", "Limits() default (max_connections=100), Timeout(10, read=120)", bench.Httpx(creds)),
             ("httpx", "Limits(max_connections=None)", unlimited_httpx),
             ("httpx", "http2=True, default Limits", bench.Httpx(creds, http2=True)),
             ("niquests", "defaults (pool_maxsize=10), HTTP/2", bench.Niquests(creds)),
             ("niquests", "defaults, disable_http2=True", bench.Niquests(creds, http2=False))]
    for name, how, client in cases:
        try:
            line(name, f"{how}: {await watches_and_a_get(client, n)}")
        except Exception as exc:  # the outcome is what is checked
            line(name, f"{how}: failed: {type(exc).__name__}: {exc}")
        finally:
            await client.close()


# ---- cancelling a task mid-stream ----------------------------------------------------------------------

async def check_cancel(creds: bench.Credentials) -> None:
    print("cancel: sockets of the process: client made + one GET / watch streaming / after task.cancel() / "
          "after 0.5 s / after client close")
    makers = clients(creds)
    for name in ("aiohttp", "httpx", "httpx2", "niquests", "niquests (http/1.1)"):
        client = makers[name]() if name in makers else bench.Niquests(creds, http2=False)
        try:
            await client.get(bench.PATH, {"limit": "1"})
            counts = [bench.open_sockets()]
            streaming = asyncio.Event()

            async def watch(client: Any = client, streaming: asyncio.Event = streaming) -> None:
                async with client.stream(bench.PATH, bench.WATCH_PARAMS) as chunks:
                    async for _chunk in chunks:
                        streaming.set()
                        await asyncio.Event().wait()  # mid-stream: the body is not read to its end

            task = asyncio.create_task(watch())
            async with asyncio.timeout(30):
                await streaming.wait()
            counts.append(bench.open_sockets())
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            counts.append(bench.open_sockets())
            await asyncio.sleep(0.5)
            counts.append(bench.open_sockets())
            await client.close()
            await asyncio.sleep(0)
            counts.append(bench.open_sockets())
            line(name, " / ".join(str(c) for c in counts))
        except Exception as exc:  # the outcome is what is checked
            line(name, f"failed: {type(exc).__name__}: {exc}")


# ---- repeated header lines ------------------------------------------------------------------------------

REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
IMPERSONATE = [("Impersonate-User", "bench-user"), ("Impersonate-Group", "bench-g1"),
               ("Impersonate-Group", "bench-g2")]


async def groups_aiohttp(creds: bench.Credentials) -> Any:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=creds.ssl_context())) as s:
        async with s.post(creds.server + REVIEW_PATH, json=REVIEW, headers=IMPERSONATE) as r:
            return (await r.json())["status"]["userInfo"].get("groups")


async def groups_httpx(creds: bench.Credentials, module: str) -> Any:
    httpx = __import__(module)
    async with httpx.AsyncClient(verify=creds.ssl_context()) as c:
        r = await c.post(creds.server + REVIEW_PATH, json=REVIEW, headers=IMPERSONATE)
        return r.json()["status"]["userInfo"].get("groups")


async def groups_niquests(creds: bench.Credentials, headers: Any) -> Any:
    import niquests

    async with niquests.AsyncSession(disable_http3=True) as s:
        s.trust_env = False  # else $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE replace the session's verify
        s.verify, s.cert = creds.ca.decode(), (creds.cert.decode(), creds.key.decode())
        r = await s.post(creds.server + REVIEW_PATH, json=REVIEW, headers=headers)
        return r.json()["status"]["userInfo"].get("groups")


async def check_headers(creds: bench.Credentials) -> None:
    print("headers: Impersonate-Group: bench-g1 and Impersonate-Group: bench-g2 as two lines; groups the server saw")
    from urllib3_future import HTTPHeaderDict

    multi = HTTPHeaderDict()
    for key, value in IMPERSONATE:
        multi.add(key, value)
    cases: list[tuple[str, str, Callable[[], Awaitable[Any]]]] = [
        ("aiohttp", "headers=[(k, v), ...]", lambda: groups_aiohttp(creds)),
        ("httpx", "headers=[(k, v), ...]", lambda: groups_httpx(creds, "httpx")),
        ("httpx2", "headers=[(k, v), ...]", lambda: groups_httpx(creds, "httpx2")),
        ("niquests", "headers=[(k, v), ...]", lambda: groups_niquests(creds, IMPERSONATE)),
        ("niquests", "headers=urllib3_future.HTTPHeaderDict (add twice)", lambda: groups_niquests(creds, multi)),
    ]
    for name, how, call in cases:
        try:
            line(name, f"{how}: {await call()}")
        except Exception as exc:  # the outcome is what is checked
            line(name, f"{how}: failed: {type(exc).__name__}: {exc}")


# ---- proxy ----------------------------------------------------------------------------------------------

def start_tinyproxy(directory: Path) -> tuple[subprocess.Popen[bytes], int, Path] | None:
    binary = shutil.which("tinyproxy")
    if not binary:
        return None
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = directory / "tinyproxy.log"
    config = directory / "tinyproxy.conf"
    config.write_text(f"Port {port}\nListen 127.0.0.1\nTimeout 60\nLogFile \"{log}\"\nLogLevel Connect\n"
                      "MaxClients 20\nAllow 127.0.0.1\n")  # no ConnectPort line: CONNECT to any port
    process = subprocess.Popen([binary, "-d", "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port, log
        except OSError:
            time.sleep(0.1)
    process.kill()
    return None


async def via_proxy(name: str, creds: bench.Credentials, proxy: str, from_env: bool) -> int:
    url = creds.server + "/version"
    if name == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=creds.ssl_context()),
                                         trust_env=from_env) as s:
            async with s.get(url, proxy=None if from_env else proxy) as r:
                return r.status
    if name in ("httpx", "httpx2"):
        httpx = __import__(name)
        kwargs = {"trust_env": True} if from_env else {"proxy": proxy}
        async with httpx.AsyncClient(verify=creds.ssl_context(), **kwargs) as c:
            return int((await c.get(url)).status_code)
    import niquests

    async with niquests.AsyncSession(disable_http3=True) as s:
        s.trust_env = from_env  # verify and cert per request: with trust_env, $REQUESTS_CA_BUNDLE beats s.verify
        answer = await s.get(url, verify=creds.ca.decode(), cert=(creds.cert.decode(), creds.key.decode()),
                             proxies=None if from_env else {"https": proxy})
        return int(answer.status_code or 0)


async def check_proxy(creds: bench.Credentials) -> None:
    with tempfile.TemporaryDirectory(prefix="dynkube-proxy-") as tmp:
        started = start_tinyproxy(Path(tmp))
        if started is None:
            print("proxy: tinyproxy not installed (apt-get install tinyproxy); skipped")
            return
        process, port, log = started
        proxy = f"http://127.0.0.1:{port}"
        target = creds.server.split("//", 1)[1]
        print(f"proxy: GET /version through tinyproxy at {proxy}; CONNECT {target} lines its log gained")
        try:
            for name in CANDIDATES:
                for from_env in (True, False):
                    how = "HTTPS_PROXY env" if from_env else "proxy argument"
                    before = log.read_text().count(f"CONNECT {target}") if log.exists() else 0
                    saved = {k: os.environ.pop(k) for k in ("NO_PROXY", "no_proxy") if k in os.environ}
                    if from_env:
                        os.environ["HTTPS_PROXY"] = proxy
                    try:
                        status: Any = await via_proxy(name, creds, proxy, from_env)
                    except Exception as exc:  # the outcome is what is checked
                        status = f"failed: {type(exc).__name__}: {exc}"
                    finally:
                        os.environ.pop("HTTPS_PROXY", None)
                        os.environ.update(saved)
                    await asyncio.sleep(0.2)  # tinyproxy writes its log line after the tunnel closes
                    after = log.read_text().count(f"CONNECT {target}") if log.exists() else 0
                    line(name, f"{how}: status {status}, {after - before} CONNECT through the proxy")
        finally:
            process.terminate()
            process.wait(timeout=10)


# ---- releases and size ---------------------------------------------------------------------------------

def check_releases() -> None:
    from importlib import metadata

    from packaging.requirements import Requirement

    print("release: from https://pypi.org/pypi/NAME/json; installed size = files of the distribution and every "
          "distribution it requires (importlib.metadata, extras not taken)")
    now = datetime.now(timezone.utc)
    for name, dist in DISTRIBUTIONS.items():
        try:
            with urllib.request.urlopen(f"https://pypi.org/pypi/{dist}/json", timeout=30) as response:
                doc = json.load(response)
        except OSError as exc:
            line(name, f"PyPI JSON failed: {exc}")
            continue
        uploads = sorted((min(datetime.fromisoformat(f["upload_time_iso_8601"].replace("Z", "+00:00")) for f in files),
                          version) for version, files in doc["releases"].items() if files)
        last_year = [v for t, v in uploads if now - t < timedelta(days=365)]
        latest = doc["info"]["version"]
        wheels = [f for f in doc["urls"] if f["packagetype"] == "bdist_wheel"]
        wheel = next((f for f in wheels if "cp311-manylinux" in f["filename"] and "x86_64" in f["filename"]),
                     next((f for f in wheels if f["filename"].endswith("none-any.whl")), None))
        closure, todo = set(), [dist]
        while todo:
            current = todo.pop()
            key = current.lower().replace("_", "-")
            if key in closure:
                continue
            closure.add(key)
            try:
                requires = metadata.requires(current) or []
            except metadata.PackageNotFoundError:
                continue
            for text in requires:
                requirement = Requirement(text)
                if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                    todo.append(requirement.name)
        size = 0
        for key in closure:
            try:
                files = metadata.files(key) or []
            except metadata.PackageNotFoundError:
                continue
            size += sum(f.size or 0 for f in files if "__pycache__" not in str(f))
        first = uploads[0][0].date() if uploads else "?"
        released = next((t.date() for t, v in uploads if v == latest), "?")
        line(name, f"latest {latest} ({released}); {len(last_year)} releases in the last 365 days; first {first}; "
                   f"wheel {wheel['filename'] if wheel else '-'} {wheel['size'] / 2**10 if wheel else 0:.0f} KiB; "
                   f"requires {sorted(closure - {dist.lower()})}; installed {size / 2**20:.1f} MiB with them")


CHECKS: dict[str, Callable[[bench.Credentials], Coroutine[Any, Any, None]]] = {
    "tls": check_tls_http2, "streams": check_streams, "pool": check_pool, "cancel": check_cancel,
    "headers": check_headers, "proxy": check_proxy, "timeouts": check_timeouts}


def main() -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/async_http_checks.py")
    parser.add_argument("--only", help=f"comma-separated checks: {', '.join([*CHECKS, 'release'])}")
    options = parser.parse_args()
    wanted = options.only.split(",") if options.only else [*CHECKS, "release"]
    creds = bench.Credentials(_common.kubeconfig_path())
    for name in wanted:
        if name == "release":
            check_releases()
        else:
            asyncio.run(CHECKS[name](creds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
