"""The CLI's exec, attach, port-forward and cp against kubectl on the same pods (envtest's kwok nodes)."""

from __future__ import annotations

import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import dynkube

from .test_cp import _tree, source_tree  # noqa: F401  (fixture)
from .test_exec import pod  # noqa: F401  (fixture)


def _run(kubeconfig: Path, program: str, *argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """A command's exit code, stdout and stderr, without the warning lines another test's broken
    aggregated API may cause (both clients print them)."""
    command = ([sys.executable, "-c", "from dynkube.cli import main; raise SystemExit(main())"]
               if program == "dynkube" else ["kubectl"])
    done = subprocess.run([*command, "--kubeconfig", str(kubeconfig), *argv], input=stdin, capture_output=True,
                          timeout=120)
    done.stderr = b"".join(line for line in done.stderr.splitlines(keepends=True)
                           if not line.lower().startswith((b"warning:", b"e1", b"w1")))  # ours, and klog's
    return done


def test_exec_prints_what_kubectl_prints(kubeconfig_path: Path, namespace: str, pod: str) -> None:
    argv = ("exec", "-n", namespace, pod, "--", "sh", "-c", "echo out; echo err >&2; printf 'no newline'")
    ours, theirs = _run(kubeconfig_path, "dynkube", *argv), _run(kubeconfig_path, "kubectl", *argv)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr) == (
        0, b"out\nno newline", b"err\n")


def test_exec_passes_stdin_with_i(kubeconfig_path: Path, namespace: str, pod: str) -> None:
    argv = ("exec", "-i", "-n", namespace, pod, "--", "head", "-n", "2")
    ours = _run(kubeconfig_path, "dynkube", *argv, stdin=b"one\ntwo\nthree\n")
    theirs = _run(kubeconfig_path, "kubectl", *argv, stdin=b"one\ntwo\nthree\n")
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout) == (0, b"one\ntwo\n")


def test_exec_exits_with_the_commands_exit_code_as_kubectl(kubeconfig_path: Path, namespace: str,
                                                            pod: str) -> None:
    argv = ("exec", "-n", namespace, pod, "--", "sh", "-c", "echo out; exit 3")
    ours, theirs = _run(kubeconfig_path, "dynkube", *argv), _run(kubeconfig_path, "kubectl", *argv)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr) == (
        3, b"out\n", b"command terminated with exit code 3\n")


def test_exec_of_a_command_that_does_not_exist_is_one_error_line(kubeconfig_path: Path, namespace: str,
                                                                 pod: str) -> None:
    argv = ("exec", "-n", namespace, pod, "--", "no-such-command-here")
    ours, theirs = _run(kubeconfig_path, "dynkube", *argv), _run(kubeconfig_path, "kubectl", *argv)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr.count(b"\n") == 1 and b"executable file not found" in ours.stderr


def test_exec_into_a_workload_picks_its_pod(kubeconfig_path: Path, client: dynkube.Client, namespace: str,
                                            pod: str) -> None:
    client.resource("services").create({"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "exec-test"}, "ports": [{"port": 80, "targetPort": 7}]}}, namespace)
    done = _run(kubeconfig_path, "dynkube", "exec", "-n", namespace, "svc/web", "--", "echo", "picked")
    assert (done.returncode, done.stdout) == (0, b"picked\n")


@pytest.mark.parametrize("argv, message", [
    (("exec", "p"), "you must specify at least one command"),
    (("exec", "no-such-pod", "--", "true"), 'pods "no-such-pod" not found'),
    (("exec", "-c", "nope", "p", "--", "true"), "container nope is not valid for pod p"),
    (("port-forward", "p", "80:x"), "LOCAL:REMOTE"),
    (("cp", "a", "b"), "one of SOURCE and DESTINATION must be a pod path")])
def test_bad_input_is_one_line_and_a_non_zero_exit(kubeconfig_path: Path, namespace: str, pod: str,
                                                   argv: tuple[str, ...], message: str) -> None:
    done = _run(kubeconfig_path, "dynkube", "-n", namespace, *argv)
    stderr = done.stderr.decode()
    assert done.returncode != 0 and message in stderr and stderr.count("\n") == 1, stderr


def test_cp_copies_what_kubectl_cp_copies(kubeconfig_path: Path, namespace: str, pod: str, source_tree: Path,
                                          tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for program, destination in (("dynkube", ours), ("kubectl", theirs)):
        done = _run(kubeconfig_path, program, "cp", f"{namespace}/{pod}:{source_tree}", str(destination))
        assert done.returncode == 0, done.stderr
    assert _tree(ours) == _tree(theirs) | {"link": "-> a.txt"}  # kubectl skips symlinks ("skipping symlink")
    assert _tree(ours) == _tree(source_tree)


@pytest.fixture
def dynkube_port_forward(kubeconfig_path: Path, namespace: str, pod: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", "from dynkube.cli import main; raise SystemExit(main())",
                             "--kubeconfig", str(kubeconfig_path), "port-forward", "-n", namespace, f"pod/{pod}", ":7"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


def test_port_forward_prints_its_port_and_forwards(dynkube_port_forward: subprocess.Popen[str]) -> None:
    proc = dynkube_port_forward
    assert proc.stdout is not None
    line, deadline = "", time.monotonic() + 30
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while not (match := re.search(r"Forwarding from 127\.0\.0\.1:(\d+) -> 7", line)):
            remaining = deadline - time.monotonic()
            assert remaining > 0 and proc.poll() is None, f"port-forward did not start: {line!r}"
            if selector.select(remaining):
                line += proc.stdout.readline()
    with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=30) as conn:
        conn.sendall(b"through the CLI\n")
        received = b""
        while len(received) < 16:
            chunk = conn.recv(100)
            assert chunk
            received += chunk
    assert received == b"through the CLI\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
