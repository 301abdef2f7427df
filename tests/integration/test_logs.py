"""Pod logs against the envtest kwok nodes (docs/envtest.md): every container's log there starts with
the same three lines, timestamped one second apart, and grows with what is written to the container's
attached stdin (its main process behaves like ``cat``). The library (dynkube.podlogs) and
``dynkube logs``, with kubectl on the same server as the reference."""

from __future__ import annotations

import functools
import os
import selectors
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import dynkube
import dynkube.aio
import dynkube.podlogs

from ..support.bridge import AsyncBridge, EventLoopThread, bridged
from ..support.waiting import until
from .test_cli import Run, cli, kubectl  # noqa: F401  (fixtures)

LINES = ["envtest: container started\n", "envtest: hello from a kwok node\n", "envtest: last line\n"]
LOG = "".join(LINES)
IMAGE = "registry.example/app:1"


def container(name: str) -> dict[str, str]:
    return {"name": name, "image": IMAGE}


def running(pod: dynkube.ApiObject) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])


def make_pod(client: dynkube.Client, namespace: str, name: str, *, containers: tuple[str, ...] = ("c",),
             init: tuple[str, ...] = (), labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> str:
    """A pod on a kwok node, Running and Ready (waited for, bounded)."""
    pods = client.resource("pods")
    metadata: dict[str, Any] = {"name": name, "labels": labels or {"app": name}}
    if annotations:
        metadata["annotations"] = annotations
    spec: dict[str, Any] = {"containers": [container(c) for c in containers]}
    if init:
        spec["initContainers"] = [container(c) for c in init]
    pods.create({"metadata": metadata, "spec": spec}, namespace)
    dynkube.wait_for(pods, name, namespace, condition=running, timeout=60)
    return name


class Logs(NamedTuple):
    """The log functions of one kind of client, bound to a client of that kind."""

    logs: Callable[..., Any]
    log_sources: Callable[..., Any]
    read_logs: Callable[..., Any]
    follow_logs: Callable[..., Any]


def bind_logs(client: Any, aio_loop: EventLoopThread) -> Logs:
    """``dynkube.podlogs``' functions bound to a sync client, or ``dynkube.aio``'s bound to a
    bridged asyncio client."""
    if isinstance(client, AsyncBridge):
        functions = [bridged(getattr(dynkube.aio, name), aio_loop) for name in Logs._fields]
    else:
        functions = [getattr(dynkube.podlogs, name) for name in Logs._fields]
    return Logs(*(functools.partial(function, client) for function in functions))


@pytest.fixture
def api(each_client: Any, aio_loop: EventLoopThread) -> Logs:
    """The log functions of a sync client, then (second run of the test) of an asyncio one."""
    return bind_logs(each_client, aio_loop)


@pytest.fixture
def pod(client: dynkube.Client, namespace: str) -> str:
    return make_pod(client, namespace, "p")


def workload(client: dynkube.Client, namespace: str, kind: str, labels: dict[str, str], replicas: int = 1) -> str:
    """A workload of ``kind`` named "w" whose pods carry ``labels``; returns TYPE/NAME once it has a pod."""
    template = {"metadata": {"labels": labels}, "spec": {"containers": [container("c")]}}
    selector = {"matchLabels": labels}
    specs: dict[str, tuple[str, dict[str, Any]]] = {
        "deploy": ("deployments", {"replicas": replicas, "selector": selector, "template": template}),
        "rs": ("replicasets", {"replicas": replicas, "selector": selector, "template": template}),
        "sts": ("statefulsets", {"replicas": replicas, "selector": selector, "template": template,
                                 "serviceName": "w"}),
        "ds": ("daemonsets", {"selector": selector, "template": template}),
        "rc": ("replicationcontrollers", {"replicas": replicas, "selector": labels, "template": template}),
        "job": ("jobs", {"template": {"metadata": {"labels": labels}, "spec": {
            "restartPolicy": "Never", "containers": [container("c")]}}}),
    }
    plural, spec = specs[kind]
    client.resource(plural).create({"metadata": {"name": "w"}, "spec": spec}, namespace)
    pods = client.resource("pods")
    until(lambda: any(p.spec.get("nodeName") and p.get("status", {}).get("phase") in ("Running", "Succeeded")
                      for p in pods.list(namespace, label_selector=labels)), f"a pod of {kind}/w on a node", 90)
    return f"{kind}/w"


# ---- text ---------------------------------------------------------------------------------------

def test_the_log_of_a_pod_is_its_containers_log(api: Logs, client: dynkube.Client, namespace: str, pod: str) -> None:
    assert api.logs(pod, namespace) == LOG
    assert api.logs(f"pod/{pod}", namespace, container="c") == LOG


def test_tail_lines_keeps_the_last_lines(api: Logs, client: dynkube.Client, namespace: str, pod: str) -> None:
    assert api.logs(pod, namespace, tail_lines=1) == LINES[-1]
    assert api.logs(pod, namespace, tail_lines=0) == ""


def test_timestamps_start_each_line(api: Logs, client: dynkube.Client, namespace: str, pod: str) -> None:
    stamped = api.logs(pod, namespace, timestamps=True).splitlines(keepends=True)
    assert [line.partition(" ")[2] for line in stamped] == LINES
    assert all(line[:4].isdigit() and line.partition(" ")[0].endswith("Z") for line in stamped)


def test_since_time_starts_at_a_lines_timestamp(api: Logs, client: dynkube.Client, namespace: str, pod: str) -> None:
    second = api.logs(pod, namespace, timestamps=True).splitlines()[1].partition(" ")[0]
    assert api.logs(pod, namespace, since_time=second) == "".join(LINES[1:])


def test_since_seconds_longer_than_the_log_keeps_every_line(api: Logs, client: dynkube.Client, namespace: str,
                                                            pod: str) -> None:
    assert api.logs(pod, namespace, since_seconds=10 * 365 * 86400) == LOG


def test_limit_bytes_cuts_the_log(api: Logs, client: dynkube.Client, namespace: str, pod: str) -> None:
    assert api.logs(pod, namespace, limit_bytes=10) == LOG[:10]


def test_previous_without_a_previous_instance_is_the_servers_error(api: Logs, client: dynkube.Client, namespace: str,
                                                                   pod: str) -> None:
    with pytest.raises(dynkube.BadRequest, match='previous terminated container "c" in pod "p" not found'):
        api.logs(pod, namespace, previous=True)  # the kubelet's answer: no container restarted


def test_no_such_pod_is_not_found(api: Logs, client: dynkube.Client, namespace: str) -> None:
    with pytest.raises(dynkube.NotFound, match="nope"):
        api.logs("nope", namespace)


def test_no_such_container_names_the_pods_containers(api: Logs, client: dynkube.Client, namespace: str) -> None:
    make_pod(client, namespace, "two", containers=("a", "b"), init=("setup",))
    with pytest.raises(dynkube.InvalidInput,
                       match=r"container zz is not valid for pod two out of: a, b, setup \(init\)"):
        api.logs("two", namespace, container="zz")


def test_bad_options_are_refused_before_any_request(api: Logs, client: dynkube.Client) -> None:
    refused: list[tuple[dict[str, Any], str]] = [
        ({"tail_lines": -1}, "tail_lines"), ({"since_seconds": 5, "since_time": "2024-01-01T00:00:00Z"}, "not both"),
        ({"resume": True}, "needs follow=True"), ({"follow": True, "resume": True, "limit_bytes": 5}, "limit_bytes"),
        ({"container": "a", "all_containers": True}, "not both"), ({"follow": True, "max_log_requests": 0},
                                                                   "max_log_requests")]
    for options, words in refused:
        with pytest.raises(dynkube.InvalidInput, match=words):
            api.logs("no-such-pod", "no-such-namespace", **options)


# ---- which container, which pods ------------------------------------------------------------------

def test_the_first_container_is_the_default_with_kubectls_notice(api: Logs, client: dynkube.Client,
                                                                 namespace: str) -> None:
    make_pod(client, namespace, "two", containers=("a", "b"), init=("setup",))
    selection = api.log_sources("two", namespace)
    assert [str(s) for s in selection.sources] == ["pod/two/a"]
    assert selection.notices == ('Defaulted container "a" out of: a, b, setup (init)',)


def test_the_default_container_annotation_chooses_the_container(api: Logs, client: dynkube.Client,
                                                                namespace: str) -> None:
    make_pod(client, namespace, "two", containers=("a", "b"),
             annotations={"kubectl.kubernetes.io/default-container": "b"})
    selection = api.log_sources("two", namespace)
    assert [str(s) for s in selection.sources] == ["pod/two/b"]
    assert selection.notices == ()


def test_an_annotation_naming_no_container_falls_back_to_the_first(api: Logs, client: dynkube.Client,
                                                                   namespace: str) -> None:
    make_pod(client, namespace, "two", containers=("a", "b"),
             annotations={"kubectl.kubernetes.io/default-container": "gone"})
    selection = api.log_sources("two", namespace)
    assert [str(s) for s in selection.sources] == ["pod/two/a"]
    assert selection.notices[0] == 'Default container name "gone" not found in pod two'


def test_all_containers_are_init_then_app_containers(api: Logs, client: dynkube.Client, namespace: str) -> None:
    make_pod(client, namespace, "two", containers=("a", "b"), init=("setup",))
    text = api.logs("two", namespace, all_containers=True, prefix=True, tail_lines=1)
    assert text == "".join(f"[pod/two/{c}] {LINES[-1]}" for c in ("setup", "a", "b"))


@pytest.mark.parametrize("kind", ["deploy", "rs", "sts", "ds", "rc", "job"])
def test_a_workloads_log_is_one_of_its_pods(api: Logs, client: dynkube.Client, namespace: str, kind: str) -> None:
    target = workload(client, namespace, kind, {"app": f"{kind}-logs"})
    selection = api.log_sources(target, namespace)
    assert len(selection.sources) == 1 and selection.sources[0].container == "c"
    assert api.read_logs(selection.sources) == LOG


def test_a_service_logs_a_pod_it_selects(api: Logs, client: dynkube.Client, namespace: str) -> None:
    make_pod(client, namespace, "backend", labels={"app": "web"})
    client.resource("services").create({"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"port": 80}]}}, namespace)
    assert [str(s) for s in api.log_sources("svc/web", namespace).sources] == ["pod/backend/c"]


def test_a_service_without_a_selector_is_refused(api: Logs, client: dynkube.Client, namespace: str) -> None:
    client.resource("services").create({"metadata": {"name": "external"}, "spec": {"ports": [{"port": 80}]}},
                                       namespace)
    with pytest.raises(dynkube.InvalidInput, match="without a selector"):
        api.log_sources("svc/external", namespace)


def test_a_kind_without_pods_is_refused(api: Logs, client: dynkube.Client, namespace: str) -> None:
    client.resource("configmaps").create({"metadata": {"name": "cfg"}}, namespace)
    with pytest.raises(dynkube.InvalidInput, match="cannot get the logs from a ConfigMap"):
        api.log_sources("cm/cfg", namespace)


def test_a_workload_with_several_pods_uses_the_first_unless_all_pods(api: Logs, client: dynkube.Client,
                                                                     namespace: str) -> None:
    target = workload(client, namespace, "deploy", {"app": "many"}, replicas=3)
    pods = client.resource("pods")
    dynkube.wait_for(client.resource("deployments"), "w", namespace, timeout=90,
                     condition=lambda d: d.get("status", {}).get("readyReplicas") == 3)
    names = {p.metadata.name for p in pods.list(namespace, label_selector="app=many")}
    one = api.log_sources(target, namespace)
    assert len(one.sources) == 1 and one.sources[0].pod in names
    assert one.notices == (f"Found 3 pods, using pod/{one.sources[0].pod}",)
    every = api.log_sources(target, namespace, all_pods=True)
    assert {s.pod for s in every.sources} == names and every.notices == ()


def test_a_selector_reads_every_matching_pod(api: Logs, client: dynkube.Client, namespace: str) -> None:
    for name in ("s1", "s2"):
        make_pod(client, namespace, name, labels={"tier": "front"})
    make_pod(client, namespace, "other", labels={"tier": "back"})
    text = api.logs(namespace=namespace, selector={"tier": "front"}, prefix=True)
    assert sorted(text.splitlines(keepends=True)) == sorted(f"[pod/{p}/c] {line}" for p in ("s1", "s2")
                                                              for line in LINES)


def test_a_selector_matching_nothing_says_so(api: Logs, client: dynkube.Client, namespace: str) -> None:
    selection = api.log_sources(namespace=namespace, selector="app=none")
    assert selection.sources == () and selection.notices == (f"No resources found in {namespace} namespace.",)


# ---- following ---------------------------------------------------------------------------------------

def read_lines(stream: dynkube.LogStream, count: int, bound: float = 60) -> list[dynkube.LogLine]:
    """``count`` lines of a stream, read in a thread (bounded)."""
    got: list[dynkube.LogLine] = []
    reader = threading.Thread(target=lambda: got.extend(line for _, line in zip(range(count), stream)))
    reader.start()
    reader.join(bound)
    assert not reader.is_alive(), f"only {len(got)} of {count} lines came: {got}"
    return got


def logs_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("dynkube-logs")]


def open_sockets() -> int:
    """The sockets this process has open (Linux)."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if _link(fd).startswith("socket:"))


def _link(fd: Path) -> str:
    try:
        return str(fd.readlink())
    except OSError:  # closed meanwhile
        return ""


def test_follow_yields_the_lines_and_close_releases_the_connection(api: Logs, client: dynkube.Client, namespace: str,
                                                                   pod: str) -> None:
    stream = api.logs(pod, namespace, follow=True)
    got = read_lines(stream, 3)
    assert [line.text for line in got] == LINES and {str(line.source) for line in got} == {f"pod/{pod}/c"}
    stream.close()  # the server keeps following: only closing ends it
    assert stream.closed and list(stream) == []


def test_close_from_another_thread_ends_a_blocked_follow(api: Logs, client: dynkube.Client, namespace: str,
                                                         pod: str) -> None:
    stream = api.logs(pod, namespace, follow=True)
    read_lines(stream, 3)
    rest: list[dynkube.LogLine] = []
    reader = threading.Thread(target=lambda: rest.extend(stream))  # blocks: the container prints nothing more
    reader.start()
    stream.close()
    reader.join(30)
    assert not reader.is_alive() and rest == []


def test_following_several_sources_merges_them_and_leaves_no_thread(api: Logs, client: dynkube.Client,
                                                                    namespace: str) -> None:
    make_pod(client, namespace, "two", containers=("a", "b"))
    sources = api.log_sources("two", namespace, all_containers=True).sources
    before, sockets = logs_threads(), open_sockets()
    with api.follow_logs(sources, timestamps=True) as stream:
        got = read_lines(stream, 6)
    assert sorted((str(line.source), line.text.partition(" ")[2]) for line in got) == sorted(
        (f"pod/two/{c}", line) for c in ("a", "b") for line in LINES)
    assert all(line.timestamp and line.text.startswith(line.timestamp) for line in got)
    assert logs_threads() == before
    until(lambda: open_sockets() <= sockets, "the followed connections closed (a pooled one reused too)", timeout=30)


def test_following_more_sources_than_max_log_requests_is_refused(api: Logs, client: dynkube.Client,
                                                                 namespace: str) -> None:
    make_pod(client, namespace, "three", containers=("a", "b", "c"))
    sources = api.log_sources("three", namespace, all_containers=True).sources
    with pytest.raises(dynkube.InvalidInput, match="follow 3 log streams, but maximum allowed concurrency is 2"):
        api.follow_logs(sources, max_log_requests=2)


def print_into(client: dynkube.Client, namespace: str, pod: str, text: str) -> None:
    """Make the container's main process print ``text``: on envtest's nodes it behaves like ``cat`` whose
    stdout is the container's log, so what is written to its attached stdin is appended to the log.
    Returns once the text came back on the attached stdout (then it is in the log)."""
    with client.attach(pod, namespace, stdin=True) as stream:
        stream.write(text.encode())
        received = b""
        while len(received) < len(text.encode()):
            chunk = stream.read(timeout=30)
            assert chunk, f"the attach ended after {received!r}"
            received += chunk
        assert received == text.encode()
        stream.close_stdin()
        assert stream.wait(timeout=30) == 0


PRINTED = ["printed during the follow\n", "and a second line\n"]


def test_a_follow_yields_the_lines_printed_during_it(client: dynkube.Client, namespace: str, pod: str) -> None:
    with dynkube.logs(client, pod, namespace, follow=True, timestamps=True) as stream:
        seed = read_lines(stream, 3)
        print_into(client, namespace, pod, "".join(PRINTED))
        printed = read_lines(stream, 2)
    assert [line.text.partition(" ")[2] for line in seed + printed] == LINES + PRINTED  # in order, seed first
    assert seed[-1].timestamp < printed[0].timestamp <= printed[1].timestamp  # printed now, after the seed
    assert dynkube.logs(client, pod, namespace) == LOG + "".join(PRINTED)  # the log keeps them
    assert dynkube.logs(client, pod, namespace, tail_lines=2) == "".join(PRINTED)


def test_a_line_printed_in_parts_comes_whole(client: dynkube.Client, namespace: str, pod: str) -> None:
    with dynkube.logs(client, pod, namespace, follow=True) as stream:
        read_lines(stream, 3)  # the seed: the follow is on
        print_into(client, namespace, pod, "half a line")  # a partial (P) record: no line end yet
        print_into(client, namespace, pod, ", then its end\n")
        assert [line.text for line in read_lines(stream, 1)] == ["half a line, then its end\n"]


def test_following_two_containers_keeps_their_lines_apart(client: dynkube.Client, namespace: str) -> None:
    make_pod(client, namespace, "two", containers=("a", "b"))
    sources = dynkube.log_sources(client, "two", namespace, all_containers=True).sources
    with dynkube.podlogs.follow_logs(client, sources) as stream:
        read_lines(stream, 2 * len(LINES))  # the seeds: both follows are on
        with client.attach("two", namespace, container="b", stdin=True) as attached:
            attached.write(b"only b prints this\n")
            assert read_lines(stream, 1)[0].text == "only b prints this\n"
            attached.close_stdin()
            assert attached.wait(timeout=30) == 0
    assert dynkube.logs(client, "two", namespace, container="a") == LOG


def test_a_resuming_follow_without_timestamps_strips_them(api: Logs, client: dynkube.Client, namespace: str,
                                                          pod: str) -> None:
    with api.logs(pod, namespace, follow=True, resume=True) as stream:
        got = read_lines(stream, 3)
    assert [line.text for line in got] == LINES and all(line.timestamp for line in got)


# ---- the CLI, with kubectl as the reference --------------------------------------------------------

def kubectl_run(kubeconfig: Path, *argv: str) -> Run:
    if not shutil.which("kubectl"):
        pytest.fail("kubectl is needed on PATH as the reference of the CLI tests", pytrace=False)
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *argv], capture_output=True, text=True,
                          timeout=60)
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("flags", [[], ["--tail=1"], ["--timestamps"], ["--limit-bytes=10"], ["--prefix"],
                                   ["--since=87600h"], ["-c", "c"]], ids=lambda f: " ".join(f) or "plain")
def test_cli_logs_of_a_pod_as_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str], namespace: str,
                                      pod: str, flags: list[str]) -> None:
    ours = cli("logs", pod, "-n", namespace, *flags)
    assert ours.code == 0, ours.err
    assert ours.out == kubectl("logs", pod, "-n", namespace, *flags)


def test_cli_all_containers_with_prefix_and_notices_as_kubectl(cli: Callable[..., Run], kubeconfig_path: Path,
                                                               client: dynkube.Client, namespace: str) -> None:
    make_pod(client, namespace, "two", containers=("a", "b"), init=("setup",))
    for flags in (["--all-containers", "--prefix"], []):
        ours, theirs = cli("logs", "two", "-n", namespace, *flags), kubectl_run(kubeconfig_path, "logs", "two", "-n",
                                                                                namespace, *flags)
        assert (ours.code, ours.err) == (theirs.code, theirs.err)
        assert by_source(ours.out) == by_source(theirs.out)  # kubectl's order of the containers varies


def by_source(out: str) -> list[str]:
    """The lines grouped by their ``[pod/NAME/CONTAINER]`` prefix, each source's in their order."""
    return sorted(out.splitlines(), key=lambda line: line.partition("] ")[0] if line.startswith("[") else "")


def test_cli_selector_as_kubectl(cli: Callable[..., Run], kubeconfig_path: Path, client: dynkube.Client,
                                 namespace: str) -> None:
    for name in ("s1", "s2"):
        make_pod(client, namespace, name, labels={"tier": "front"})
    for flags in (["--prefix"], ["--prefix", "--tail=-1"], ["--tail=1"]):
        ours = cli("logs", "-l", "tier=front", "-n", namespace, *flags)
        theirs = kubectl_run(kubeconfig_path, "logs", "-l", "tier=front", "-n", namespace, *flags)
        assert ours.code == theirs.code == 0, ours.err
        assert sorted(ours.out.splitlines()) == sorted(theirs.out.splitlines())  # kubectl's order is random


def test_cli_deployment_as_kubectl(cli: Callable[..., Run], kubeconfig_path: Path, client: dynkube.Client,
                                   namespace: str) -> None:
    target = workload(client, namespace, "deploy", {"app": "web"}, replicas=2)
    dynkube.wait_for(client.resource("deployments"), "w", namespace, timeout=90,
                     condition=lambda d: d.get("status", {}).get("readyReplicas") == 2)
    ours, theirs = cli("logs", target, "-n", namespace), kubectl_run(kubeconfig_path, "logs", target, "-n", namespace)
    assert (ours.code, ours.out) == (theirs.code, theirs.out) == (0, LOG)
    assert ours.err.startswith("Found 2 pods, using pod/w-") and theirs.err.startswith("Found 2 pods, using pod/w-")


def test_cli_follow_prints_the_lines_printed_during_it_as_kubectl(kubeconfig_path: Path, cache_root: Path,
                                                                  client: dynkube.Client, namespace: str,
                                                                  pod: str) -> None:
    if not shutil.which("kubectl"):
        pytest.fail("kubectl is needed on PATH as the reference of the CLI tests", pytrace=False)
    commands = {"dynkube": [sys.executable, "-c", "from dynkube.cli import main; raise SystemExit(main())"],
                "kubectl": ["kubectl"]}
    followers = {name: subprocess.Popen([*command, "--kubeconfig", str(kubeconfig_path), "logs", "-f", pod, "-n",
                                         namespace], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        env={**os.environ, "KUBECACHEDIR": str(cache_root)})
                 for name, command in commands.items()}
    try:
        printed = {name: read_output(proc, LOG) for name, proc in followers.items()}
        assert printed == {"dynkube": LOG, "kubectl": LOG}
        print_into(client, namespace, pod, "".join(PRINTED))
        printed = {name: read_output(proc, "".join(PRINTED)) for name, proc in followers.items()}
        assert printed == {"dynkube": "".join(PRINTED), "kubectl": "".join(PRINTED)}
    finally:
        for proc in followers.values():
            proc.terminate()
            proc.wait(timeout=30)


def read_output(proc: subprocess.Popen[bytes], expected: str, bound: float = 60) -> str:
    """What ``proc`` prints, read until it is as long as ``expected`` (bounded; the process goes on)."""
    assert proc.stdout is not None
    received = b""
    deadline = time.monotonic() + bound
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while len(received) < len(expected.encode()):
            remaining = deadline - time.monotonic()
            assert remaining > 0 and proc.poll() is None, f"{proc.args[0]} printed only {received!r}"
            if selector.select(remaining):
                received += os.read(proc.stdout.fileno(), 4096)
    return received.decode()


@pytest.mark.parametrize("flags", [["-p"], ["-c", "zz"]], ids=["previous", "no such container"])
def test_cli_errors_as_kubectl(cli: Callable[..., Run], kubeconfig_path: Path, namespace: str, pod: str,
                               flags: list[str]) -> None:
    ours, theirs = cli("logs", pod, "-n", namespace, *flags), kubectl_run(kubeconfig_path, "logs", pod, "-n",
                                                                          namespace, *flags)
    assert ours.code == theirs.code == 1 and ours.out == theirs.out == ""
    assert len(ours.err.splitlines()) == 1
    assert ours.err.startswith(theirs.err.rstrip("\n"))  # ours also lists the pod's containers


@pytest.mark.parametrize("flags, words", [
    ([], "POD or TYPE/NAME is a required argument"),
    (["p", "-l", "app=x"], "only a selector (-l) or a POD name is allowed"),
    (["p", "--since=1h", "--since-time=2024-01-01T00:00:00Z"], "at most one of `sinceTime` or `sinceSeconds`"),
    (["p", "--tail=-2"], "--tail must be greater than or equal to -1"),
    (["p", "--limit-bytes=-1"], "--limit-bytes must be greater than 0"),
    (["p", "c1", "-c", "c2"], "only one of -c or an inline [CONTAINER] arg is allowed"),
    (["p", "-c", "c1", "--all-containers"], "--all-containers=true should not be specified with container name c1"),
    (["p", "--since-time=yesterday"], "RFC 3339"),
    (["p", "--resume"], "resume=True needs follow=True"),
], ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_cli_bad_flags_are_one_line_before_any_request(cli: Callable[..., Run], flags: list[str], words: str) -> None:
    ours = cli("logs", *flags, "-n", "no-such-namespace")
    assert ours.code != 0 and ours.out == ""
    assert len(ours.err.splitlines()) == 1 and words in ours.err and "Traceback" not in ours.err
