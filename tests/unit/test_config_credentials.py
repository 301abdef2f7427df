"""Credentials from kubeconfig users, in-cluster service accounts and from_url(); redaction."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from dynkube import credentials as credentials_module
from dynkube.config import Config, in_cluster_config, load_kubeconfig
from dynkube.credentials import BasicCredentials, ClientCertificateCredentials, CombinedCredentials, TokenCredentials
from dynkube.errors import ConfigError

CERT_PEM = b"-----BEGIN CERTIFICATE-----\n" + base64.b64encode(b"cert-der" * 8) + b"\n-----END CERTIFICATE-----\n"
KEY_SECRET = base64.b64encode(b"very-secret-key-material" * 3)
KEY_PEM = b"-----BEGIN EC PRIVATE KEY-----\n" + KEY_SECRET + b"\n-----END EC PRIVATE KEY-----\n"


def user_kubeconfig(path: Path, user: dict[str, Any], cluster: dict[str, Any] | None = None) -> Path:
    """A kubeconfig whose current context "ctx" uses cluster "c" and the given user "u"."""
    doc = {
        "clusters": [{"name": "c", "cluster": {"server": "https://c.example:6443", **(cluster or {})}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)


# --- tokens ------------------------------------------------------------------------------------


def test_static_token(tmp_path: Path) -> None:
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", {"token": "abc"})).credentials
    assert credentials.headers() == {"Authorization": "Bearer abc"}
    assert credentials.client_certificate() is None
    assert credentials.refresh() is False


def test_numeric_token_is_taken_as_text(tmp_path: Path) -> None:
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", {"token": 12345})).credentials
    assert credentials.headers() == {"Authorization": "Bearer 12345"}


def test_token_file_wins_over_token_when_readable(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("  from-file\n")
    credentials = load_kubeconfig(
        user_kubeconfig(tmp_path / "config", {"token": "inline", "tokenFile": "token"})
    ).credentials
    assert credentials.headers() == {"Authorization": "Bearer from-file"}


def test_token_is_used_when_token_file_is_unreadable(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    credentials = load_kubeconfig(
        user_kubeconfig(tmp_path / "config", {"token": "inline", "tokenFile": "missing"})
    ).credentials
    assert credentials.headers() == {"Authorization": "Bearer inline"}
    assert "missing" in caplog.text and "inline" not in caplog.text


def test_token_file_is_not_reread_within_the_interval(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("first")
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", {"tokenFile": "token"})).credentials
    (tmp_path / "token").write_text("second")
    assert credentials.headers() == {"Authorization": "Bearer first"}


def test_token_file_is_reread_once_the_interval_has_passed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("first")
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", {"tokenFile": "token"})).credentials
    monkeypatch.setattr(credentials_module, "TOKEN_FILE_REREAD_SECONDS", 0.0)
    (tmp_path / "token").write_text("second")
    assert credentials.headers() == {"Authorization": "Bearer second"}


def test_refresh_rereads_the_token_file_at_once(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("first")
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", {"tokenFile": "token"})).credentials
    (tmp_path / "token").write_text("second")
    assert credentials.refresh() is True
    assert credentials.headers() == {"Authorization": "Bearer second"}
    assert credentials.refresh() is False  # nothing new: a retry would not help


def test_refresh_answers_for_the_token_this_thread_sent(tmp_path: Path) -> None:
    """Two requests fail with the old token; the second to refresh must still be told to retry."""
    (tmp_path / "token").write_text("old")
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", {"tokenFile": "token"})).credentials
    credentials.headers()  # this thread's request went out with "old"
    other = _in_thread(lambda: (credentials.headers(), (tmp_path / "token").write_text("new"), credentials.refresh()))
    assert other[-1] is True  # the other thread re-read the file first
    assert credentials.refresh() is True  # "new" is not what this thread sent: retrying helps
    assert credentials.headers() == {"Authorization": "Bearer new"}
    assert credentials.refresh() is False


def _in_thread(function: Any) -> Any:
    import threading

    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def test_rotated_token_file_that_vanishes_keeps_the_last_token(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("first")
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", {"tokenFile": "token"})).credentials
    (tmp_path / "token").unlink()
    assert credentials.refresh() is False
    assert credentials.headers() == {"Authorization": "Bearer first"}


def test_empty_token_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n")
    path = user_kubeconfig(tmp_path / "config", {"tokenFile": "token"})
    with pytest.raises(ConfigError, match="tokenFile.*is empty") as caught:
        load_kubeconfig(path)
    assert caught.value.key == "users[u].user.tokenFile"


def test_token_with_a_line_break_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = user_kubeconfig(tmp_path / "config", {"token": "abc\ninjected: header"})
    with pytest.raises(ConfigError, match="line breaks") as caught:
        load_kubeconfig(path)
    assert "injected" not in str(caught.value)


# --- basic, certificates, combinations ---------------------------------------------------------


def test_basic_auth(tmp_path: Path) -> None:
    credentials = load_kubeconfig(
        user_kubeconfig(tmp_path / "config", {"username": "bob", "password": "pw"})
    ).credentials
    assert credentials.headers() == {"Authorization": "Basic " + base64.b64encode(b"bob:pw").decode()}
    assert isinstance(credentials, BasicCredentials)


def test_client_certificate_from_files(tmp_path: Path) -> None:
    (tmp_path / "tls.crt").write_bytes(CERT_PEM)
    (tmp_path / "tls.key").write_bytes(KEY_PEM)
    path = user_kubeconfig(tmp_path / "config", {"client-certificate": "tls.crt", "client-key": "tls.key"})
    credentials = load_kubeconfig(path).credentials
    assert credentials.client_certificate() == (CERT_PEM, KEY_PEM)
    assert credentials.headers() == {}
    assert repr(credentials) == f"ClientCertificateCredentials(source=client-certificate {tmp_path / 'tls.crt'})"


def test_client_certificate_from_data(tmp_path: Path) -> None:
    user = {
        "client-certificate-data": base64.b64encode(CERT_PEM).decode(),
        "client-key-data": base64.b64encode(KEY_PEM).decode(),
    }
    assert load_kubeconfig(user_kubeconfig(tmp_path / "config", user)).credentials.client_certificate() == (
        CERT_PEM,
        KEY_PEM,
    )


def test_encrypted_private_key_is_refused(tmp_path: Path) -> None:
    encrypted = KEY_PEM.replace(b"-----\n", b"-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n", 1)
    user = {
        "client-certificate-data": base64.b64encode(CERT_PEM).decode(),
        "client-key-data": base64.b64encode(encrypted).decode(),
    }
    with pytest.raises(ConfigError, match="encrypted"):
        load_kubeconfig(user_kubeconfig(tmp_path / "config", user))


def test_token_and_client_certificate_are_both_used_as_in_client_go(tmp_path: Path) -> None:
    user = {
        "token": "abc",
        "client-certificate-data": base64.b64encode(CERT_PEM).decode(),
        "client-key-data": base64.b64encode(KEY_PEM).decode(),
    }
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", user)).credentials
    assert isinstance(credentials, CombinedCredentials)
    assert credentials.headers() == {"Authorization": "Bearer abc"}
    assert credentials.client_certificate() == (CERT_PEM, KEY_PEM)


def test_impersonation_headers(tmp_path: Path) -> None:
    user = {
        "token": "abc",
        "as": "alice",
        "as-uid": "1234",
        "as-groups": ["devs", "ops"],
        "as-user-extra": {"scopes": ["view", "edit"], "example.com/team name": ["blue"]},
    }
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", user)).credentials
    assert credentials.headers() == {  # lists: one header line per value, as client-go sends them
        "Authorization": "Bearer abc",
        "Impersonate-User": "alice",
        "Impersonate-Uid": "1234",
        "Impersonate-Group": ["devs", "ops"],
        "Impersonate-Extra-scopes": ["view", "edit"],
        "Impersonate-Extra-example.com%2Fteam%20name": ["blue"],
    }


def test_impersonation_without_credentials(tmp_path: Path) -> None:
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", {"as": "alice"})).credentials
    assert credentials.headers() == {"Impersonate-User": "alice"}
    assert "alice" in repr(credentials)


# --- redaction ---------------------------------------------------------------------------------


SECRETS = ("tok-SECRET-1", "pw-SECRET-2", KEY_SECRET.decode()[:24], "proxy-SECRET-3")


def test_no_secret_in_repr_str_or_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    user = {
        "token": SECRETS[0],
        "client-certificate-data": base64.b64encode(CERT_PEM).decode(),
        "client-key-data": base64.b64encode(KEY_PEM).decode(),
        "as": "alice",
    }
    config = load_kubeconfig(
        user_kubeconfig(tmp_path / "config", user, {"proxy-url": f"http://me:{SECRETS[3]}@proxy:3128"})
    )
    config.credentials.headers()
    basic = load_kubeconfig(user_kubeconfig(tmp_path / "basic", {"username": "bob", "password": SECRETS[1]}))
    texts = [repr(config), str(config), repr(config.credentials), repr(basic), str(basic.credentials), caplog.text]
    assert "***@proxy:3128" in repr(config)
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.parametrize(
    "user",
    [
        pytest.param({"token": SECRETS[0], "username": "bob", "password": SECRETS[1]}, id="two-methods"),
        pytest.param(
            {"client-certificate-data": base64.b64encode(CERT_PEM).decode(), "client-key-data": SECRETS[0] + "!"},
            id="bad-key-data",
        ),
        pytest.param(
            {
                "client-certificate-data": base64.b64encode(CERT_PEM).decode(),
                "client-key-data": base64.b64encode(SECRETS[0].encode()).decode(),
            },
            id="key-not-pem",
        ),
        pytest.param({"token": SECRETS[0], "as-groups": ["g"]}, id="impersonation-error"),
    ],
)
def test_no_secret_in_error_messages(tmp_path: Path, user: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_kubeconfig(user_kubeconfig(tmp_path / "config", user))
    for secret in SECRETS:
        assert secret not in str(caught.value) and secret not in repr(caught.value)


# --- in-cluster --------------------------------------------------------------------------------


@pytest.fixture
def service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text("sa-token-1\n")
    (directory / "ca.crt").write_bytes(CERT_PEM)
    (directory / "namespace").write_text("team-a\n")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return directory


def test_in_cluster_config(service_account: Path) -> None:
    config = in_cluster_config(service_account_dir=service_account)
    assert (config.server, config.namespace, config.source, config.context) == (
        "https://10.96.0.1:443",
        "team-a",
        "in-cluster",
        None,
    )
    assert config.ca_data == CERT_PEM
    assert config.credentials.headers() == {"Authorization": "Bearer sa-token-1"}
    assert repr(config.credentials) == f"TokenCredentials(source=tokenFile {service_account / 'token'})"


def test_in_cluster_ipv6_host_is_bracketed(service_account: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert in_cluster_config(service_account_dir=service_account).server == "https://[fd00::1]:443"


@pytest.mark.parametrize(
    ("override", "pod_namespace", "namespace_file", "expected"),
    [
        ("given", "from-env", True, "given"),
        (None, "from-env", True, "from-env"),
        (None, None, True, "team-a"),
        (None, None, False, "default"),
    ],
)
def test_in_cluster_namespace_precedence(
    service_account: Path,
    monkeypatch: pytest.MonkeyPatch,
    override: str | None,
    pod_namespace: str | None,
    namespace_file: bool,
    expected: str,
) -> None:
    if pod_namespace:
        monkeypatch.setenv("POD_NAMESPACE", pod_namespace)
    if not namespace_file:
        (service_account / "namespace").unlink()
    assert in_cluster_config(namespace=override, service_account_dir=service_account).namespace == expected


def test_in_cluster_token_rotation_is_picked_up_on_refresh(service_account: Path) -> None:
    credentials = in_cluster_config(service_account_dir=service_account).credentials
    (service_account / "token").write_text("sa-token-2\n")
    assert credentials.refresh() is True
    assert credentials.headers() == {"Authorization": "Bearer sa-token-2"}


def test_in_cluster_needs_both_env_vars(service_account: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT")
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_PORT"):
        in_cluster_config(service_account_dir=service_account)


def test_in_cluster_needs_the_token_file(service_account: Path) -> None:
    (service_account / "token").unlink()
    with pytest.raises(ConfigError, match="cannot read") as caught:
        in_cluster_config(service_account_dir=service_account)
    assert caught.value.path == str(service_account / "token")


def test_in_cluster_without_ca_uses_system_cas_and_says_so(
    service_account: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (service_account / "ca.crt").unlink()
    assert in_cluster_config(service_account_dir=service_account).ca_data is None
    assert "ca.crt" in caplog.text


# --- from_url ----------------------------------------------------------------------------------


def test_from_url_with_token_and_ca_file(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(CERT_PEM)
    config = Config.from_url("https://h:6443/", token="abc", ca=tmp_path / "ca.crt", namespace="ns")
    assert (config.server, config.namespace, config.source, config.ca_data) == ("https://h:6443", "ns", "url", CERT_PEM)
    assert config.credentials.headers() == {"Authorization": "Bearer abc"}
    assert isinstance(config.credentials, TokenCredentials)


def test_from_url_with_client_certificate_bytes_defaults_a_bare_host_to_https() -> None:
    config = Config.from_url("h:6443", client_certificate=CERT_PEM, client_key=KEY_PEM)
    assert config.server == "https://h:6443"
    assert isinstance(config.credentials, ClientCertificateCredentials)
    assert config.credentials.client_certificate() == (CERT_PEM, KEY_PEM)


def test_from_url_without_credentials_is_anonymous() -> None:
    config = Config.from_url("https://h", insecure_skip_tls_verify=True)
    assert config.credentials.headers() == {} and config.insecure_skip_tls_verify


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        pytest.param(
            {"ca": CERT_PEM, "insecure_skip_tls_verify": True}, "insecure_skip_tls_verify", id="insecure-with-ca"
        ),
        pytest.param({"client_certificate": CERT_PEM}, "client_key", id="cert-without-key"),
        pytest.param({"ca": b"not pem"}, "ca", id="ca-not-pem"),
        pytest.param({"ca": "/no/such/ca.crt"}, "ca", id="missing-ca-file"),
    ],
)
def test_from_url_bad_arguments(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_url("https://h", **kwargs)
    assert caught.value.key == key and key in str(caught.value)


def test_from_url_refuses_credentials_in_the_url() -> None:
    with pytest.raises(ConfigError, match="must not hold credentials") as caught:
        Config.from_url("https://admin:hunter2@h")
    assert "hunter2" not in str(caught.value)


CERTIFICATE = {"client-certificate-data": base64.b64encode(CERT_PEM).decode(),
               "client-key-data": base64.b64encode(KEY_PEM).decode()}
EXEC = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "true", "interactiveMode": "Never"}}


@pytest.mark.parametrize(("user", "blocks"), [
    ({}, False),
    ({"token": "static"}, False),
    ({"username": "u", "password": "p"}, False),
    (CERTIFICATE, False),
    ({**CERTIFICATE, "token": "static", "as": "someone", "as-groups": ["g"]}, False),
    ({"tokenFile": "token"}, True),
    ({**CERTIFICATE, "tokenFile": "token"}, True),
    (EXEC, True),
])
def test_may_block_tells_the_credentials_read_without_waiting(tmp_path: Path, user: dict[str, Any],
                                                              blocks: bool) -> None:
    (tmp_path / "token").write_text("from-file")
    credentials = load_kubeconfig(user_kubeconfig(tmp_path / "config", user)).credentials
    assert credentials_module.may_block(credentials) is blocks


def test_credentials_unknown_to_dynkube_may_block() -> None:
    class Custom:
        def headers(self) -> dict[str, str]:
            return {}

        def client_certificate(self) -> tuple[bytes, bytes] | None:
            return None

        def refresh(self) -> bool:
            return False

    assert credentials_module.may_block(Custom()) is True
