"""kubeconfig loading: precedence, kubectl's merge rules, relative paths, cluster fields, bad input."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from dynkube import config as config_module
from dynkube.config import Config, NoCredentials, Overrides, default_config, load_kubeconfig
from dynkube.errors import ConfigError

CA_PEM = b"-----BEGIN CERTIFICATE-----\n" + base64.b64encode(b"ca-der" * 8) + b"\n-----END CERTIFICATE-----\n"
OTHER_CA_PEM = b"-----BEGIN CERTIFICATE-----\n" + base64.b64encode(b"other" * 8) + b"\n-----END CERTIFICATE-----\n"


def write_kubeconfig(
    path: Path,
    *,
    clusters: dict[str, dict[str, Any]] | None = None,
    users: dict[str, dict[str, Any]] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
    current: str | None = None,
) -> Path:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": body} for name, body in (clusters or {}).items()],
        "users": [{"name": name, "user": body} for name, body in (users or {}).items()],
        "contexts": [{"name": name, "context": body} for name, body in (contexts or {}).items()],
    }
    if current is not None:
        doc["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def one_context(
    path: Path,
    *,
    cluster: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> Path:
    """A kubeconfig with one context "ctx" joining cluster "c" and user "u"; the dicts add or replace fields."""
    return write_kubeconfig(
        path,
        clusters={"c": {"server": "https://c.example:6443", **(cluster or {})}},
        users={"u": user or {}},
        contexts={"ctx": {"cluster": "c", "user": "u", **(context or {})}},
        current="ctx",
    )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real kubeconfig, home directory or pod environment leaks into a test."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config_module, "SERVICE_ACCOUNT_DIR", str(tmp_path / "no-service-account"))


# --- where kubeconfig comes from ---------------------------------------------------------------


def test_explicit_path_is_used_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = one_context(tmp_path / "env", cluster={"server": "https://env.example"})
    explicit = one_context(tmp_path / "explicit", cluster={"server": "https://explicit.example"})
    monkeypatch.setenv("KUBECONFIG", str(env_file))
    config = load_kubeconfig(explicit)
    assert config.server == "https://explicit.example"
    assert config.source == str(explicit)


def test_explicit_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_kubeconfig(tmp_path / "nope")
    assert caught.value.path == str(tmp_path / "nope")


def test_empty_explicit_path_means_not_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(one_context(tmp_path / "env")))
    assert load_kubeconfig("").source == str(tmp_path / "env")


def test_home_kubeconfig_is_used_when_kubeconfig_env_is_unset(tmp_path: Path) -> None:
    one_context(tmp_path / "home" / ".kube" / "config", cluster={"server": "https://home.example"})
    assert load_kubeconfig().server == "https://home.example"


def test_no_kubeconfig_anywhere_names_what_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=str(tmp_path / "home" / ".kube" / "config")):
        load_kubeconfig()


def test_kubeconfig_env_skips_missing_duplicate_and_empty_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = one_context(tmp_path / "real")
    listed = [str(tmp_path / "missing"), "", str(real), str(real)]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(listed))
    assert load_kubeconfig().context == "ctx"


def test_kubeconfig_env_with_only_missing_files_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")])
    monkeypatch.setenv("KUBECONFIG", listed)
    with pytest.raises(ConfigError, match="KUBECONFIG") as caught:
        load_kubeconfig()
    assert str(tmp_path / "a") in str(caught.value)


def test_kubeconfig_env_does_not_fall_back_to_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one_context(tmp_path / "home" / ".kube" / "config")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(ConfigError):
        load_kubeconfig()


# --- merging -----------------------------------------------------------------------------------


def test_first_file_defining_a_name_wins_wholesale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_kubeconfig(tmp_path / "first", clusters={"shared": {"server": "https://first.example"}})
    second = write_kubeconfig(
        tmp_path / "second",
        clusters={
            "shared": {"server": "https://second.example", "tls-server-name": "second", "disable-compression": True}
        },
        users={"u": {}},
        contexts={"ctx": {"cluster": "shared", "user": "u"}},
        current="ctx",
    )
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(second)]))
    config = load_kubeconfig()
    assert config.server == "https://first.example"
    assert config.tls_server_name is None  # fields of the later entry are not merged in
    assert config.disable_compression is False


def test_first_non_empty_current_context_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clusters = {"c": {"server": "https://c.example"}}
    contexts = {name: {"cluster": "c"} for name in ("b", "c")}
    files = [
        write_kubeconfig(tmp_path / "1", clusters=clusters, current=""),
        write_kubeconfig(tmp_path / "2", contexts=contexts, current="b"),
        write_kubeconfig(tmp_path / "3", current="c"),
    ]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, files)))
    assert load_kubeconfig().context == "b"


def test_context_override_beats_current_context(tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "config",
        clusters={"a": {"server": "https://a.example"}, "b": {"server": "https://b.example"}},
        contexts={"ctx-a": {"cluster": "a"}, "ctx-b": {"cluster": "b"}},
        current="ctx-a",
    )
    config = load_kubeconfig(path, context="ctx-b")
    assert (config.context, config.server) == ("ctx-b", "https://b.example")


def test_relative_paths_resolve_against_the_file_that_defined_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "ca.pem").write_bytes(CA_PEM)
    (tmp_path / "two" / "creds").mkdir(parents=True)
    (tmp_path / "two" / "creds" / "token").write_text("file-token\n")
    first = write_kubeconfig(
        tmp_path / "one" / "config", clusters={"c": {"server": "https://c.example", "certificate-authority": "ca.pem"}}
    )
    second = write_kubeconfig(
        tmp_path / "two" / "config",
        clusters={"c": {"server": "https://ignored.example"}},
        users={"u": {"tokenFile": "creds/token"}},
        contexts={"ctx": {"cluster": "c", "user": "u"}},
        current="ctx",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(["one/config", "two/config"]))
    config = load_kubeconfig()
    assert config.ca_data == CA_PEM
    assert config.credentials.headers() == {"Authorization": "Bearer file-token"}
    assert str(tmp_path / "two" / "creds" / "token") in repr(config.credentials)
    assert first.exists() and second.exists()


@pytest.mark.parametrize(
    ("override", "context_namespace", "expected"),
    [("given", "from-context", "given"), (None, "from-context", "from-context"), (None, None, "default")],
)
def test_namespace_precedence(
    tmp_path: Path, override: str | None, context_namespace: str | None, expected: str
) -> None:
    extra = {"namespace": context_namespace} if context_namespace else {}
    path = one_context(tmp_path / "config", context=extra)
    assert load_kubeconfig(path, namespace=override).namespace == expected


def test_context_without_user_is_anonymous(tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "config",
        clusters={"c": {"server": "https://c.example"}},
        contexts={"ctx": {"cluster": "c"}},
        current="ctx",
    )
    assert isinstance(load_kubeconfig(path).credentials, NoCredentials)


def test_empty_file_in_kubeconfig_list_is_an_empty_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(empty), str(one_context(tmp_path / "config"))]))
    assert load_kubeconfig().context == "ctx"


def test_json_kubeconfig_is_read_without_a_yaml_parser(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    doc = yaml.safe_load(one_context(tmp_path / "yaml").read_text())
    (tmp_path / "json").write_text(json.dumps(doc, indent=2))
    from_json, from_yaml = load_kubeconfig(tmp_path / "json"), load_kubeconfig(tmp_path / "yaml")
    assert repr(from_json).replace("/json'", "/yaml'") == repr(from_yaml)
    probe = (f"import sys, dynkube.config as c; c.load_kubeconfig({str(tmp_path / 'json')!r}); "
             "print('yaml' in sys.modules)")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "False"


def test_flow_mapping_that_is_not_json_is_read_as_yaml(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("{current-context: ctx, contexts: [{name: ctx, context: {cluster: c}}], "
                    "clusters: [{name: c, cluster: {server: 'https://h:6443'}}]}\n")
    assert load_kubeconfig(path).server == "https://h:6443"


# --- cluster fields ----------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, name", [
    (Overrides(server="https://other.example:6443"), None),  # --server drops the entry's name, as client-go
    (Overrides(server="https://other.example:6443", tls_server_name="other"), "other"),
    (Overrides(tls_server_name="other"), "other"),
    (Overrides(insecure_skip_tls_verify=False), "kubernetes.default"),
])
def test_server_override_replaces_the_entrys_tls_server_name(tmp_path: Path, overrides: Overrides,
                                                             name: str | None) -> None:
    path = one_context(tmp_path / "config", cluster={"server": "https://10.0.0.1:6443",
                                                     "tls-server-name": "kubernetes.default"})
    assert load_kubeconfig(path, overrides=overrides).tls_server_name == name


def test_cluster_fields(tmp_path: Path) -> None:
    path = one_context(
        tmp_path / "config",
        cluster={
            "server": "https://10.0.0.1:6443/prefix/",
            "certificate-authority-data": base64.b64encode(CA_PEM).decode(),
            "tls-server-name": "kubernetes.default",
            "proxy-url": "http://proxy.example:3128",
            "disable-compression": True,
        },
    )
    config = load_kubeconfig(path)
    assert config.server == "https://10.0.0.1:6443/prefix"
    assert config.ca_data == CA_PEM
    assert config.tls_server_name == "kubernetes.default"
    assert config.proxy_url == "http://proxy.example:3128"
    assert config.disable_compression is True
    assert config.insecure_skip_tls_verify is False


def test_insecure_skip_tls_verify(tmp_path: Path) -> None:
    path = one_context(tmp_path / "config", cluster={"insecure-skip-tls-verify": True})
    assert load_kubeconfig(path).insecure_skip_tls_verify is True


@pytest.mark.parametrize(
    ("cluster", "expected"), [({}, "http://h:6443"), ({"insecure-skip-tls-verify": True}, "https://h:6443")]
)
def test_server_without_scheme_gets_https_only_when_tls_is_configured(
    tmp_path: Path, cluster: dict[str, Any], expected: str
) -> None:
    path = one_context(tmp_path / "config", cluster={"server": "h:6443", **cluster})
    assert load_kubeconfig(path).server == expected


@pytest.mark.parametrize("server", ["HTTPS://c.example:6443", "Https://c.example:6443/"])
def test_server_url_scheme_is_case_insensitive(tmp_path: Path, server: str) -> None:
    path = one_context(tmp_path / "config", cluster={"server": server, "proxy-url": "HTTP://proxy:3128"})
    config = load_kubeconfig(path)
    assert (config.server, config.proxy_url) == ("https://c.example:6443", "http://proxy:3128")


def test_socks_proxy_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = one_context(tmp_path / "config", cluster={"proxy-url": "socks5://user:secret-proxy-pw@proxy:1080"})
    with pytest.raises(ConfigError, match="dependency") as caught:
        load_kubeconfig(path)
    assert caught.value.key == "clusters[c].cluster.proxy-url"
    assert "secret-proxy-pw" not in str(caught.value)


# --- bad input ---------------------------------------------------------------------------------


def bad_cases() -> list[Any]:
    """(cluster, user, context extra, expected key, words the message must contain)."""
    not_pem = base64.b64encode(b"just some bytes").decode()
    key_pem = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").decode()
    cert_pem = base64.b64encode(CA_PEM).decode()
    ca_b64 = base64.b64encode(CA_PEM).decode()
    case = pytest.param
    return [
        case({"server": None}, {}, {}, "clusters[c].cluster.server", ["no server"], id="no-server"),
        case({"server": "ftp://h"}, {}, {}, "clusters[c].cluster.server", ["http"], id="bad-scheme"),
        case(
            {"certificate-authority": "missing-ca.pem"},
            {},
            {},
            "clusters[c].cluster.certificate-authority",
            ["missing-ca.pem"],
            id="missing-ca",
        ),
        case(
            {"certificate-authority-data": "%%%"},
            {},
            {},
            "clusters[c].cluster.certificate-authority-data",
            ["base64"],
            id="ca-bad-base64",
        ),
        case(
            {"certificate-authority-data": not_pem},
            {},
            {},
            "clusters[c].cluster.certificate-authority-data",
            ["PEM"],
            id="ca-not-pem",
        ),
        case(
            {"certificate-authority-data": ca_b64, "certificate-authority": "ca.pem"},
            {},
            {},
            "clusters[c].cluster.certificate-authority-data",
            ["both"],
            id="ca-data-and-file",
        ),
        case(
            {"certificate-authority-data": ca_b64, "insecure-skip-tls-verify": True},
            {},
            {},
            "clusters[c].cluster.insecure-skip-tls-verify",
            ["certificate authority"],
            id="insecure-with-ca",
        ),
        case(
            {"insecure-skip-tls-verify": "yes"},
            {},
            {},
            "clusters[c].cluster.insecure-skip-tls-verify",
            ["true or false"],
            id="bool-as-string",
        ),
        case({"proxy-url": "ftp://proxy"}, {}, {}, "clusters[c].cluster.proxy-url", ["http"], id="proxy-scheme"),
        case({"extensions": {"a": 1}}, {}, {}, "clusters[c].cluster.extensions", ["list"], id="extensions-shape"),
        case(
            {},
            {"client-certificate": "missing.crt", "client-key-data": key_pem},
            {},
            "users[u].user.client-certificate",
            ["missing.crt"],
            id="missing-cert-file",
        ),
        case(
            {},
            {"client-certificate-data": cert_pem, "client-key": "missing.key"},
            {},
            "users[u].user.client-key",
            ["missing.key"],
            id="missing-key-file",
        ),
        case(
            {},
            {"client-certificate-data": "not base64!"},
            {},
            "users[u].user.client-certificate-data",
            ["base64"],
            id="cert-bad-base64",
        ),
        case(
            {},
            {"client-certificate-data": not_pem, "client-key-data": key_pem},
            {},
            "users[u].user.client-certificate-data",
            ["PEM"],
            id="cert-not-pem",
        ),
        case(
            {},
            {"client-certificate-data": cert_pem, "client-key-data": cert_pem},
            {},
            "users[u].user.client-key-data",
            ["PRIVATE KEY"],
            id="key-not-a-key",
        ),
        case(
            {},
            {"client-certificate-data": cert_pem},
            {},
            "users[u].user.client-key",
            ["missing"],
            id="cert-without-key",
        ),
        case(
            {}, {"client-key-data": key_pem}, {}, "users[u].user.client-certificate", ["missing"], id="key-without-cert"
        ),
        case(
            {},
            {"tokenFile": "no-such-token"},
            {},
            "users[u].user.tokenFile",
            ["no-such-token"],
            id="missing-token-file",
        ),
        case({}, {"token": ["a", "list"]}, {}, "users[u].user.token", ["string"], id="token-wrong-type"),
        case(
            {},
            {"token": "t", "username": "bob", "password": "pw"},
            {},
            "users[u].user.token",
            ["more than one"],
            id="token-and-basic",
        ),
        case({}, {"as-groups": ["g"]}, {}, "users[u].user.as", ["impersonate"], id="groups-without-as"),
        case(
            {},
            {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "interactiveMode": "Never"}},
            {},
            "users[u].user.exec.command",
            ["command"],
            id="exec-no-command",
        ),
        case(
            {},
            {"exec": {"command": "x"}},
            {},
            "users[u].user.exec.apiVersion",
            ["client.authentication.k8s.io/v1"],
            id="exec-no-api-version",
        ),
        case(
            {},
            {"exec": {"command": "x", "apiVersion": "client.authentication.k8s.io/v1alpha1"}},
            {},
            "users[u].user.exec.apiVersion",
            ["must be one of"],
            id="exec-old-api-version",
        ),
        case(
            {},
            {"exec": {"command": "x", "apiVersion": "client.authentication.k8s.io/v1"}},
            {},
            "users[u].user.exec.interactiveMode",
            ["required"],
            id="exec-v1-no-interactive-mode",
        ),
        case(
            {},
            {"exec": {"command": "x", "apiVersion": "client.authentication.k8s.io/v1", "interactiveMode": "Sometimes"}},
            {},
            "users[u].user.exec.interactiveMode",
            ["Never"],
            id="exec-bad-interactive-mode",
        ),
        case(
            {},
            {"exec": {"command": "x", "apiVersion": "client.authentication.k8s.io/v1beta1", "env": [{"value": "v"}]}},
            {},
            "users[u].user.exec.env[0]",
            ["name"],
            id="exec-env-without-name",
        ),
        case({}, {"exec": "x"}, {}, "users[u].user.exec", ["mapping"], id="exec-not-a-mapping"),
        case(
            {},
            {},
            {"namespace": "Not_A_Namespace"},
            "contexts[ctx].context.namespace",
            ["DNS-1123"],
            id="bad-namespace",
        ),
        case({}, {}, {"cluster": None}, "contexts[ctx].context.cluster", ["no cluster"], id="context-without-cluster"),
        case(
            {},
            {},
            {"cluster": "nowhere"},
            "contexts[ctx].context.cluster",
            ["'nowhere'", "not defined"],
            id="unknown-cluster",
        ),
        case({}, {}, {"user": "nobody"}, "contexts[ctx].context.user", ["'nobody'", "not defined"], id="unknown-user"),
    ]


NOT_PEM = base64.b64encode(b"just some bytes").decode()
CA_B64 = base64.b64encode(CA_PEM).decode()
KEY_B64 = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").decode()
EXEC_V1 = {"command": "x", "apiVersion": "client.authentication.k8s.io/v1"}
PREFIX = {"cluster": "clusters[c].cluster.", "user": "users[u].user.", "context": "contexts[ctx].context."}


def bad(section: str, body: dict[str, Any], key: str, *words: str, id: str) -> Any:
    """A bad-input case: ``body`` goes into the cluster, user or context; ``key`` is the one to blame."""
    return pytest.param(section, body, PREFIX[section] + key, words, id=id)


# fmt: off
BAD_ENTRIES = [
    bad("cluster", {"server": None}, "server", "no server", id="no-server"),
    bad("cluster", {"server": "ftp://h"}, "server", "http", id="bad-scheme"),
    bad("cluster", {"certificate-authority": "nope.pem"}, "certificate-authority", "nope.pem", id="missing-ca"),
    bad("cluster", {"certificate-authority": "not-pem.crt"}, "certificate-authority", "not-pem.crt", "PEM",
        id="ca-file-not-pem"),
    bad("cluster", {"certificate-authority-data": "%%%"}, "certificate-authority-data", "base64", id="ca-bad-base64"),
    bad("cluster", {"certificate-authority-data": NOT_PEM}, "certificate-authority-data", "PEM", id="ca-not-pem"),
    bad("cluster", {"certificate-authority-data": CA_B64, "certificate-authority": "ca.pem"},
        "certificate-authority-data", "both", id="ca-data-and-file"),
    bad("cluster", {"certificate-authority-data": CA_B64, "insecure-skip-tls-verify": True},
        "insecure-skip-tls-verify", "certificate authority", id="insecure-with-ca"),
    bad("cluster", {"insecure-skip-tls-verify": "yes"}, "insecure-skip-tls-verify", "true or false", id="bool-as-text"),
    bad("cluster", {"proxy-url": "ftp://proxy"}, "proxy-url", "http", id="proxy-scheme"),
    bad("cluster", {"extensions": {"a": 1}}, "extensions", "list", id="extensions-shape"),
    bad("user", {"client-certificate": "nope.crt", "client-key-data": KEY_B64}, "client-certificate", "nope.crt",
        id="missing-cert-file"),
    bad("user", {"client-certificate-data": CA_B64, "client-key": "nope.key"}, "client-key", "nope.key",
        id="missing-key-file"),
    bad("user", {"client-certificate-data": "not base64!"}, "client-certificate-data", "base64", id="cert-bad-base64"),
    bad("user", {"client-certificate-data": NOT_PEM, "client-key-data": KEY_B64}, "client-certificate-data", "PEM",
        id="cert-not-pem"),
    bad("user", {"client-certificate-data": CA_B64, "client-key-data": CA_B64}, "client-key-data", "PRIVATE KEY",
        id="key-not-a-key"),
    bad("user", {"client-certificate-data": CA_B64}, "client-key", "missing", id="cert-without-key"),
    bad("user", {"client-key-data": KEY_B64}, "client-certificate", "missing", id="key-without-cert"),
    bad("user", {"tokenFile": "no-such-token"}, "tokenFile", "no-such-token", id="missing-token-file"),
    bad("user", {"token": ["a", "list"]}, "token", "string", id="token-wrong-type"),
    bad("user", {"token": "t", "username": "bob", "password": "pw"}, "token", "more than one", id="token-and-basic"),
    bad("user", {"as-groups": ["g"]}, "as", "impersonate", id="groups-without-as"),
    bad("user", {"as": "alice", "as-groups": ["g", "two\nlines"]}, "as-groups", "control characters",
        id="group-with-a-line-break"),
    bad("user", {"as": "al\rice"}, "as", "control characters", id="user-with-a-carriage-return"),
    bad("user", {"as": "alice", "as-uid": " 1"}, "as-uid", "starts with white space", id="uid-with-a-leading-space"),
    bad("user", {"as": "alice", "as-user-extra": {"k": ["\x00"]}}, "as-user-extra", "control characters",
        id="extra-with-a-nul"),
    bad("user", {"exec": {**EXEC_V1, "command": None, "interactiveMode": "Never"}}, "exec.command", "command",
        id="exec-no-command"),
    bad("user", {"exec": {"command": "x"}}, "exec.apiVersion", "client.authentication.k8s.io/v1",
        id="exec-no-api-version"),
    bad("user", {"exec": {**EXEC_V1, "apiVersion": "client.authentication.k8s.io/v1alpha1"}}, "exec.apiVersion",
        "must be one of", id="exec-old-api-version"),
    bad("user", {"exec": EXEC_V1}, "exec.interactiveMode", "required", id="exec-v1-no-interactive-mode"),
    bad("user", {"exec": {**EXEC_V1, "interactiveMode": "Sometimes"}}, "exec.interactiveMode", "Never",
        id="exec-bad-interactive-mode"),
    bad("user", {"exec": {**EXEC_V1, "interactiveMode": "Never", "env": [{"value": "v"}]}}, "exec.env[0]", "name",
        id="exec-env-without-name"),
    bad("user", {"exec": "x"}, "exec", "mapping", id="exec-not-a-mapping"),
    bad("context", {"namespace": "Not_A_Namespace"}, "namespace", "DNS-1123", id="bad-namespace"),
    bad("context", {"cluster": None}, "cluster", "no cluster", id="context-without-cluster"),
    bad("context", {"cluster": "nowhere"}, "cluster", "'nowhere'", "not defined", id="unknown-cluster"),
    bad("context", {"user": "nobody"}, "user", "'nobody'", "not defined", id="unknown-user"),
]
# fmt: on


@pytest.mark.parametrize(("section", "body", "key", "words"), BAD_ENTRIES)
def test_bad_entries_name_file_context_and_key(
    tmp_path: Path, section: str, body: dict[str, Any], key: str, words: tuple[str, ...]
) -> None:
    (tmp_path / "ca.pem").write_bytes(CA_PEM)
    (tmp_path / "not-pem.crt").write_text("hello")
    path = one_context(tmp_path / "config", **{section: body})
    with pytest.raises(ConfigError) as caught:
        load_kubeconfig(path)
    message = str(caught.value)
    assert (caught.value.path, caught.value.key) == (str(path), key)
    assert str(path) in message and "context 'ctx'" in message and key.split(".", 2)[-1] in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("text", "words", "key"),
    [
        pytest.param("clusters: [\n  - name: a\n token: oops: {", ["invalid YAML", "line"], None, id="invalid-yaml"),
        pytest.param("- just\n- a list\n", ["top level must be a mapping"], None, id="top-level-list"),
        pytest.param("clusters: {a: 1}\n", ["clusters must be a list"], "clusters", id="section-not-a-list"),
        pytest.param("users:\n- user: {}\n", ["users[0]", "name"], "users[0]", id="entry-without-name"),
        pytest.param(
            "users:\n- name: u\n  user: [1]\n",
            ["user must be a mapping"],
            "users[0].user",
            id="entry-body-not-a-mapping",
        ),
        pytest.param("users:\n- name: u\n- name: u\n", ["twice"], "users[1]", id="duplicate-name"),
        pytest.param(
            "current-context: [a]\n", ["current-context must be a string"], "current-context", id="current-context-type"
        ),
    ],
)
def test_malformed_files_name_the_file(tmp_path: Path, text: str, words: list[str], key: str | None) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_kubeconfig(path)
    assert caught.value.path == str(path)
    assert caught.value.key == key
    assert str(path) in str(caught.value)
    for word in words:
        assert word in str(caught.value)


def test_invalid_yaml_message_does_not_quote_the_document(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("users:\n- name: u\n  user:\n    token: s3cr3t-t0ken\n   bad: [indent\n")
    with pytest.raises(ConfigError, match="invalid YAML") as caught:
        load_kubeconfig(path)
    assert "s3cr3t-t0ken" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_unreadable_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    with pytest.raises(ConfigError, match="cannot read kubeconfig") as caught:
        load_kubeconfig(tmp_path / "config")
    assert caught.value.path == str(tmp_path / "config")


def test_unknown_context_override_lists_the_defined_ones(tmp_path: Path) -> None:
    path = one_context(tmp_path / "config")
    with pytest.raises(ConfigError, match="'prod'.*ctx") as caught:
        load_kubeconfig(path, context="prod")
    assert caught.value.path == str(path)


def test_unknown_current_context(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", current="gone")
    with pytest.raises(ConfigError, match="'gone'.*current-context") as caught:
        load_kubeconfig(path)
    assert caught.value.key == "current-context"


def test_no_current_context(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", contexts={"a": {"cluster": "c"}})
    with pytest.raises(ConfigError, match="no current-context") as caught:
        load_kubeconfig(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "replacement"),
    [
        ("gcp", "gke-gcloud-auth-plugin"),
        ("azure", "kubelogin"),
        ("oidc", "kubelogin"),
        ("custom", "exec credential plugin"),
    ],
)
def test_auth_provider_names_its_replacement(tmp_path: Path, name: str, replacement: str) -> None:
    path = one_context(
        tmp_path / "config", user={"auth-provider": {"name": name, "config": {"access-token": "at-secret"}}}
    )
    with pytest.raises(ConfigError, match=replacement) as caught:
        load_kubeconfig(path)
    assert caught.value.key == "users[u].user.auth-provider"
    assert "at-secret" not in str(caught.value)


# --- default_config ----------------------------------------------------------------------------


def service_account(directory: Path, *, namespace: str | None = "from-file") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "token").write_text("sa-token\n")
    (directory / "ca.crt").write_bytes(CA_PEM)
    if namespace is not None:
        (directory / "namespace").write_text(namespace)
    return directory


@pytest.fixture
def in_pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = service_account(tmp_path / "sa")
    monkeypatch.setattr(config_module, "SERVICE_ACCOUNT_DIR", str(directory))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return directory


def test_default_config_prefers_kubeconfig(tmp_path: Path, in_pod: Path) -> None:
    one_context(tmp_path / "home" / ".kube" / "config")
    assert default_config().context == "ctx"


def test_default_config_falls_back_to_in_cluster(in_pod: Path) -> None:
    config = default_config(namespace="override")
    assert (config.source, config.server, config.namespace) == ("in-cluster", "https://10.96.0.1:443", "override")


def test_default_config_uses_in_cluster_when_kubeconfig_selects_no_context(tmp_path: Path, in_pod: Path) -> None:
    write_kubeconfig(tmp_path / "home" / ".kube" / "config", clusters={"c": {"server": "https://c.example"}})
    assert default_config().source == "in-cluster"


def test_default_config_error_says_what_was_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nope"))
    with pytest.raises(ConfigError) as caught:
        default_config()
    message = str(caught.value)
    assert str(tmp_path / "nope") in message and "KUBECONFIG" in message and "KUBERNETES_SERVICE_HOST" in message


def test_default_config_with_context_needs_a_kubeconfig(in_pod: Path) -> None:
    with pytest.raises(ConfigError, match="context 'prod'"):
        default_config(context="prod")


def test_config_is_a_frozen_value(tmp_path: Path) -> None:
    config = load_kubeconfig(one_context(tmp_path / "config"))
    with pytest.raises(AttributeError):
        config.server = "https://elsewhere"  # type: ignore[misc]
    assert isinstance(config, Config)
