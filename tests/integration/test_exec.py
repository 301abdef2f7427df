"""exec, attach and port-forward through the API server to envtest's kwok nodes (docs/envtest.md):
exec runs the command on this host, attach is to a main process that behaves like ``cat`` printing into
the container's log (stdin is appended to the log, the log's new lines come back), pod port 7 is
an echo and any other pod port is kwok's own server (``GET /healthz`` answers ``ok``)."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import dynkube
from dynkube import Channel
from dynkube.core.http import Request
from dynkube.streaming import SerializedTLS
from dynkube.transport import build_ssl_context

from ..support.waiting import until
from .test_auth import ADMIN_TOKEN, Envtest, connect, envtest, exec_user, runs, write_kubeconfig  # noqa: F401

ECHO_PORT = 7
KWOK_SERVER_PORT = 10250  # not 7: kwok's own HTTP server answers
CONTAINERS = [{"name": "c", "image": "registry.example/app:1"}]
MEGABYTE = 1024 * 1024


def _is_running_and_ready(pod: dynkube.ApiObject) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])


@pytest.fixture
def pod(client: dynkube.Client, namespace: str) -> str:
    """A pod on a kwok node, Running and Ready (within 60 s)."""
    pods = client.resource("pods")
    pods.create({"metadata": {"name": "p", "labels": {"app": "exec-test"}}, "spec": {"containers": CONTAINERS}},
                namespace)
    dynkube.wait_for(pods, "p", namespace, condition=_is_running_and_ready, timeout=60)
    return "p"


def _open_sockets() -> int:
    """How many sockets this process has open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def _threads() -> set[threading.Thread]:
    """The threads running, but an event loop's worker threads (asyncio.to_thread's pool, which the
    asyncio client's credentials use and the loop keeps for reuse)."""
    return {t for t in threading.enumerate() if not t.name.startswith("asyncio_")}


# ---- exec --------------------------------------------------------------------------------------

def test_exec_captures_output_and_a_zero_exit(each_client: Any, namespace: str, pod: str) -> None:
    result = each_client.exec(pod, ["echo", "hello from exec"], namespace)
    assert result == dynkube.ExecResult(b"hello from exec\n", b"", 0)
    assert result.stdout_text == "hello from exec\n"


def test_exec_keeps_stderr_apart(each_client: Any, namespace: str, pod: str) -> None:
    result = each_client.exec(pod, ["sh", "-c", "echo out; echo err >&2"], namespace)
    assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 0)


def test_a_megabyte_of_output_arrives_intact(each_client: Any, namespace: str, pod: str) -> None:
    expected = (b"0123456789abcdef" * (MEGABYTE // 16 + 1))[:MEGABYTE]
    result = each_client.exec(pod, ["sh", "-c", f"yes 0123456789abcdef | tr -d '\\n' | head -c {MEGABYTE}"], namespace)
    assert len(result.stdout) == MEGABYTE
    assert hashlib.sha256(result.stdout).hexdigest() == hashlib.sha256(expected).hexdigest()


def test_exec_with_a_tty_runs_on_a_terminal(each_client: Any, namespace: str, pod: str) -> None:
    result = each_client.exec(pod, ["tty"], namespace, tty=True)
    assert result.stdout.startswith(b"/dev/pts/") and result.stdout.endswith(b"\r\n")  # the terminal's line end
    assert result.exit_code == 0


def test_the_terminal_size_follows_resize(each_client: Any, namespace: str, pod: str) -> None:
    # the API server passes the resize on a stream of its own, which may overtake or trail stdin: the
    # command waits (up to 30 s) for the new size before printing it
    script = ('read line; n=0; while [ "$(stty size)" != "45 123" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); '
              'done; stty size')
    with each_client.exec_stream(pod, ["sh", "-c", script], namespace, stdin=True, tty=True) as stream:
        stream.resize(123, 45)
        stream.write("go\n")
        output = b""
        while b"45 123" not in output:
            chunk = stream.read(timeout=30)
            assert chunk, f"the stream ended with {output!r}"
            output += chunk
        assert stream.wait(timeout=30) == 0


def test_a_streaming_exec_echoes_what_is_written(each_client: Any, namespace: str, pod: str) -> None:
    with each_client.exec_stream(pod, ["cat"], namespace, stdin=True) as stream:
        assert stream.protocol is dynkube.StreamProtocol.V5
        for line in (b"first\n", b"second\n"):
            stream.write(line)
            received = b""
            while len(received) < len(line):
                received += stream.read(Channel.STDOUT, timeout=30)
            assert received == line
    assert stream.exit_code is None  # closed by us while cat still ran (kwok never ends its stdin)


def test_stdin_is_fed_then_closed(each_client: Any, namespace: str, pod: str) -> None:
    payload = os.urandom(300_000)
    result = each_client.exec(pod, ["sh", "-c", "wc -c; echo done >&2"], namespace, stdin=payload)
    assert (result.stdout.strip(), result.stderr, result.exit_code) == (b"300000", b"done\n", 0)


def test_close_stdin_then_a_command_reading_to_eof_ends(each_client: Any, namespace: str, pod: str) -> None:
    with each_client.exec_stream(pod, ["sh", "-c", "cat; echo after-eof"], namespace, stdin=True) as stream:
        stream.write(b"before\n")
        stream.close_stdin()
        assert stream.wait(timeout=30) == 0
        assert b"".join(iter(lambda: stream.read(timeout=30), b"")) == b"before\nafter-eof\n"


@pytest.mark.parametrize("code", [1, 3, 42])
def test_the_exit_code_comes_from_the_status(each_client: Any, namespace: str, pod: str, code: int) -> None:
    result = each_client.exec(pod, ["sh", "-c", f"echo partial; exit {code}"], namespace)
    assert (result.stdout, result.exit_code) == (b"partial\n", code)


def test_a_command_that_does_not_exist_raises_the_servers_error(each_client: Any, namespace: str,
                                                                 pod: str) -> None:
    with pytest.raises(dynkube.ApiError, match="executable file not found"):
        each_client.exec(pod, ["no-such-command-here"], namespace)


def test_no_such_container_is_the_servers_bad_request(each_client: Any, namespace: str, pod: str) -> None:
    with pytest.raises(dynkube.BadRequest, match="container nope is not valid for pod p"):
        each_client.exec(pod, ["true"], namespace, container="nope")


def test_no_such_pod_is_not_found(each_client: Any, namespace: str) -> None:
    with pytest.raises(dynkube.NotFound):
        each_client.exec("no-such-pod", ["true"], namespace)


def test_no_command_is_refused_before_any_request(each_client: Any, namespace: str) -> None:
    with pytest.raises(dynkube.InvalidInput, match="non-empty list"):
        each_client.exec("p", [], namespace)


def test_a_forbidden_user_gets_forbidden(open_client: Callable[..., Any], kubeconfig_path: Path, namespace: str,
                                         pod: str) -> None:
    with open_client(kubeconfig=kubeconfig_path, context="envtest-nobody") as nobody:
        with pytest.raises(dynkube.Forbidden):
            nobody.exec(pod, ["true"], namespace)


def test_exec_over_a_bearer_token(open_client: Callable[..., Any], kubeconfig_path: Path, namespace: str,
                                  pod: str) -> None:
    with open_client(kubeconfig=kubeconfig_path, context="envtest-token") as by_token:
        assert by_token.exec(pod, ["echo", "token"], namespace).stdout == b"token\n"


def test_exec_with_tls_server_name(open_client: Callable[..., Any], client: dynkube.Client, namespace: str,
                                   pod: str) -> None:
    config = client.config.replace(server=client.config.server.replace("127.0.0.1", "localhost"),
                                   tls_server_name="envtest.dynkube.local")
    with open_client(config) as renamed:
        assert renamed.exec(pod, ["echo", "named"], namespace).stdout == b"named\n"
    wrong = client.config.replace(tls_server_name="wrong.example")
    with open_client(wrong) as mismatched, pytest.raises(dynkube.TransportError, match="cannot open"):
        mismatched.exec(pod, ["true"], namespace)


def test_closing_streams_leaves_no_socket_or_thread(each_client: Any, namespace: str, pod: str) -> None:
    each_client.exec(pod, ["true"], namespace)  # the client's pooled REST connection exists before counting
    sockets, threads = _open_sockets(), _threads()
    for _ in range(5):
        each_client.exec(pod, ["echo", "x"], namespace)
        with each_client.exec_stream(pod, ["cat"], namespace, stdin=True) as stream:
            stream.write(b"x")
            assert stream.read(timeout=30) == b"x"
        with each_client.connect_port(pod, ECHO_PORT, namespace) as conn:
            conn.sendall(b"y")
            assert conn.recv(timeout=30) == b"y"
    until(lambda: _open_sockets() <= sockets and not (_threads() - threads), "sockets and threads released",
          timeout=30)


def test_exec_streams_and_rest_calls_share_one_client_across_threads(each_client: Any, namespace: str,
                                                                     pod: str) -> None:
    stop = threading.Event()

    def rest() -> int:
        calls = 0
        while not stop.is_set() or calls == 0:
            assert each_client.resource("pods").get(pod, namespace).metadata.name == pod
            calls += 1
        return calls

    def stream(i: int) -> bytes:
        with each_client.exec_stream(pod, ["cat"], namespace, stdin=True) as s:
            received = b""
            for n in range(20):
                line = f"stream {i} line {n}\n".encode()
                s.write(line)
                while not received.endswith(line):
                    received += s.read(timeout=30)
            return received

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        readers = [pool.submit(rest) for _ in range(16)]
        streams = [pool.submit(stream, i) for i in range(4)]
        outputs = [f.result(timeout=120) for f in streams]
        stop.set()
        assert all(f.result(timeout=60) > 0 for f in readers)
    for i, output in enumerate(outputs):
        assert output == b"".join(f"stream {i} line {n}\n".encode() for n in range(20))


# ---- attach ------------------------------------------------------------------------------------

def _read_line(stream: dynkube.ExecStream) -> bytes:
    """One line of the attached stdout (bounded)."""
    received = b""
    while not received.endswith(b"\n"):
        chunk = stream.read(timeout=30)
        assert chunk, f"the attach ended after {received!r}"
        received += chunk
    return received


def test_attach_echoes_what_is_written_to_the_container(each_client: Any, namespace: str, pod: str) -> None:
    # envtest's node (kubelet-streaming) gives every container a main process that behaves like cat
    with each_client.attach(pod, namespace, stdin=True) as stream:
        assert stream.protocol is dynkube.StreamProtocol.V5
        stream.write(b"a line for the main process\n")
        assert _read_line(stream) == b"a line for the main process\n"
        stream.close_stdin()
        assert stream.wait(timeout=30) == 0  # closing stdin ends the attach with Success


def test_every_attached_client_receives_what_the_main_process_prints(client: dynkube.Client, namespace: str,
                                                                     pod: str) -> None:
    with client.attach(pod, namespace, stdin=True) as watching:
        watching.write(b"watching\n")  # its echo: from now on this client receives the container's output
        assert _read_line(watching) == b"watching\n"
        with client.attach(pod, namespace, stdin=True) as typing:
            typing.write(b"typing\n")
            assert _read_line(typing) == b"typing\n"
            assert _read_line(watching) == b"typing\n"  # what the other client's input made the process print
            typing.write(b"one more line\n")
            assert _read_line(watching) == _read_line(typing) == b"one more line\n"
            typing.close_stdin()
            assert typing.wait(timeout=30) == 0
        watching.close_stdin()
        assert watching.wait(timeout=30) == 0
    assert dynkube.logs(client, pod, namespace, tail_lines=3) == "watching\ntyping\none more line\n"


# ---- port-forward ------------------------------------------------------------------------------

def _round_trip(port: int, message: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(message)
        received = b""
        while len(received) < len(message):
            chunk = conn.recv(65536)
            assert chunk, f"the connection closed after {received!r}"
            received += chunk
    return received


def _http_get(port: int, path: str) -> bytes:
    """One HTTP/1.0 answer, read to its Content-Length (kwok keeps a forwarded connection open after
    its target closed, so the end of the connection is not the end of the answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(f"GET {path} HTTP/1.0\r\nHost: pod\r\n\r\n".encode())
        answer = b""
        while not (match := re.search(rb"\r\nContent-Length: (\d+)\r\n.*?\r\n\r\n", answer, re.S | re.I)) or \
                len(answer) < match.end() + int(match.group(1)):
            chunk = conn.recv(65536)
            assert chunk, f"the connection closed after {answer!r}"
            answer += chunk
    return answer


def test_port_forward_echo_round_trip(each_client: Any, namespace: str, pod: str) -> None:
    with each_client.port_forward(pod, f":{ECHO_PORT}", namespace) as forwarder:
        [(local, remote)] = forwarder.forwarded
        assert remote == ECHO_PORT and local > 0
        assert _round_trip(local, b"through the node and back\n") == b"through the node and back\n"


def test_port_forward_reaches_kwoks_healthz(each_client: Any, namespace: str, pod: str) -> None:
    with each_client.port_forward(pod, [(0, KWOK_SERVER_PORT)], namespace) as forwarder:
        answer = _http_get(forwarder.forwarded[0][0], "/healthz")
    assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b"\r\n\r\nok")


def test_twenty_connections_at_once(each_client: Any, namespace: str, pod: str) -> None:
    sockets, threads = _open_sockets(), _threads()
    with each_client.port_forward(pod, f"0:{ECHO_PORT}", namespace) as forwarder:
        local = forwarder.forwarded[0][0]
        messages = [f"connection {i}\n".encode() * 100 for i in range(20)]
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            assert list(pool.map(lambda m: _round_trip(local, m), messages)) == messages
    until(lambda: _open_sockets() <= sockets and not (_threads() - threads), "port-forward released everything",
          timeout=30)


def test_a_socket_like_connection_to_a_port(each_client: Any, namespace: str, pod: str) -> None:
    payload = os.urandom(200_000)
    with each_client.connect_port(pod, ECHO_PORT, namespace) as conn:
        conn.sendall(payload)
        received = b""
        while len(received) < len(payload):
            received += conn.recv(timeout=30)
    assert received == payload


def test_port_forward_refuses_bad_ports_before_listening(each_client: Any, namespace: str) -> None:
    with pytest.raises(dynkube.InvalidInput, match="port"):
        each_client.port_forward("p", "8080:0", namespace)


# ---- the client's own credentials ------------------------------------------------------------

def test_an_exec_plugin_token_is_refreshed_after_a_401(connect: Callable[..., Any], envtest: Envtest, namespace: str,
                                                       pod: str, tmp_path: Path) -> None:
    user, counter = exec_user(tmp_path, tokens=f"revoked-token,{ADMIN_TOKEN}")
    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        assert client.exec(pod, ["echo", "refreshed"], namespace).stdout == b"refreshed\n"
    assert runs(counter) == 2  # the upgrade got a 401 with run 1's token; run 2's token worked


def test_impersonation_headers_go_with_the_upgrade(open_client: Callable[..., Any], kubeconfig_path: Path,
                                                   namespace: str, pod: str) -> None:
    config = dynkube.config.load_kubeconfig(kubeconfig_path, overrides=dynkube.Overrides(impersonate="nobody"))
    with open_client(config) as as_nobody, pytest.raises(dynkube.Forbidden, match='"nobody"'):
        as_nobody.exec(pod, ["true"], namespace)


# ---- one TLS connection, two threads -------------------------------------------------------------

class _OverlapCountingTLS(ssl.SSLSocket):
    """An SSLSocket that counts the times a call into OpenSSL began while another one was running."""

    inside = 0
    overlaps = 0
    guard = threading.Lock()

    def _counted(self, call: Any, *args: Any) -> Any:
        with self.guard:
            type(self).overlaps += type(self).inside > 0
            type(self).inside += 1
        try:
            return call(*args)
        finally:
            with self.guard:
                type(self).inside -= 1

    def recv(self, *args: Any) -> bytes:
        return self._counted(super().recv, *args)

    def send(self, *args: Any) -> int:
        return self._counted(super().send, *args)


def test_a_tls_connection_is_entered_by_one_thread_at_a_time(client: dynkube.Client) -> None:
    """websockets reads in a thread while the caller writes; OpenSSL forbids two calls at once on one
    connection (a lost upgrade request stalled exec and port-forward for 30 s). Here 300 pipelined
    requests of 32 KiB each are written by one thread while another reads the answers."""
    context = build_ssl_context(client.config, client.config.credentials.client_certificate())
    context.sslsocket_class = _OverlapCountingTLS
    target = client.transport.upgrade_target(Request("GET", "/version", {}, {}, None))
    host, port = urlsplit(client.config.server).hostname, urlsplit(client.config.server).port
    raw = socket.create_connection((host, port), timeout=30)
    connection = SerializedTLS(context.wrap_socket(raw, server_hostname=target.server_hostname or host))
    headers = "".join(f"{name}: {value}\r\n" for name, value in target.headers)
    request = (f"GET /version HTTP/1.1\r\nHost: {host}\r\n{headers}X-Pad: {'x' * 32768}\r\n\r\n").encode()
    count, failures = 300, []

    def write() -> None:
        try:
            for _ in range(count):
                connection.sendall(request)
        except BaseException as exc:
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    received = b""
    connection.settimeout(60)
    while received.count(b"HTTP/1.1 200 OK") < count:
        data = connection.recv(65536)
        assert data, f"the server ended the connection after {received.count(b'HTTP/1.1 200 OK')} answers"
        received += data
    writer.join()
    connection.close()
    assert not failures
    assert _OverlapCountingTLS.overlaps == 0
