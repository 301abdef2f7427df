"""``Client.request`` and ``get/create/delete --raw`` on the real server, beside kubectl: any path, the
answer in the form asked for, over the client's own credentials and with its typed errors."""

from __future__ import annotations

from typing import Any

import json
import subprocess
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

import dynkube

from .test_cli import Run, cli, kubectl, one_error_line  # noqa: F401  (fixtures)


def test_request_answers_json_by_default(each_client: Any) -> None:
    assert each_client.request("GET", "/version") == dict(each_client.version())


def test_request_takes_query_parameters_and_answers_text(each_client: Any) -> None:
    verbose = each_client.request("GET", "/readyz", params={"verbose": "1"}, accept="text")
    assert "[+]ping ok" in verbose and verbose.rstrip().endswith("readyz check passed")
    assert each_client.request("GET", "/readyz?verbose", accept=dynkube.Answer.TEXT).startswith("[+]")


def test_request_answers_bytes(each_client: Any) -> None:
    assert each_client.request("GET", "/livez", accept="bytes") == b"ok"


def test_request_answers_lines_as_they_arrive(each_client: Any, namespace: str) -> None:
    each_client.resource("configmaps").create({"metadata": {"name": "seen"}}, namespace)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    lines = each_client.request("GET", path, params={"watch": "1", "fieldSelector": "metadata.name=seen",
                                                "timeoutSeconds": "20"}, accept="lines")
    try:
        first = next(lines)
        each_client.resource("configmaps").patch("seen", {"data": {"k": "v"}}, namespace)  # after the first line
        second = next(lines)  # so it was read while the watch was open, not after it ended
    finally:
        lines.close()
    assert first.endswith("\n")
    events = [json.loads(first), json.loads(second)]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "seen"), ("MODIFIED", "seen")]


def test_metrics_are_text_lines(each_client: Any) -> None:
    lines = each_client.request("GET", "/metrics", accept="lines")
    try:
        assert next(lines).startswith("# HELP ")
    finally:
        lines.close()
    with pytest.raises(dynkube.MalformedResponse, match="is not JSON.*accept='text'"):
        each_client.request("GET", "/metrics")


def test_request_writes_with_json_and_yaml_bodies(each_client: Any, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    made = each_client.request("POST", path, body={"metadata": {"name": "a"}, "data": {"k": "v"}})
    assert made["kind"] == "ConfigMap" and made["data"] == {"k": "v"}
    each_client.request("POST", path, body="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")
    assert each_client.resource("configmaps").get("b", namespace).metadata.name == "b"
    each_client.request("DELETE", f"{path}/a")
    with pytest.raises(dynkube.NotFound):
        each_client.resource("configmaps").get("a", namespace)


def test_request_errors_are_typed(each_client: Any, kubeconfig_path: Path, namespace: str) -> None:
    with pytest.raises(dynkube.NotFound):
        each_client.request("GET", "/no/such/path")
    with pytest.raises(dynkube.AlreadyExists):
        each_client.request("POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
    with dynkube.Client(kubeconfig=kubeconfig_path, context="envtest-nobody") as nobody:
        with pytest.raises(dynkube.Forbidden, match='User "nobody" cannot list'):
            nobody.request("GET", "/api/v1/namespaces")
    with dynkube.Client(kubeconfig=kubeconfig_path, context="envtest-token") as token:
        assert token.request("GET", f"/api/v1/namespaces/{namespace}")["metadata"]["name"] == namespace


@pytest.mark.parametrize(("args", "message"), [
    (("GET", "version"), "path must be a path on the server starting with '/'"),
    (("GET", "https://example.com/version"), "path must be a path on the server"),
    (("GET", "/a b"), "percent-encode it"),
    (("GE T", "/version"), "method must be an HTTP method"),
])
def test_bad_requests_are_refused_before_sending(args: tuple[str, str], message: str) -> None:
    with dynkube.Client(dynkube.Config(server="http://127.0.0.1:1")) as unreachable:  # nothing is sent
        with pytest.raises(dynkube.InvalidInput, match=message):
            unreachable.request(*args)


def test_bad_accept_and_body_are_refused_before_sending() -> None:
    with dynkube.Client(dynkube.Config(server="http://127.0.0.1:1")) as unreachable:
        with pytest.raises(dynkube.InvalidInput, match="accept must be one of json, text, bytes, lines"):
            unreachable.request("GET", "/version", accept="xml")
        with pytest.raises(dynkube.InvalidInput, match="body must be a dict, a list, bytes or str, not int"):
            unreachable.request("POST", "/api", body=3)


# ---- the command line, beside kubectl -------------------------------------------------------------

@pytest.mark.parametrize("path", ["/version", "/livez", "/api/v1/namespaces/default"])
def test_get_raw_prints_what_kubectl_prints(cli: Callable[..., Run], kubectl: Callable[..., str], path: str) -> None:
    ours = cli("get", "--raw", path)
    assert ours.code == 0, ours.err
    theirs = kubectl("get", "--raw", path)
    if path.startswith("/api/"):  # resourceVersion and managedFields may move between the two reads
        assert json.loads(ours.out)["metadata"]["uid"] == json.loads(theirs)["metadata"]["uid"]
    else:
        assert ours.out == theirs


def test_get_raw_query_is_kubectls(cli: Callable[..., Run], kubectl: Callable[..., str]) -> None:
    ours = cli("get", "--raw", "/readyz?verbose")
    assert ours.code == 0, ours.err
    assert ours.out.splitlines()[-1] == kubectl("get", "--raw", "/readyz?verbose").splitlines()[-1] == \
        "readyz check passed"
    assert {line for line in ours.out.splitlines() if line.startswith("[+]ping")} == {"[+]ping ok"}


def test_create_and_delete_raw_as_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str],
                                          namespace: str, tmp_path: Path, each_client: Any) -> None:
    body = tmp_path / "cm.json"
    body.write_text(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "raw"}}))
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    made = cli("create", "--raw", path, "-f", str(body))
    assert made.code == 0, made.err
    assert json.loads(made.out)["metadata"]["name"] == "raw"
    gone = cli("delete", "--raw", f"{path}/raw")
    assert gone.code == 0, gone.err
    assert json.loads(gone.out)["kind"] == "Status"
    kubectl("create", "--raw", path, "-f", str(body))
    assert each_client.resource("configmaps").get("raw", namespace).metadata.name == "raw"
    again = cli("create", "--raw", path, "-f", str(body))
    assert again.code == 1
    assert one_error_line(again) == 'Error from server (AlreadyExists): configmaps "raw" already exists'


def test_raw_errors_are_one_line_like_kubectls(cli: Callable[..., Run], kubeconfig_path: Path) -> None:
    denied = cli("--context", "envtest-nobody", "get", "--raw", "/api/v1/namespaces")
    reference = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig_path), "--context", "envtest-nobody",
                                "get", "--raw", "/api/v1/namespaces"], capture_output=True, text=True, timeout=60)
    assert denied.code == reference.returncode == 1
    assert one_error_line(denied) == reference.stderr.strip()
    missing = cli("get", "--raw", "/no/such/path")
    assert missing.code == 1 and one_error_line(missing).startswith("Error from server (NotFound)")
    for argv in (["get", "--raw", "version"], ["get", "pods", "--raw", "/version"], ["create", "--raw", "/api"]):
        bad = cli(*argv)
        assert bad.code in (1, 2) and one_error_line(bad).startswith("error: "), argv


def test_a_thousand_requests_one_after_another_keep_no_memory(kubeconfig_path: Path, cache_root: Path) -> None:
    """What each request leaves for the deadline watchdog (its exchange, about 1 KB, until its
    deadline passes) is forgotten once it ended: over 1,100 requests, the memory held never grows
    by more than a few dozen of them."""
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=cache_root, qps=None) as client:
        client.request("GET", "/version")
        tracemalloc.start()
        try:
            for _ in range(1100):
                client.request("GET", "/version")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 400_000, f"the memory held peaked {peak} bytes above the start in 1,100 requests"
