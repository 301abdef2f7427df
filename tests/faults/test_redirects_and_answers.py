"""Redirects and answers a real server does not give on demand, injected by the fault proxy in front of
it (here on HTTPS, with its own certificate): redirects are followed only within the server's origin,
and a success answer that is not a JSON object is a typed error."""

from __future__ import annotations

from typing import Any

import base64
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

import dynkube
from dynkube.cli import main
from dynkube.config import Config
from dynkube.discovery import clear_memory_cache
from dynkube.transport import RetryPolicy

from ..support.credentials import StaticToken
from ..support.faultproxy import FaultProxy
from ..support.rawsession import raw_session

TOKEN = "envtest-admin-token"  # the proxy forwards it; the real server knows it (the proxy's certificate wins)
NAMESPACE_PATH = r"^/api/v1/namespaces/default$"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, bytes]:
    """A server-side TLS context with a self-signed certificate for 127.0.0.1, and that certificate."""
    out = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=fault proxy", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(out / "proxy.key"), "-out", str(out / "proxy.crt")], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(out / "proxy.crt", out / "proxy.key")
    return context, (out / "proxy.crt").read_bytes()


def _proxy(kubeconfig_path: Path, files: Path, tls: ssl.SSLContext | None) -> FaultProxy:
    session, server = raw_session(kubeconfig_path, files)
    return FaultProxy(session, server, tls=tls).start()


@pytest.fixture(scope="module")
def proxies(kubeconfig_path: Path, tmp_path_factory: pytest.TempPathFactory,
            tls: tuple[ssl.SSLContext, bytes]) -> Iterator[dict[str, FaultProxy]]:
    """"server": the HTTPS proxy the client talks to; "other": another HTTPS one; "plain": an HTTP one."""
    running = {name: _proxy(kubeconfig_path, tmp_path_factory.mktemp(name), None if name == "plain" else tls[0])
               for name in ("server", "other", "plain")}
    yield running
    for proxy in running.values():
        proxy.stop()


@pytest.fixture
def server(proxies: dict[str, FaultProxy]) -> FaultProxy:
    for proxy in proxies.values():
        proxy.faults.clear()
        proxy.seen.clear()
        proxy.connections = 0
    return proxies["server"]


@pytest.fixture
def via_proxy(server: FaultProxy, tls: tuple[ssl.SSLContext, bytes], tmp_path: Path,
              open_client: Callable[..., Any]) -> Iterator[Any]:
    """A client (sync, then async) of the TLS server in front of the proxy."""
    clear_memory_cache()
    policy = RetryPolicy(max_attempts=2, backoff_base=0.05, backoff_cap=0.1, total_seconds=20)
    config = Config(server=server.url, ca_data=tls[1], credentials=StaticToken(TOKEN))
    client = open_client(config, cache_dir=tmp_path, retry=policy)
    client.api_map()  # discovery done before faults are queued
    yield client
    clear_memory_cache()


# ---- redirects ------------------------------------------------------------------------------------


def test_a_307_to_another_port_is_refused_and_that_port_gets_nothing(via_proxy: dynkube.Client, server: FaultProxy,
                                                                     proxies: dict[str, FaultProxy], namespace: str,
                                                                     client: dynkube.Client) -> None:
    other = proxies["other"]
    target = f"{other.url}/api/v1/namespaces/{namespace}/secrets"
    server.inject("POST", r"/secrets$", 307, headers={"Location": target + "?from=redirect"})
    with pytest.raises(dynkube.RedirectRefused, match="another origin") as caught:
        via_proxy.resource("secrets").create({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}},
                                             namespace)
    assert caught.value.location == target and target in str(caught.value)
    assert "hunter2" not in str(caught.value) and TOKEN not in str(caught.value)
    assert other.connections == 0  # no token, no impersonation, no client certificate, no body
    with pytest.raises(dynkube.NotFound):
        client.resource("secrets").get("s", namespace)


@pytest.mark.parametrize("where", ["plain", "server"], ids=["another-port", "same-port"])
def test_a_redirect_from_https_to_plain_http_is_refused(via_proxy: dynkube.Client, server: FaultProxy,
                                                        proxies: dict[str, FaultProxy], where: str) -> None:
    port = proxies[where].url.rpartition(":")[2]
    server.inject("GET", NAMESPACE_PATH, 302, headers={"Location": f"http://127.0.0.1:{port}/api/v1/namespaces/default"})
    with pytest.raises(dynkube.RedirectRefused, match="from https to plain http"):
        via_proxy.resource("namespaces").get("default")
    assert len(server.requests_to(NAMESPACE_PATH)) == 1
    assert proxies["plain"].connections == 0


def test_a_redirect_within_the_server_is_followed_and_keeps_the_body(via_proxy: dynkube.Client, server: FaultProxy,
                                                                     namespace: str, client: dynkube.Client) -> None:
    server.inject("POST", r"/configmaps$", 307, headers={"Location": f"/api/v1/namespaces/{namespace}/configmaps"})
    created = via_proxy.resource("configmaps").create({"metadata": {"name": "moved"}, "data": {"a": "1"}}, namespace)
    assert created.data == {"a": "1"}
    assert [s.faulted for s in server.requests_to(r"/configmaps$") if s.method == "POST"] == [True, False]
    assert client.resource("configmaps").get("moved", namespace).data == {"a": "1"}


# ---- answers that are not a JSON object ---------------------------------------------------------------


BAD_BODIES = [
    pytest.param(b"<html><body>Please log in to the corporate proxy</body></html>", "text/html", "is not JSON",
                 id="html"),
    pytest.param(b'{"kind": "Namespace", "metadata": {"na', "application/json", "is not JSON", id="truncated"),
    pytest.param(b"null", "application/json", "not an object (a null)", id="null"),
    pytest.param(b"[]", "application/json", "not an object (a list)", id="list"),
]


@pytest.mark.parametrize(("body", "content_type", "words"), BAD_BODIES)
def test_get_of_an_answer_that_is_not_an_object(via_proxy: dynkube.Client, server: FaultProxy, body: bytes,
                                                content_type: str, words: str) -> None:
    server.inject("GET", NAMESPACE_PATH, 200, body, headers={"Content-Type": content_type})
    with pytest.raises(dynkube.MalformedResponse) as caught:
        via_proxy.resource("namespaces").get("default")
    message = str(caught.value)
    assert f"GET {server.url}/api/v1/namespaces/default: " in message and words in message
    assert repr(body[:20])[2:-1] in message and caught.value.body_start == body[:80]


def test_list_and_create_check_their_answers_too(via_proxy: dynkube.Client, server: FaultProxy,
                                                 namespace: str) -> None:
    server.inject("GET", r"/configmaps(\?|$)", 200, b"[]", headers={"Content-Type": "application/json"})
    with pytest.raises(dynkube.MalformedResponse, match="/configmaps: .*a list"):
        via_proxy.resource("configmaps").list_page(namespace)
    server.inject("POST", r"/configmaps$", 201, b"null", headers={"Content-Type": "application/json"})
    with pytest.raises(dynkube.MalformedResponse, match="POST .*/configmaps: .*a null"):
        via_proxy.resource("configmaps").create({"metadata": {"name": "x"}}, namespace)


def test_cli_reports_an_html_answer_in_one_line(server: FaultProxy, tls: tuple[ssl.SSLContext, bytes], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "cache"))
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server.url,
                                               "certificate-authority-data": base64.b64encode(tls[1]).decode()}}],
        "users": [{"name": "u", "user": {"token": TOKEN}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    server.inject("GET", r"^/api/v1/namespaces(\?|$)", 200, b"<html>Sign in</html>",
                  headers={"Content-Type": "text/html"})
    capsys.readouterr()
    code = main(["--kubeconfig", str(kubeconfig), "get", "namespaces"])
    err = capsys.readouterr().err
    seen = [(s.method, s.path, s.faulted) for s in server.seen]
    errors = [line for line in err.splitlines() if line.startswith("error:")]  # the shared server may add warnings
    assert code != 0 and len(errors) == 1 and "Traceback" not in err, (err, seen)
    assert "internal error" not in err and "/api/v1/namespaces: " in errors[0] and "<html>Sign in" in errors[0]
