"""Authentication and TLS against the real local kube-apiserver: every way a kubeconfig can say who we
are (client certificate, token, tokenFile, exec plugins), every way it can say how to trust the server
(CA, insecure-skip-tls-verify, tls-server-name), and what happens when they are wrong.

Each test writes its own kubeconfig in tmp_path from the envtest one (same server and CA, another
user), and asks the server who it thinks we are (a SelfSubjectReview), so a pass means the server
authenticated exactly the identity the test configured.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import dynkube
import dynkube.config
import dynkube.credentials
from dynkube.config import Config, default_config

from ..support.waiting import until

ROOT = Path(__file__).resolve().parents[2]
PKI = ROOT / ".envtest" / "run" / "pki"
EXEC_PLUGIN = ROOT / "tests" / "data" / "exec_plugin.py"
ADMIN_TOKEN = "envtest-admin-token"
NOBODY_TOKEN = "envtest-nobody-token"
TLS_SERVER_NAME = "envtest.dynkube.local"
V1, V1BETA1 = "client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"


@dataclasses.dataclass(frozen=True)
class Envtest:
    """What the tests take from the envtest kubeconfig and its pki directory."""

    kubeconfig: Path
    server: str
    ca: bytes = dataclasses.field(repr=False)
    admin_cert: bytes = dataclasses.field(repr=False)
    admin_key: bytes = dataclasses.field(repr=False)

    @property
    def host(self) -> str:
        return urlsplit(self.server).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.server).port or 443


@pytest.fixture(scope="module")
def envtest(kubeconfig_path: Path) -> Envtest:
    doc = yaml.safe_load(kubeconfig_path.read_text())
    cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == "envtest")
    user = next(u["user"] for u in doc["users"] if u["name"] == "admin-cert")
    return Envtest(
        kubeconfig=kubeconfig_path,
        server=cluster["server"],
        ca=base64.b64decode(cluster["certificate-authority-data"]),
        admin_cert=base64.b64decode(user["client-certificate-data"]),
        admin_key=base64.b64decode(user["client-key-data"]),
    )


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A certificate authority the server has never heard of, and a second admin client certificate
    ("rotated", group system:masters) signed by the envtest CA, made with the openssl command."""
    out = tmp_path_factory.mktemp("pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=out)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=not-the-envtest-ca", "-keyout", "other-ca.key", "-out", "other-ca.crt")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/O=system:masters/CN=rotated", "-keyout", "rotated.key", "-out", "rotated.csr")
    (out / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", "rotated.csr", "-CA", str(PKI / "ca.crt"), "-CAkey", str(PKI / "ca.key"),
            "-CAcreateserial", "-CAserial", str(out / "ca.srl"), "-days", "1", "-extfile", "client.ext",
            "-out", "rotated.crt")
    return out


# --- helpers -----------------------------------------------------------------------------------


def write_kubeconfig(path: Path, env: Envtest, user: dict[str, Any], *, cluster: dict[str, Any] | None = None,
                     namespace: str = "default") -> Path:
    """A one-context kubeconfig at ``path``: the envtest server and CA (unless ``cluster`` replaces
    them) and ``user``."""
    if cluster is None:
        cluster = {"server": env.server, "certificate-authority-data": base64.b64encode(env.ca).decode()}
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "test", "context": {"cluster": "c", "user": "u", "namespace": namespace}}],
    }))
    return path


def connect_sync(kubeconfig: Path, **kwargs: Any) -> dynkube.Client:
    """A sync client only: for what the asyncio client cannot take (aiohttp refuses a URL host such
    as 127.1, a non-canonical IPv4 address) or tests inspect (requests' pools)."""
    return dynkube.Client(kubeconfig=kubeconfig, cache_dir=False, **kwargs)


@pytest.fixture
def connect(open_client: Callable[..., Any]) -> Callable[..., Any]:
    """Connects with a kubeconfig: a sync client, then (second run of the test) an asyncio one."""
    def make(kubeconfig: Path, **kwargs: Any) -> Any:
        return open_client(kubeconfig=kubeconfig, cache_dir=False, **kwargs)
    return make


def whoami(client: dynkube.Client) -> dict[str, Any]:
    """The user the server authenticated this client as (SelfSubjectReview)."""
    review = client.resource("selfsubjectreviews").create(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    return dict(review["status"]["userInfo"])


def exec_user(tmp_path: Path, api_version: str = V1, **env: str) -> tuple[dict[str, Any], Path]:
    """A kubeconfig user running tests/data/exec_plugin.py with ``env`` (EXEC_PLUGIN_ prefixed), and
    its counter file (one line per run). The counter path makes each test's plugin configuration,
    and so its credential cache, its own."""
    counter = tmp_path / f"runs-{uuid.uuid4().hex[:8]}"
    variables = {"EXEC_PLUGIN_COUNTER_FILE": str(counter), **{f"EXEC_PLUGIN_{k.upper()}": v for k, v in env.items()}}
    spec: dict[str, Any] = {
        "apiVersion": api_version, "command": sys.executable, "args": [str(EXEC_PLUGIN)],
        "env": [{"name": k, "value": v} for k, v in variables.items()],
    }
    if api_version == V1:
        spec["interactiveMode"] = "Never"
    return {"exec": spec}, counter


def runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


# --- client certificates -----------------------------------------------------------------------


def test_client_certificate_files_relative_to_the_kubeconfig(connect: Callable[..., Any],
                                                             envtest: Envtest, tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(envtest.ca)
    (tmp_path / "pki" / "admin.crt").write_bytes(envtest.admin_cert)
    (tmp_path / "pki" / "admin.key").write_bytes(envtest.admin_key)
    kubeconfig = write_kubeconfig(
        tmp_path / "config", envtest, {"client-certificate": "pki/admin.crt", "client-key": "pki/admin.key"},
        cluster={"server": envtest.server, "certificate-authority": "pki/ca.crt"})

    with connect(kubeconfig) as client:
        me = whoami(client)
    assert me["username"] == "admin"
    assert "system:masters" in me["groups"]
    assert "uid" not in me  # the token user has uid admin-uid; a certificate user has none


def test_client_certificate_data(connect: Callable[..., Any], envtest: Envtest, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "config", envtest, {
        "client-certificate-data": base64.b64encode(envtest.admin_cert).decode(),
        "client-key-data": base64.b64encode(envtest.admin_key).decode()})

    with connect(kubeconfig) as client:
        me = whoami(client)
    assert (me["username"], "uid" in me) == ("admin", False)


def test_client_certificate_from_an_unknown_ca_is_unauthorized(connect: Callable[..., Any],
                                                               envtest: Envtest, other_pki: Path,
                                                               tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "config", envtest, {
        "client-certificate": str(other_pki / "other-ca.crt"), "client-key": str(other_pki / "other-ca.key")})
    with connect(kubeconfig) as client, pytest.raises(dynkube.Unauthorized):
        whoami(client)


# --- tokens ------------------------------------------------------------------------------------


def test_bearer_token(connect: Callable[..., Any], envtest: Envtest, tmp_path: Path) -> None:
    with connect(write_kubeconfig(tmp_path / "config", envtest, {"token": ADMIN_TOKEN})) as client:
        me = whoami(client)
    assert (me["username"], me["uid"]) == ("admin", "admin-uid")


def test_upper_case_https_scheme_still_applies_the_ca_and_credentials(connect: Callable[..., Any],
                                                                      envtest: Envtest, tmp_path: Path) -> None:
    server = "HTTPS" + envtest.server.removeprefix("https")
    cluster = {"server": server, "certificate-authority-data": base64.b64encode(envtest.ca).decode()}
    with connect(write_kubeconfig(tmp_path / "config", envtest, {"token": ADMIN_TOKEN}, cluster=cluster)) as client:
        assert whoami(client)["username"] == "admin"
    direct = Config(server=server, ca_data=envtest.ca, credentials=dynkube.config.load_kubeconfig(
        tmp_path / "config").credentials)  # a Config built in code is not normalized: the transport copes
    with dynkube.Client(direct, cache_dir=False) as client:
        assert whoami(client)["username"] == "admin"


def test_wrong_token_is_unauthorized(connect: Callable[..., Any], envtest: Envtest, tmp_path: Path) -> None:
    with connect(write_kubeconfig(tmp_path / "config", envtest, {"token": "not-a-valid-token"})) as client:
        with pytest.raises(dynkube.Unauthorized) as caught:
            list(client.resource("pods").list(namespace="default"))
    assert caught.value.code == 401
    assert "not-a-valid-token" not in str(caught.value)


def test_user_without_rights_is_forbidden(connect: Callable[..., Any],
                                          client: dynkube.Client, envtest: Envtest, namespace: str) -> None:
    with connect(envtest.kubeconfig, context="envtest-nobody") as nobody:
        assert whoami(nobody)["username"] == "nobody"  # authenticated: not a 401
        with pytest.raises(dynkube.Forbidden) as caught:
            list(nobody.resource("pods").list(namespace=namespace))
    assert caught.value.code == 403
    assert '"nobody"' in str(caught.value) and namespace in str(caught.value)
    assert list(client.resource("pods").list(namespace=namespace)) == []  # the admin may


def grant_configmap_listing(client: dynkube.Client, namespace: str, group: str) -> None:
    """A Role that may list the namespace's configmaps, bound to ``group`` alone."""
    rbac = "rbac.authorization.k8s.io/v1"
    client.resource("roles").create({"apiVersion": rbac, "kind": "Role", "metadata": {"name": "list-cm"},
                                     "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]},
                                    namespace=namespace)
    client.resource("rolebindings").create({
        "apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "list-cm"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "list-cm"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]}, namespace=namespace)


def may_list_configmaps(client: dynkube.Client, namespace: str) -> bool:
    try:
        list(client.resource("configmaps").list(namespace=namespace))
    except dynkube.Forbidden:
        return False
    return True


def test_several_impersonated_groups_each_reach_the_server(connect: Callable[..., Any], client: dynkube.Client,
                                                          envtest: Envtest, namespace: str, tmp_path: Path) -> None:
    first, second = f"first-{namespace}", f"second-{namespace}"
    grant_configmap_listing(client, namespace, second)
    admin = {"client-certificate-data": base64.b64encode(envtest.admin_cert).decode(),
             "client-key-data": base64.b64encode(envtest.admin_key).decode()}
    user = {**admin, "as": "alice", "as-groups": [first, second], "as-user-extra": {"scopes": ["view", "edit"]}}
    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as alice:
        me = whoami(alice)
        assert (me["username"], me["groups"]) == ("alice", [first, second, "system:authenticated"])
        assert me["extra"] == {"scopes": ["view", "edit"]}
        until(lambda: may_list_configmaps(alice, namespace), "the RoleBinding to the second group to take effect")
    only_first = {**user, "as-groups": [first]}
    with connect(write_kubeconfig(tmp_path / "first", envtest, only_first)) as alice:
        assert not may_list_configmaps(alice, namespace)  # what allowed it was the second group's line


def test_token_file_is_reread_after_a_401(connect: Callable[..., Any], envtest: Envtest, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("a-token-the-server-does-not-know\n")
    kubeconfig = write_kubeconfig(tmp_path / "config", envtest, {"tokenFile": "token"})

    with connect(kubeconfig) as client:
        with pytest.raises(dynkube.Unauthorized):  # re-read after the 401: still wrong, so no retry
            list(client.resource("pods").list(namespace="default"))
        started = time.monotonic()
        token_file.write_text(ADMIN_TOKEN + "\n")  # the token rotates on disk
        me = whoami(client)  # the cached token gets a 401, the file is re-read, the request retried
    assert time.monotonic() - started < dynkube.credentials.TOKEN_FILE_REREAD_SECONDS  # not the periodic re-read
    assert me["username"] == "admin"


def test_token_file_is_cached_between_rereads(connect: Callable[..., Any], envtest: Envtest, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(ADMIN_TOKEN)
    with connect(write_kubeconfig(tmp_path / "config", envtest, {"tokenFile": str(token_file)})) as client:
        assert whoami(client)["username"] == "admin"
        token_file.write_text(NOBODY_TOKEN)
        assert whoami(client)["username"] == "admin"  # read at most every 60 s, as client-go does

        monkeypatch.setattr(dynkube.credentials, "TOKEN_FILE_REREAD_SECONDS", 0.2)
        time.sleep(0.25)
        assert whoami(client)["username"] == "nobody"  # the periodic re-read picked up the new token


# --- exec credential plugins -------------------------------------------------------------------


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
def test_exec_plugin_token(connect: Callable[..., Any], envtest: Envtest, tmp_path: Path, api_version: str) -> None:
    info = tmp_path / "exec-info.json"
    user, counter = exec_user(tmp_path, api_version, token=ADMIN_TOKEN, info_file=str(info))

    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        assert runs(counter) == 0
        assert whoami(client)["username"] == "admin"
        assert whoami(client)["username"] == "admin"
    assert runs(counter) == 1  # cached: no expiry, no 401
    exec_info = json.loads(info.read_text())
    assert exec_info == {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}


def test_exec_plugin_provide_cluster_info(connect: Callable[..., Any], envtest: Envtest, tmp_path: Path) -> None:
    info = tmp_path / "exec-info.json"
    user, _ = exec_user(tmp_path, token=ADMIN_TOKEN, info_file=str(info))
    user["exec"]["provideClusterInfo"] = True

    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        assert whoami(client)["username"] == "admin"
    cluster = json.loads(info.read_text())["spec"]["cluster"]
    assert cluster == {"server": envtest.server, "certificate-authority-data": base64.b64encode(envtest.ca).decode()}


def test_exec_plugin_reruns_when_its_credential_expires(connect: Callable[..., Any],
                                                        envtest: Envtest, tmp_path: Path) -> None:
    user, counter = exec_user(tmp_path, token=ADMIN_TOKEN, expiry_seconds="3")

    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        whoami(client)
        whoami(client)
        assert runs(counter) == 1  # still valid (expires in 2 to 3 s: the timestamp has whole seconds)
        time.sleep(3.1)
        assert whoami(client)["username"] == "admin"
        assert runs(counter) == 2


@pytest.mark.parametrize("certificate", [False, True], ids=["token", "token-and-certificate"])
def test_exec_plugin_with_an_already_expired_credential_runs_once_per_request(connect: Callable[..., Any],
                                                                              envtest: Envtest, tmp_path: Path,
                                                                                 certificate: bool) -> None:
    files = {"cert_file": str(PKI / "admin.crt"), "key_file": str(PKI / "admin.key")} if certificate else {}
    user, counter = exec_user(tmp_path, token=ADMIN_TOKEN, expiry_seconds="-60", **files)

    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        assert whoami(client)["username"] == "admin"  # discovery first: how many requests depends on the cache
        before = runs(counter)
        for request in (1, 2, 3):  # now one POST each
            assert whoami(client)["username"] == "admin"
            assert runs(counter) == before + request


def test_exec_plugin_reruns_once_after_a_401(connect: Callable[..., Any], envtest: Envtest, tmp_path: Path) -> None:
    user, counter = exec_user(tmp_path, tokens=f"revoked-token,{ADMIN_TOKEN}")

    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        assert whoami(client)["username"] == "admin"  # 401 with run 1's token, run 2's token works
        assert runs(counter) == 2
        whoami(client)
    assert runs(counter) == 2


def test_exec_plugin_that_keeps_failing_gives_unauthorized_after_one_rerun(connect: Callable[..., Any],
                                                                           envtest: Envtest, tmp_path: Path) -> None:
    user, counter = exec_user(tmp_path, token="never-valid-{count}")

    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        with pytest.raises(dynkube.Unauthorized):
            whoami(client)
    assert runs(counter) == 2  # one re-run per 401, not a loop


def test_exec_plugin_client_certificate(connect: Callable[..., Any], envtest: Envtest, tmp_path: Path) -> None:
    user, counter = exec_user(tmp_path, token="", cert_file=str(PKI / "admin.crt"), key_file=str(PKI / "admin.key"))

    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        me = whoami(client)
    assert (me["username"], "uid" in me, runs(counter)) == ("admin", False, 1)


def test_exec_plugin_client_certificate_rotates_on_expiry(connect: Callable[..., Any],
                                                          envtest: Envtest, other_pki: Path, tmp_path: Path) -> None:
    cert, key = tmp_path / "client.crt", tmp_path / "client.key"
    cert.write_bytes(envtest.admin_cert)
    key.write_bytes(envtest.admin_key)
    user, counter = exec_user(tmp_path, token="", cert_file=str(cert), key_file=str(key), expiry_seconds="3")

    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        assert whoami(client)["username"] == "admin"
        cert.write_bytes((other_pki / "rotated.crt").read_bytes())
        key.write_bytes((other_pki / "rotated.key").read_bytes())
        time.sleep(3.1)
        # the plugin re-runs and the new certificate is used, even though a kept-alive connection
        # with the old one is still in the pool
        assert whoami(client)["username"] == "rotated"
    assert runs(counter) == 2


# --- trusting the server -----------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # urllib3's, see docs/configuration.md
@pytest.mark.parametrize("credential", ["token", "client-certificate"])
def test_insecure_skip_tls_verify_without_a_ca(connect: Callable[..., Any],
                                               envtest: Envtest, tmp_path: Path, credential: str) -> None:
    user = {"token": ADMIN_TOKEN} if credential == "token" else {
        "client-certificate-data": base64.b64encode(envtest.admin_cert).decode(),
        "client-key-data": base64.b64encode(envtest.admin_key).decode()}
    kubeconfig = write_kubeconfig(tmp_path / "config", envtest, user,
                                  cluster={"server": envtest.server, "insecure-skip-tls-verify": True})
    with connect(kubeconfig) as client:
        assert whoami(client)["username"] == "admin"


def test_no_ca_means_the_system_cas_which_do_not_know_the_server(connect: Callable[..., Any],
                                                                 envtest: Envtest, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "config", envtest, {"token": ADMIN_TOKEN},
                                  cluster={"server": envtest.server})
    with connect(kubeconfig) as client, pytest.raises(dynkube.TransportError) as caught:
        list(client.resource("pods").list(namespace="default"))
    message = str(caught.value)
    assert envtest.server in message and "certificate" in message
    assert "certificate-authority" in message  # says what to set


def _ip_url_outside_certificate(env: Envtest) -> str:
    """A URL that reaches the server by a name its certificate does not cover (it covers 127.0.0.1,
    localhost and envtest.dynkube.local). "127.1" resolves to 127.0.0.1 but, to TLS, is a host name."""
    assert env.host == "127.0.0.1"
    return f"https://127.1:{env.port}"


def test_tls_server_name_verifies_a_server_reached_by_another_name(envtest: Envtest, tmp_path: Path) -> None:
    ca = base64.b64encode(envtest.ca).decode()
    server = _ip_url_outside_certificate(envtest)

    plain = write_kubeconfig(tmp_path / "plain", envtest, {"token": ADMIN_TOKEN},
                             cluster={"server": server, "certificate-authority-data": ca})
    with connect_sync(plain) as client, pytest.raises(dynkube.TransportError) as caught:
        whoami(client)
    assert server in str(caught.value) and "not valid for '127.1'" in str(caught.value)
    assert "tls-server-name" in str(caught.value)

    named = write_kubeconfig(tmp_path / "named", envtest, {"token": ADMIN_TOKEN}, cluster={
        "server": server, "certificate-authority-data": ca, "tls-server-name": TLS_SERVER_NAME})
    with connect_sync(named) as client:
        assert whoami(client)["username"] == "admin"
    config = Config.from_url(server, token=ADMIN_TOKEN, ca=envtest.ca, tls_server_name=TLS_SERVER_NAME)
    with dynkube.Client(config, cache_dir=False) as client:
        assert whoami(client)["username"] == "admin"


def test_tls_server_name_is_checked_instead_of_the_url_host(envtest: Envtest, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "config", envtest, {"token": ADMIN_TOKEN}, cluster={
        "server": envtest.server, "certificate-authority-data": base64.b64encode(envtest.ca).decode(),
        "tls-server-name": "elsewhere.dynkube.local"})  # the URL's 127.0.0.1 alone would pass
    with connect_sync(kubeconfig) as client, pytest.raises(dynkube.TransportError) as caught:
        list(client.resource("pods").list(namespace="default"))
    assert "elsewhere.dynkube.local" in str(caught.value) and envtest.server in str(caught.value)


def test_a_ca_that_does_not_match_gives_a_readable_error(connect: Callable[..., Any],
                                                         envtest: Envtest, other_pki: Path, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "config", envtest, {"token": ADMIN_TOKEN}, cluster={
        "server": envtest.server, "certificate-authority": str(other_pki / "other-ca.crt")})
    caplog.set_level(logging.INFO, logger="dynkube")
    with connect(kubeconfig) as client, pytest.raises(dynkube.TransportError) as caught:
        list(client.resource("pods").list(namespace="default"))  # a GET: retried on connection errors

    message = str(caught.value)
    assert envtest.server in message
    assert "not signed by the certificate authority" in message and str(kubeconfig) in message
    for internal in ("urllib3", "HTTPSConnectionPool", "MaxRetryError", "_ssl.c", "SSLError("):
        assert internal not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "retrying" not in caplog.text  # a certificate does not get better by asking again


def test_the_configured_ca_is_the_only_one_trusted(envtest: Envtest, tmp_path: Path) -> None:
    """client-go trusts only certificate-authority(-data) when it is set; requests would add its own
    bundle of public CAs to any SSLContext it is given."""
    with connect_sync(write_kubeconfig(tmp_path / "config", envtest, {"token": ADMIN_TOKEN})) as client:
        whoami(client)  # connections made: anything requests adds is in the context by now
        context = client.transport.session.get_adapter(envtest.server).poolmanager.connection_pool_kw["ssl_context"]
        trusted = context.get_ca_certs()
    assert [cert["subject"] for cert in trusted] == [((("commonName", "dynkube-envtest-ca"),),)]


# --- other ways to build a Config --------------------------------------------------------------


def test_config_from_url(envtest: Envtest, tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(envtest.ca)
    for ca in (tmp_path / "ca.crt", str(tmp_path / "ca.crt"), envtest.ca):
        config = Config.from_url(envtest.server, token=ADMIN_TOKEN, ca=ca)
        with dynkube.Client(config, cache_dir=False) as client:
            assert whoami(client)["uid"] == "admin-uid"


def test_config_from_url_with_client_certificate(envtest: Envtest) -> None:
    config = Config.from_url(envtest.server, ca=envtest.ca, client_certificate=envtest.admin_cert,
                             client_key=envtest.admin_key, namespace="kube-system")
    with dynkube.Client(config, cache_dir=False) as client:
        assert whoami(client)["username"] == "admin"
        assert client.namespace == "kube-system"


def test_default_config_reads_kubeconfig_env_list(envtest: Envtest, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    mine = write_kubeconfig(tmp_path / "mine", envtest, {"token": NOBODY_TOKEN}, namespace="mine")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "missing"), str(mine), str(envtest.kubeconfig)]))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config to fall back on

    config = default_config()
    assert (config.source, config.context, config.namespace) == (str(mine), "test", "mine")
    with dynkube.Client(cache_dir=False) as client:
        assert whoami(client)["username"] == "nobody"
    with dynkube.Client(context="envtest-token", cache_dir=False) as client:  # a context of the second file
        assert whoami(client)["username"] == "admin"


def test_default_config_falls_back_to_in_cluster(envtest: Envtest, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(ADMIN_TOKEN)
    (account / "ca.crt").write_bytes(envtest.ca)
    (account / "namespace").write_text("pod-namespace\n")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", envtest.host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(envtest.port))
    monkeypatch.setattr(dynkube.config, "SERVICE_ACCOUNT_DIR", str(account))

    with dynkube.Client(cache_dir=False) as client:
        assert (client.config.source, client.config.server) == ("in-cluster", envtest.server)
        assert client.namespace == "pod-namespace"
        me = whoami(client)
        (account / "token").write_text(NOBODY_TOKEN)  # the token rotates; the CA is the file's
        assert whoami(client) == me  # cached for up to 60 s
    assert me["username"] == "admin"


def test_without_kubeconfig_or_pod_the_error_says_what_was_looked_for(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(dynkube.ConfigError) as caught:
        dynkube.Client()
    assert str(tmp_path / ".kube" / "config") in str(caught.value)
    assert "KUBERNETES_SERVICE_HOST" in str(caught.value)


# --- secrets and side effects ------------------------------------------------------------------


def test_secrets_never_reach_logs_or_reprs(connect: Callable[..., Any],
                                           envtest: Envtest, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token_user = write_kubeconfig(tmp_path / "token", envtest, {
        "token": ADMIN_TOKEN, "client-certificate-data": base64.b64encode(envtest.admin_cert).decode(),
        "client-key-data": base64.b64encode(envtest.admin_key).decode()})
    exec_token = f"exec-secret-{uuid.uuid4().hex}"
    user, _ = exec_user(tmp_path, tokens=f"{exec_token}-old,{ADMIN_TOKEN}", stderr="plugin says hello")
    exec_config = write_kubeconfig(tmp_path / "exec", envtest, user)
    bad = write_kubeconfig(tmp_path / "bad", envtest, {"token": "wrong-secret-token"})

    caplog.set_level(logging.DEBUG)
    texts = []
    for kubeconfig in (token_user, exec_config, bad):
        with connect(kubeconfig) as client:
            texts += [repr(client), repr(client.config), repr(client.config.credentials)]
            try:
                whoami(client)
                list(client.resource("pods").list(namespace="default"))
            except dynkube.Unauthorized as err:
                texts.append(str(err))
    assert "GET" in caplog.text and "plugin says hello" in caplog.text  # debug logging did happen

    key_body = b"".join(envtest.admin_key.splitlines()[1:-1]).decode()
    everything = caplog.text + "\n".join(texts)
    for secret in (ADMIN_TOKEN, exec_token, "wrong-secret-token", key_body[:40], key_body[-40:],
                   base64.b64encode(envtest.admin_key).decode()[:40]):
        assert secret not in everything


def test_client_construction_makes_no_request_and_runs_no_plugin(envtest: Envtest, tmp_path: Path) -> None:
    user, counter = exec_user(tmp_path, token=ADMIN_TOKEN)
    kubeconfig = write_kubeconfig(tmp_path / "config", envtest, user)
    events: list[tuple[str, Any]] = []
    with _audit(events, {"socket.connect", "subprocess.Popen", "os.posix_spawn", "os.exec"}):
        client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=tmp_path / "cache")
    assert events == []
    assert runs(counter) == 0
    with client:
        assert whoami(client)["username"] == "admin"
    assert runs(counter) == 1


_AUDIT_SINK: list[tuple[set[str], list[tuple[str, Any]], int]] = []


def _audit_hook(event: str, args: Any) -> None:
    for names, sink, thread in _AUDIT_SINK:
        if event in names and threading.get_ident() == thread:
            sink.append((event, args))


@pytest.fixture(scope="module", autouse=True)
def _install_audit_hook() -> None:
    if not getattr(sys, "_dynkube_test_audit", False):  # hooks cannot be removed: install one, once
        sys.addaudithook(_audit_hook)
        sys._dynkube_test_audit = True  # type: ignore[attr-defined]


class _audit:
    """Collect the audit events named in ``names`` raised by this thread inside the block."""

    def __init__(self, sink: list[tuple[str, Any]], names: set[str]) -> None:
        self.entry = (names, sink, threading.get_ident())

    def __enter__(self) -> None:
        _AUDIT_SINK.append(self.entry)

    def __exit__(self, *exc: object) -> None:
        _AUDIT_SINK.remove(self.entry)


@pytest.fixture(autouse=True)
def _no_leftover_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests here build their own environment: nothing from the caller's may leak in."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield


# --- concurrent 401s ---------------------------------------------------------------------------


def _concurrently(client: dynkube.Client, threads: int) -> list[str]:
    """Send ``threads`` SelfSubjectReviews at once as raw requests (no discovery to serialize them);
    the usernames, or the error class names."""
    barrier = threading.Barrier(threads)
    results: list[str] = [""] * threads
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}

    def one(index: int) -> None:
        barrier.wait()
        try:
            answer = client.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=body)
            results[index] = answer["status"]["userInfo"]["username"]
        except dynkube.DynkubeError as err:
            results[index] = type(err).__name__
            logging.getLogger(__name__).warning("request %d of %d failed: %s", index, threads, err)  # shown on failure

    workers = [threading.Thread(target=one, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_concurrent_401s_all_pick_up_the_rotated_token_file(connect: Callable[..., Any],
                                                            envtest: Envtest, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("a-token-the-server-does-not-know")
    with connect(write_kubeconfig(tmp_path / "config", envtest, {"tokenFile": str(token_file)})) as client:
        token_file.write_text(ADMIN_TOKEN)  # rotated on disk; the client still holds the old one
        # every request is sent with the old token; whichever 401 comes back first re-reads the file,
        # and the others must still retry with the new token rather than give up
        assert _concurrently(client, 8) == ["admin"] * 8


def test_concurrent_401s_rerun_the_exec_plugin_once(connect: Callable[..., Any],
                                                    envtest: Envtest, tmp_path: Path) -> None:
    user, counter = exec_user(tmp_path, tokens=f"revoked-token,{ADMIN_TOKEN},third-run-is-a-bug")
    with connect(write_kubeconfig(tmp_path / "config", envtest, user)) as client:
        assert _concurrently(client, 8) == ["admin"] * 8
    assert runs(counter) == 2
