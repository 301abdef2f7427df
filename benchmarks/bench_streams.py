"""Port-forward throughput and exec latency into a pod: dynkube against kubectl and the official client.

Setup: the namespace ``dynkube-bench-streams`` and in it one pod ``echo`` on a node of the local plane
(kwok; its kubelet API is kubelet-streaming, where pod port 7 is an echo and exec runs the command
on this host: docs/envtest.md), waited for until Running and Ready; the namespace is deleted at the
end (``--keep`` keeps it for the next run).

Port-forward throughput: ``--mib`` MiB (default 16) sent through one forwarded connection to pod port
7 and read back as it echoes (a writer thread sends 64 KiB blocks while the reader reads), then the
same total spread over 20 connections at once (``--mib``/20 each, a writer and a reader thread per
connection). Connections are opened one after another and answer a one-byte echo before the clock
starts; the time to do that is reported apart ("connect"). Contenders:

- dynkube (listener): ``client.port_forward(pod, ":7", ns)``, a plain socket to its local port;
- dynkube connect_port: ``client.connect_port(pod, 7, ns)``, no listener;
- kubectl port-forward: ``kubectl port-forward pod/echo :7`` as a subprocess, a socket to its port;
- kubernetes portforward: ``kubernetes.stream.portforward(v1.connect_get_namespaced_pod_portforward,
  pod, ns, ports="7").socket(7)``, one PortForward per connection;
- raw (websockets): the ``websockets`` sync client on the same URL and subprotocol as dynkube, with
  the port prefix handled inline, no dynkube code: the floor of dynkube's own cost (no plain TCP floor
  exists: the echo is only reachable through the API server's streaming path).

Exec latency: ``exec pod -- true`` end to end (``--execs`` calls per process; the in-process
contenders reuse one client, the command-line ones start a process per call), and round trips on
one open stream to ``cat`` (``--round-trips`` lines of 16 bytes written, each read back before the
next): dynkube (``client.exec`` / ``client.exec_stream``), the dynkube CLI (``dynkube exec [-i]``),
kubectl (``kubectl exec [-i]``), the official client's ``kubernetes.stream.stream(
v1.connect_get_namespaced_pod_exec, ...)`` and raw websockets.

Every measurement runs in a fresh interpreter (``--runs`` of them per contender and mode, after one
dropped warm-up round), contenders in another (seeded) order each round. Reported: medians over the
processes and the min–max; client CPU is this process's and, for kubectl, its process's too.

    python benchmarks/bench_streams.py [--runs 5] [--mib 16] [--execs 10] [--round-trips 100] [--keep]
    python benchmarks/bench_streams.py --profile forward|exec      (cProfile of dynkube's side)
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

NS = "dynkube-bench-streams"
POD = "echo"
ECHO_PORT = 7
BLOCK = 64 * 1024
PARALLEL = 20
LINE = b"0123456789abcde\n"  # 16 bytes
WORKER_TIMEOUT = 300.0
KUBECTL = os.environ.get("DYNKUBE_BENCH_KUBECTL", "kubectl")
DYNKUBE_CLI = str(Path(sys.executable).with_name("dynkube"))


class Conn(Protocol):
    def sendall(self, data: bytes) -> Any: ...
    def recv(self, size: int) -> bytes: ...
    def close(self) -> Any: ...


# ---- setup -----------------------------------------------------------------------------------

def _running_and_ready(pod: Any) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])


def ensure_pod(kubeconfig: Path) -> dict[str, Any]:
    import dynkube

    client = _common.admin_client(kubeconfig)
    started = time.monotonic()
    try:
        _common.ensure_namespace(client, NS)
        pods = client.resource("pods")
        try:
            pods.create({"metadata": {"name": POD}, "spec": {"containers": [{"name": "c", "image": "bench/echo:1"}]}},
                        NS)
        except dynkube.AlreadyExists:
            pass
        pod = dynkube.wait_for(pods, POD, NS, condition=_running_and_ready, timeout=120)
        return {"node": pod["spec"].get("nodeName"), "setup_seconds": round(time.monotonic() - started, 1)}
    finally:
        client.close()


def cleanup(kubeconfig: Path) -> None:
    import dynkube

    client = _common.admin_client(kubeconfig)
    try:
        client.resource("namespaces").delete(NS)
    except dynkube.NotFound:
        pass
    client.close()


# ---- contenders: port-forward ----------------------------------------------------------------

def _kubeconfig_env(kubeconfig: str) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": kubeconfig}


def _child_cpu(pid: int) -> float:
    """User + system CPU seconds of a running child (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Forwarding:
    """How one contender opens connections to the pod's echo port; ``helper_cpu`` is the CPU of a
    helper process (kubectl) so far."""

    def __init__(self, connect: Callable[[], Conn], stop: Callable[[], None],
                 helper_cpu: Callable[[], float] = lambda: 0.0) -> None:
        self.connect, self.stop, self.helper_cpu = connect, stop, helper_cpu


def _forward_dynkube_listener(kubeconfig: str) -> Forwarding:
    import dynkube

    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=False)
    forwarder = client.port_forward(POD, f":{ECHO_PORT}", NS)
    [(local, _)] = forwarder.forwarded

    def stop() -> None:
        forwarder.stop()
        client.close()

    return Forwarding(lambda: socket.create_connection(("127.0.0.1", local), timeout=60), stop)


def _forward_dynkube_connect_port(kubeconfig: str) -> Forwarding:
    import dynkube

    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=False)
    return Forwarding(lambda: client.connect_port(POD, ECHO_PORT, NS), client.close)


def _forward_kubectl(kubeconfig: str) -> Forwarding:
    process = subprocess.Popen([KUBECTL, "port-forward", "-n", NS, f"pod/{POD}", f":{ECHO_PORT}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=_kubeconfig_env(kubeconfig))
    assert process.stdout is not None
    line = process.stdout.readline()  # "Forwarding from 127.0.0.1:NNNNN -> 7"
    found = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not found:
        process.kill()
        raise RuntimeError(f"kubectl port-forward said {line!r}: {process.stderr.read() if process.stderr else ''}")
    local = int(found.group(1))
    threading.Thread(target=process.stdout.read, daemon=True).start()  # "Handling connection ..." lines

    def stop() -> None:
        process.terminate()
        process.wait(30)

    return Forwarding(lambda: socket.create_connection(("127.0.0.1", local), timeout=60), stop,
                      lambda: _child_cpu(process.pid))


def _forward_kubernetes(kubeconfig: str) -> Forwarding:
    from kubernetes import client as k8s
    from kubernetes import config
    from kubernetes.stream import portforward

    api = k8s.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    opened: list[Any] = []

    def connect() -> Conn:
        forward = portforward(api.connect_get_namespaced_pod_portforward, POD, NS, ports=str(ECHO_PORT))
        opened.append(forward)
        sock: Conn = forward.socket(ECHO_PORT)
        return sock

    def stop() -> None:
        for forward in opened:
            forward.close()

    return Forwarding(connect, stop)


class _RawPort:
    """The port-forward WebSocket with the websockets library and nothing else: data on channel 0,
    the first message of each channel the port number (skipped)."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._started: set[int] = set()
        self._pending = b""

    def sendall(self, data: bytes) -> None:
        self._ws.send(b"\x00" + data)

    def recv(self, size: int) -> bytes:
        while not self._pending:
            message = self._ws.recv()
            channel = message[0]
            if channel not in self._started:
                self._started.add(channel)
                message = message[2:]
            if channel == 1 and len(message) > 1:
                raise RuntimeError(f"port-forward error: {message[1:]!r}")
            if channel == 0:
                self._pending = message[1:]
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def close(self) -> None:
        self._ws.close()


def _raw_ws(kubeconfig: str) -> Callable[[str, list[str]], Any]:
    """connect(path_and_query, subprotocols) with the websockets sync client and the kubeconfig's TLS."""
    from websockets.sync.client import connect as ws_connect

    raw = _common.RawCluster(Path(kubeconfig))
    context = ssl.create_default_context(cafile=raw.session.verify if isinstance(raw.session.verify, str) else None)
    if isinstance(raw.session.cert, tuple):
        context.load_cert_chain(*raw.session.cert)
    headers = {k: v for k, v in raw.session.headers.items() if k == "Authorization"}
    base = "wss" + raw.server[len("https"):]

    def connect(path: str, protocols: list[str]) -> Any:
        return ws_connect(base + path, ssl=context, additional_headers=headers, subprotocols=protocols,  # type: ignore[arg-type]
                          compression=None, max_size=None, open_timeout=60)

    return connect


def _forward_raw(kubeconfig: str) -> Forwarding:
    connect = _raw_ws(kubeconfig)
    path = f"/api/v1/namespaces/{NS}/pods/{POD}/portforward?ports={ECHO_PORT}"
    return Forwarding(lambda: _RawPort(connect(path, ["v4.channel.k8s.io"])), lambda: None)


FORWARDERS: dict[str, Callable[[str], Forwarding]] = {
    "dynkube": _forward_dynkube_listener,
    "dynkube connect_port": _forward_dynkube_connect_port,
    "kubectl": _forward_kubectl,
    "kubernetes": _forward_kubernetes,
    "raw": _forward_raw,
}
FORWARD_CODE = {
    "dynkube": "with client.port_forward(pod, ':7', ns) as f: socket.create_connection(('127.0.0.1', local))",
    "dynkube connect_port": "client.connect_port(pod, 7, ns): sendall / recv (no listener)",
    "kubectl": "kubectl port-forward pod/echo :7 (subprocess), socket.create_connection to its port",
    "kubernetes": "portforward(v1.connect_get_namespaced_pod_portforward, pod, ns, ports='7').socket(7)",
    "raw": "websockets.sync.client.connect(wss://.../portforward?ports=7, subprotocols=['v4.channel.k8s.io'])",
}


def _echo(conn: Conn, total: int, block: bytes, failures: list[BaseException]) -> int:
    """Send ``total`` bytes in blocks from a writer thread while reading the echo; bytes read back."""
    def write() -> None:
        try:
            sent = 0
            while sent < total:
                piece = block[:total - sent]
                conn.sendall(piece)
                sent += len(piece)
        except BaseException as exc:
            failures.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    received = bytearray()
    while len(received) < total:
        data = conn.recv(BLOCK)
        if not data:
            break
        received += data
    writer.join()
    expected = (block * (total // len(block) + 1))[:total]
    if bytes(received) != expected:
        failures.append(RuntimeError(f"echo mismatch: {len(received)} of {total} bytes back"))
    return len(received)


def _first_echo(conn: Conn) -> None:
    conn.sendall(b"x")
    if conn.recv(1) != b"x":
        raise RuntimeError("no echo")


def forward_worker(name: str, kubeconfig: str, mib: float, connections: int) -> None:
    forwarding = FORWARDERS[name](kubeconfig)
    block = os.urandom(BLOCK)
    total = int(mib * 2**20)
    each = total // connections
    try:
        started = time.perf_counter()
        conns = []
        for _ in range(connections):
            conn = forwarding.connect()
            _first_echo(conn)
            conns.append(conn)
        connect_seconds = (time.perf_counter() - started) / connections
        failures: list[BaseException] = []
        helper_cpu = forwarding.helper_cpu()
        cpu_started, started = time.process_time(), time.perf_counter()
        if connections == 1:
            moved = _echo(conns[0], each, block, failures)
        else:
            counts = [0] * connections

            def one(i: int) -> None:
                counts[i] = _echo(conns[i], each, block, failures)

            threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(connections)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            moved = sum(counts)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started + forwarding.helper_cpu() - helper_cpu
        for conn in conns:
            conn.close()
        if failures:
            raise failures[0]
        _common.emit({"seconds": seconds, "bytes": moved, "mib_s": moved / 2**20 / seconds, "cpu": cpu,
                      "connect": connect_seconds})
    finally:
        forwarding.stop()


# ---- contenders: exec ------------------------------------------------------------------------

class Execs:
    """One contender's exec: ``true()`` runs ``true`` to its end; ``cat()`` opens a stream to cat and
    returns (round_trip(line) -> echoed line, close)."""

    def __init__(self, true: Callable[[], None], cat: Callable[[], tuple[Callable[[bytes], bytes], Callable[[], None]]],
                 helper_cpu: Callable[[], float] = lambda: 0.0) -> None:
        self.true, self.cat, self.helper_cpu = true, cat, helper_cpu


def _exec_dynkube(kubeconfig: str) -> Execs:
    import dynkube

    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=False)

    def true() -> None:
        if client.exec(POD, ["true"], NS).exit_code != 0:
            raise RuntimeError("true failed")

    def cat() -> tuple[Callable[[bytes], bytes], Callable[[], None]]:
        stream = client.exec_stream(POD, ["cat"], NS, stdin=True)

        def round_trip(line: bytes) -> bytes:
            stream.write(line)
            got = b""
            while len(got) < len(line):
                got += stream.read(timeout=30)
            return got

        return round_trip, stream.close

    return Execs(true, cat)


def _pipe_round_trips(process: subprocess.Popen[bytes]) -> tuple[Callable[[bytes], bytes], Callable[[], None]]:
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def round_trip(line: bytes) -> bytes:
        stdin.write(line)
        stdin.flush()
        got = b""
        while len(got) < len(line):
            piece = os.read(stdout.fileno(), 65536)
            if not piece:
                raise RuntimeError("the exec ended")
            got += piece
        return got

    def close() -> None:
        stdin.close()
        process.wait(30)

    return round_trip, close


def _exec_command_line(argv: list[str], kubeconfig: str) -> Execs:
    env = _kubeconfig_env(kubeconfig)
    current: list[subprocess.Popen[bytes]] = []

    def true() -> None:
        done = subprocess.run([*argv, "exec", "-n", NS, POD, "--", "true"], env=env, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} exec: {done.stderr.decode()}")

    def cat() -> tuple[Callable[[bytes], bytes], Callable[[], None]]:
        process = subprocess.Popen([*argv, "exec", "-i", "-n", NS, POD, "--", "cat"], env=env,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        current.append(process)
        return _pipe_round_trips(process)

    def helper_cpu() -> float:
        return sum(_child_cpu(p.pid) for p in current if p.poll() is None)

    return Execs(true, cat, helper_cpu)


def _exec_kubernetes(kubeconfig: str) -> Execs:
    from kubernetes import client as k8s
    from kubernetes import config
    from kubernetes.stream import stream

    api = k8s.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))

    def true() -> None:
        stream(api.connect_get_namespaced_pod_exec, POD, NS, command=["true"], stdout=True, stderr=True,
               stdin=False, tty=False)

    def cat() -> tuple[Callable[[bytes], bytes], Callable[[], None]]:
        ws = stream(api.connect_get_namespaced_pod_exec, POD, NS, command=["cat"], stdout=True, stderr=True,
                    stdin=True, tty=False, _preload_content=False)

        def round_trip(line: bytes) -> bytes:
            ws.write_stdin(line.decode())
            return str(ws.readline_stdout(timeout=30)).encode() + b"\n"

        return round_trip, ws.close

    return Execs(true, cat)


def _exec_raw(kubeconfig: str) -> Execs:
    connect = _raw_ws(kubeconfig)
    base = f"/api/v1/namespaces/{NS}/pods/{POD}/exec?container=c&stdout=true&stderr=true"

    def true() -> None:
        with connect(base + "&command=true", ["v5.channel.k8s.io"]) as ws:
            status = b""
            try:
                while True:
                    message = ws.recv()
                    if message[0] == 3:
                        status += message[1:]
            except Exception as exc:  # the server closes the connection after the status
                if "Success" not in status.decode() or exc.__class__.__name__ != "ConnectionClosedOK":
                    raise

    def cat() -> tuple[Callable[[bytes], bytes], Callable[[], None]]:
        ws = connect(base + "&stdin=true&command=cat", ["v5.channel.k8s.io"])

        def round_trip(line: bytes) -> bytes:
            ws.send(b"\x00" + line)
            got = b""
            while len(got) < len(line):
                message = ws.recv()
                if message[0] == 1:
                    got += message[1:]
            return got

        return round_trip, ws.close

    return Execs(true, cat)


EXECUTORS: dict[str, Callable[[str], Execs]] = {
    "dynkube": _exec_dynkube,
    "dynkube CLI": lambda kubeconfig: _exec_command_line([DYNKUBE_CLI], kubeconfig),
    "kubectl": lambda kubeconfig: _exec_command_line([KUBECTL], kubeconfig),
    "kubernetes": _exec_kubernetes,
    "raw": _exec_raw,
}
EXEC_CODE = {
    "dynkube": "client.exec(pod, ['true'], ns); client.exec_stream(pod, ['cat'], ns, stdin=True): write / read",
    "dynkube CLI": "dynkube exec -n ns echo -- true (a process per call); dynkube exec -i ... -- cat, pipes",
    "kubectl": "kubectl exec -n ns echo -- true (a process per call); kubectl exec -i ... -- cat, pipes",
    "kubernetes": "stream(v1.connect_get_namespaced_pod_exec, pod, ns, command=[...], ...); "
                  "_preload_content=False: write_stdin / readline_stdout",
    "raw": "websockets.sync.client.connect(wss://.../exec?command=...&stdin=true, "
           "subprotocols=['v5.channel.k8s.io'])",
}
IN_PROCESS = {"dynkube", "kubernetes", "raw"}


def exec_worker(name: str, kubeconfig: str, mode: str, count: int) -> None:
    execs = EXECUTORS[name](kubeconfig)
    samples: list[float] = []
    if mode == "true":
        execs.true()  # warm: connection settings, TLS context, discovery of nothing (no discovery is needed)
        cpu_started = time.process_time()
        for _ in range(count):
            started = time.perf_counter()
            execs.true()
            samples.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu_started
        children = os.times()
        cpu += children.children_user + children.children_system
    else:
        round_trip, close = execs.cat()
        if round_trip(LINE) != LINE:
            raise RuntimeError("cat did not echo")
        helper, cpu_started = execs.helper_cpu(), time.process_time()
        for _ in range(count):
            started = time.perf_counter()
            echoed = round_trip(LINE)
            samples.append(time.perf_counter() - started)
            if echoed != LINE:
                raise RuntimeError(f"cat echoed {echoed!r}")
        cpu = time.process_time() - cpu_started + execs.helper_cpu() - helper
        close()
    _common.emit({"median": _common.median(samples), "min": min(samples), "max": max(samples),
                  "cpu": cpu / count, "count": count})


def profile_worker(kubeconfig: str, what: str) -> None:
    """cProfile of dynkube's side: one forwarded connection's transfer, or exec calls and round trips."""
    if what == "forward":
        forwarding = _forward_dynkube_connect_port(kubeconfig)
        conn = forwarding.connect()
        _first_echo(conn)
        block = os.urandom(BLOCK)
        print(_common.profile(lambda: _echo(conn, 16 * 2**20, block, [])))
        conn.close()
        forwarding.stop()
    else:
        execs = _exec_dynkube(kubeconfig)
        execs.true()
        print(_common.profile(lambda: [execs.true() for _ in range(20)]))
        round_trip, close = execs.cat()
        round_trip(LINE)
        print(_common.profile(lambda: [round_trip(LINE) for _ in range(200)]))
        close()


def worker(argv: list[str]) -> None:
    if argv[0] == "forward":
        forward_worker(argv[1], argv[2], float(argv[3]), int(argv[4]))
    elif argv[0] == "exec":
        exec_worker(argv[1], argv[2], argv[3], int(argv[4]))
    else:
        raise SystemExit(f"unknown worker {argv[0]!r}")


# ---- the benchmark ---------------------------------------------------------------------------

def _spread(samples: list[float]) -> str:
    return f"{min(samples):.3g}–{max(samples):.3g}"


def run(options: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = _common.kubeconfig_path()
    if options.profile:
        ensure_pod(kubeconfig)
        profile_worker(str(kubeconfig), options.profile)
        return {"tables": [], "profile": options.profile}
    setup = ensure_pod(kubeconfig)
    print(f"setup: {setup}", flush=True)
    runs = 2 if options.quick else options.runs
    mib = options.mib / 4 if options.quick else options.mib
    env = _common.child_env()
    script = Path(__file__).resolve()
    jobs: list[tuple[str, str, list[str]]] = []  # (table, contender, worker args)
    for name in FORWARDERS:
        jobs.append(("forward 1", name, ["forward", name, str(kubeconfig), str(mib), "1"]))
        jobs.append((f"forward {PARALLEL}", name, ["forward", name, str(kubeconfig), str(mib), str(PARALLEL)]))
    for name in EXECUTORS:
        jobs.append(("exec true", name, ["exec", name, str(kubeconfig), "true", str(options.execs)]))
        jobs.append(("exec round trip", name, ["exec", name, str(kubeconfig), "cat", str(options.round_trips)]))
    if options.contenders:
        wanted = set(options.contenders.split(","))
        jobs = [job for job in jobs if job[1] in wanted]
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {(t, n): [] for t, n, _ in jobs}
    errors: dict[str, list[str]] = {}  # a failed process is reported and not counted; the next round runs again
    try:
        for attempt in range(runs + 1):  # round 0 warms caches, kubectl's and the server's, and is dropped
            order = list(jobs)
            random.Random(attempt).shuffle(order)
            for table_name, name, args in order:
                key = f"{table_name}: {name}"
                answer = _common.run_worker(script, args, timeout=WORKER_TIMEOUT, env=env)
                if "error" in answer:
                    errors.setdefault(key, []).append(f"{time.strftime('%H:%M:%S')} {answer['error'][-300:]}")
                    print(f"  {key}: FAILED {answer['error'][-300:]}", flush=True)
                    continue
                if attempt:
                    samples[(table_name, name)].append(answer)
                    shown = (f"{answer['mib_s']:.1f} MiB/s, connect {answer['connect'] * 1000:.0f} ms"
                             if "mib_s" in answer else f"median {answer['median'] * 1000:.1f} ms")
                    print(f"  {key:<40} {shown}, cpu {answer['cpu']:.3f} s", flush=True)
    finally:
        if not options.keep:
            cleanup(kubeconfig)
    tables = []
    for parallel in (1, PARALLEL):
        t = f"forward {parallel}"
        rows = []
        for name in [n for n in FORWARDERS if (t, n) in samples]:
            s = samples[(t, name)]
            if not s:
                rows.append({"name": name, "error": "no samples"})
                continue
            rates = [x["mib_s"] for x in s]
            rows.append({"name": name, "mib_s": _common.median(rates), "range": _spread(rates),
                         "cpu_per_gib": _common.median(x["cpu"] / (x["bytes"] / 2**30) for x in s),
                         "connect": _common.median(x["connect"] for x in s), "runs": len(s),
                         "failed": len(errors.get(f"{t}: {name}", []))})
        each = f"{mib:g} MiB" if parallel == 1 else f"{mib / parallel:g} MiB each ({mib:g} MiB in all)"
        tables.append(_common.table(
            f"port-forward to an echo, {parallel} connection{'s' if parallel > 1 else ''} at once, {each} sent and "
            f"read back; median of {runs} fresh processes", rows,
            [("mib_s", "MiB/s", "n"), ("range", "min–max", "t"), ("cpu_per_gib", "client CPU s/GiB", "n"),
             ("connect", "connect", "s"), ("runs", "runs", "n"), ("failed", "failed", "n")],
            ratios=["mib_s", "cpu_per_gib"],
            notes=["MiB/s: bytes sent one way over the time until every byte came back; higher is better",
                   "client CPU: the measuring process (all threads), plus the kubectl process for kubectl",
                   "connect: open one connection and get a one-byte echo back (connections opened one after another)",
                   "failed: processes that failed (their error is in the results file), not counted in the medians"]
            + [f"{n}: `{c}`" for n, c in FORWARD_CODE.items()]))
        for row in rows:
            if isinstance(row.get("mib_s"), float):
                row["mib_s"] = round(row["mib_s"], 1)
                row["cpu_per_gib"] = round(row["cpu_per_gib"], 1)
    for mode, title, count in (("exec true", "exec pod -- true, end to end", options.execs),
                               ("exec round trip", f"round trip of a {len(LINE)}-byte line through cat on one open "
                                                   f"exec stream", options.round_trips)):
        rows = []
        for name in [n for n in EXECUTORS if (mode, n) in samples]:
            s = samples[(mode, name)]
            if not s:
                rows.append({"name": name, "error": "no samples"})
                continue
            medians = [x["median"] for x in s]
            rows.append({"name": name, "where": "in-process" if name in IN_PROCESS else "a process per call"
                         if mode == "exec true" else "a process, pipes",
                         "latency": _common.median(medians), "fastest": min(x["min"] for x in s),
                         "range": f"{min(medians) * 1000:.1f}–{max(medians) * 1000:.1f} ms",
                         "cpu": _common.median(x["cpu"] for x in s), "runs": len(s),
                         "failed": len(errors.get(f"{mode}: {name}", []))})
        tables.append(_common.table(
            f"{title}; median over {runs} fresh processes of each one's median of {count}", rows,
            [("where", "how", "t"), ("latency", "latency", "s"), ("range", "min–max of medians", "t"),
             ("fastest", "fastest", "s"), ("cpu", "client CPU each", "s"), ("runs", "runs", "n"),
             ("failed", "failed", "n")],
            ratios=["latency", "cpu"],
            notes=["client CPU: the measuring process and its child processes (kubectl, dynkube CLI) per call",
                   "failed: processes that failed (their error is in the results file), not counted in the medians"]
            + [f"{n}: `{c}`" for n, c in EXEC_CODE.items()]))
    targets: dict[str, Any] = {}
    for parallel, t in zip((1, PARALLEL), tables[:2]):
        rows_by = {r["name"]: r for r in t["rows"]}
        dyn = rows_by.get("dynkube", {}).get("mib_s")
        for anchor, key in (("kubectl", "at_least_kubectl"), ("kubernetes", "ahead_of_kubernetes")):
            other = rows_by.get(anchor, {}).get("mib_s")
            if isinstance(dyn, float) and isinstance(other, float):
                targets[f"forward_{parallel}_{key}"] = {"dynkube_over_anchor": round(dyn / other, 2),
                                                        "met": dyn >= other if anchor == "kubectl" else dyn > other}
    return {"setup": setup, "errors": errors, "tables": tables, "targets": targets,
            "parameters": {"runs": runs, "mib": mib, "parallel": PARALLEL, "execs": options.execs,
                           "round_trips": options.round_trips}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per contender and mode")
    parser.add_argument("--mib", type=float, default=16, help="MiB through the echo per measurement (default 16)")
    parser.add_argument("--execs", type=int, default=10, help="exec calls per process (default 10)")
    parser.add_argument("--round-trips", type=int, default=100, help="round trips per process (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the namespace and its pod afterwards")
    parser.add_argument("--contenders", help="comma-separated contenders to run (default: all)")
    parser.add_argument("--profile", choices=["forward", "exec"], help="print a cProfile of dynkube's side and exit")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_streams", run, worker, add_arguments))
