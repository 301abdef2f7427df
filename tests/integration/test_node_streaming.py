"""Exec, attach and port-forward on the envtest nodes (kubelet-streaming, see docs/envtest.md): the
kubelet's own streaming library closes a command's stdin when the client closes it, reports exit codes
as a `NonZeroExitCode` status, and ends only the forwarded connection a client cuts. kubectl is the
reference client."""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import os
import pty
import selectors
import shutil
import socket
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from .test_node import CONTAINER_LOG, ECHO_PORT, kwok_nodes, port_forward, running_pod  # noqa: F401  (fixtures)

TIMEOUT = 60  # seconds a kubectl command may take on a loaded machine; a hang fails the test
KWOK_PORT = 8080  # any pod port but ECHO_PORT reaches kwok's own server
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: pod\r\n\r\n"
CUTS = 4  # rounds of forwarded connections cut, per port
AT_ONCE = 8  # connections cut at once in a round


def _kubectl(kubeconfig: Path, *argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run kubectl on the test cluster; its exit status and output, whatever they are (bounded)."""
    if not shutil.which("kubectl"):
        pytest.fail("kubectl is needed on PATH as the reference client of the node tests", pytrace=False)
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *argv], input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL, capture_output=True,
                          timeout=TIMEOUT)


def test_exec_stdin_eof_reaches_the_command(kubeconfig_path: Path, namespace: str, running_pod: str) -> None:
    data = b"".join(b"line %d of the piped input\n" % i for i in range(1000))
    done = _kubectl(kubeconfig_path, "exec", "-i", "-n", namespace, running_pod, "--", "cat", stdin=data)
    assert done.returncode == 0, done.stderr  # `cat` ended: it read EOF
    assert done.stdout == data


def test_exec_stdin_eof_with_no_input(kubeconfig_path: Path, namespace: str, running_pod: str) -> None:
    done = _kubectl(kubeconfig_path, "exec", "-i", "-n", namespace, running_pod, "--", "wc", "-c", stdin=b"")
    assert (done.returncode, done.stdout.strip()) == (0, b"0"), done.stderr


def test_exec_exit_code_becomes_kubectls(kubeconfig_path: Path, namespace: str, running_pod: str) -> None:
    done = _kubectl(kubeconfig_path, "exec", "-n", namespace, running_pod, "--", "sh", "-c", "exit 3")
    assert done.returncode == 3, done.stderr  # from the ExitCode cause of the NonZeroExitCode status
    assert b"command terminated with exit code 3" in done.stderr


def test_exec_killed_by_a_signal_exits_128_plus_signal(kubeconfig_path: Path, namespace: str,
                                                       running_pod: str) -> None:
    done = _kubectl(kubeconfig_path, "exec", "-n", namespace, running_pod, "--", "sh", "-c", "kill -9 $$")
    assert done.returncode == 137, done.stderr


def test_exec_stdout_and_stderr_are_separate(kubeconfig_path: Path, namespace: str, running_pod: str) -> None:
    done = _kubectl(kubeconfig_path, "exec", "-n", namespace, running_pod, "--", "sh", "-c",
                    "echo to-stdout; echo to-stderr >&2")
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == (b"to-stdout\n", b"to-stderr\n")


def test_exec_of_a_missing_command_is_an_error(kubeconfig_path: Path, namespace: str, running_pod: str) -> None:
    done = _kubectl(kubeconfig_path, "exec", "-n", namespace, running_pod, "--", "no-such-command-here")
    assert done.returncode != 0
    assert b'"no-such-command-here": executable file not found' in done.stderr


def test_exec_with_a_tty(kubeconfig_path: Path, namespace: str, running_pod: str) -> None:
    # kubectl's size goes on a stream of its own, which may arrive after the command started: the
    # command waits (up to 30 s) for a size before printing it
    script = ('n=0; while [ "$(stty size)" = "0 0" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done; '
              'test -t 0 && test -t 1 && echo "on a terminal of size $(stty size)"; read line; echo "read: $line"')
    output = _run_on_a_terminal(["kubectl", "--kubeconfig", str(kubeconfig_path), "exec", "-it", "-n", namespace,
                                 running_pod, "--", "sh", "-c", script], typed=b"typed\r",
                                until=b"read: typed", rows=33, columns=101)
    assert b"on a terminal of size 33 101" in output  # kubectl sent its terminal's size: a resize


def test_attach_echoes_stdin_and_ends_when_it_closes(kubeconfig_path: Path, namespace: str,
                                                     running_pod: str) -> None:
    done = _kubectl(kubeconfig_path, "attach", "-i", "-n", namespace, running_pod, stdin=b"hello attach\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"hello attach\n"


def test_followed_logs_stream_through_the_node(kubeconfig_path: Path, namespace: str, running_pod: str) -> None:
    proc = subprocess.Popen(["kubectl", "--kubeconfig", str(kubeconfig_path), "logs", "-f", "-n", namespace,
                             running_pod], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        received = b""
        deadline = time.monotonic() + TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while received != CONTAINER_LOG.encode():  # while the follow goes on: nothing buffers it on the way
                remaining = deadline - time.monotonic()
                assert remaining > 0 and proc.poll() is None, f"kubectl logs -f printed only {received!r}"
                if selector.select(remaining):
                    received += os.read(proc.stdout.fileno(), 4096)
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)


def test_port_forward_to_another_port_reaches_kwok(kubeconfig_path: Path, namespace: str,
                                                   running_pod: str) -> None:
    _assert_kwok_healthz_through_a_port_forward(kubeconfig_path, namespace, running_pod)


def test_cutting_forwarded_connections_leaves_the_node_healthy(kubeconfig_path: Path, namespace: str,
                                                               running_pod: str) -> None:
    kwok = json.loads((kubeconfig_path.parent / "state.json").read_text())["pids"]["kwok"]
    for port, request in [(ECHO_PORT, b"x" * 65536), (KWOK_PORT, HEALTHZ * 500)]:
        for _ in range(CUTS):
            with port_forward(kubeconfig_path, namespace, running_pod, port) as local_port:
                with concurrent.futures.ThreadPoolExecutor(AT_ONCE) as pool:
                    list(pool.map(_cut_mid_transfer, [local_port] * AT_ONCE, [request] * AT_ONCE))
    message = b"after the cuts\n"
    with port_forward(kubeconfig_path, namespace, running_pod, ECHO_PORT) as local_port:
        with socket.create_connection(("127.0.0.1", local_port), timeout=TIMEOUT) as conn:
            conn.sendall(message)
            assert _receive_until(conn, message) == message
    done = _kubectl(kubeconfig_path, "exec", "-n", namespace, running_pod, "--", "echo", "still here")
    assert (done.returncode, done.stdout) == (0, b"still here\n"), done.stderr
    _assert_kwok_healthz_through_a_port_forward(kubeconfig_path, namespace, running_pod)
    os.kill(kwok, 0)  # kwok, which manages the nodes, still runs (ProcessLookupError if it exited)


def _assert_kwok_healthz_through_a_port_forward(kubeconfig: Path, namespace: str, pod: str) -> None:
    with port_forward(kubeconfig, namespace, pod, KWOK_PORT) as local_port:
        with socket.create_connection(("127.0.0.1", local_port), timeout=TIMEOUT) as conn:
            conn.sendall(HEALTHZ)
            response = _receive_until(conn, b"\r\n\r\nok")
    assert response.startswith(b"HTTP/1.1 200 "), response


def _cut_mid_transfer(local_port: int, request: bytes) -> None:
    """Send `request` twice through the forwarded `local_port`, and once the first answer bytes came back
    (data flows both ways), reset the connection with the second still on its way."""
    with socket.create_connection(("127.0.0.1", local_port), timeout=TIMEOUT) as conn:
        conn.sendall(request)
        assert conn.recv(4096), "the forwarded connection closed before answering"
        conn.sendall(request)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends a reset


def _receive_until(conn: socket.socket, end: bytes) -> bytes:
    """What `conn` receives until it ends with `end` (each read bounded by the socket's timeout)."""
    received = b""
    while not received.endswith(end):
        chunk = conn.recv(65536)
        assert chunk, f"the connection closed after {received!r}"
        received += chunk
    return received


def _run_on_a_terminal(argv: list[str], *, typed: bytes, until: bytes, rows: int, columns: int) -> bytes:
    """Run `argv` with a pseudo-terminal of `rows` x `columns` as its stdin/stdout, type `typed` once it
    printed something, and return what it printed when `until` appeared and the process exited (bounded)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(argv, stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True)
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + TIMEOUT
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(controller, selectors.EVENT_READ)
            while until not in output or proc.poll() is None:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {until!r} from the terminal: {output!r}"
                if not selector.select(min(remaining, 1)):
                    continue
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # EIO: every process closed the terminal
                    chunk = b""
                if not chunk:
                    assert until in output, f"the terminal closed before {until!r}: {output!r}"
                    break
                if not output and typed:
                    os.write(controller, typed)
                output += chunk
        assert proc.wait(timeout=TIMEOUT) == 0, output
        return output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(controller)
