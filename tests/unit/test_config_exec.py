"""Exec credential plugins, run for real: tests/data/exec_plugin.py in a subprocess."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import signal
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from dynkube import credentials as credentials_module
from dynkube.config import Config, load_kubeconfig
from dynkube.errors import ConfigError

PLUGIN = Path(__file__).resolve().parents[1] / "data" / "exec_plugin.py"
V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
CA_PEM = b"-----BEGIN CERTIFICATE-----\n" + base64.b64encode(b"ca-der" * 8) + b"\n-----END CERTIFICATE-----\n"


class Plugin:
    """Writes kubeconfigs that run the test plugin, and reads what it recorded."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.counter = directory / "runs"
        self.info = directory / "exec-info.json"

    def kubeconfig(
        self,
        name: str = "config",
        *,
        env: dict[str, str] | None = None,
        cluster: dict[str, Any] | None = None,
        user: dict[str, Any] | None = None,
        **exec_fields: Any,
    ) -> Path:
        plugin_env = {
            "EXEC_PLUGIN_COUNTER_FILE": str(self.counter),
            "EXEC_PLUGIN_INFO_FILE": str(self.info),
            **(env or {}),
        }
        exec_config = {
            "apiVersion": V1,
            "command": sys.executable,
            "args": [str(PLUGIN)],
            "interactiveMode": "Never",
            "env": [{"name": key, "value": value} for key, value in plugin_env.items()],
            **exec_fields,
        }
        doc = {
            "clusters": [{"name": "c", "cluster": {"server": "https://c.example:6443", **(cluster or {})}}],
            "users": [{"name": "u", "user": {"exec": exec_config, **(user or {})}}],
            "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "ctx",
        }
        path = self.directory / name
        path.write_text(yaml.safe_dump(doc))
        return path

    def load(self, **kwargs: Any) -> Config:
        return load_kubeconfig(self.kubeconfig(**kwargs))

    @property
    def runs(self) -> int:
        return len(self.counter.read_text().splitlines()) if self.counter.exists() else 0

    def exec_info(self) -> dict[str, Any]:
        return json.loads(self.info.read_text())


@pytest.fixture
def plugin(tmp_path: Path) -> Plugin:
    return Plugin(tmp_path)


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
def test_plugin_token_becomes_the_bearer_token(plugin: Plugin, api_version: str) -> None:
    config = plugin.load(apiVersion=api_version)
    assert config.credentials.headers() == {"Authorization": "Bearer exec-token-1"}
    assert config.credentials.client_certificate() is None
    assert plugin.exec_info() == {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input is not a terminal, even under pytest -s at a terminal."""
    monkeypatch.setattr(sys, "stdin", io.StringIO())


@pytest.mark.usefixtures("no_terminal")
def test_v1beta1_defaults_interactive_mode_to_if_available(plugin: Plugin) -> None:
    path = plugin.kubeconfig(apiVersion=V1BETA1)
    doc = yaml.safe_load(path.read_text())
    del doc["users"][0]["user"]["exec"]["interactiveMode"]
    path.write_text(yaml.safe_dump(doc))
    load_kubeconfig(path).credentials.headers()
    assert plugin.exec_info()["spec"]["interactive"] is False


@pytest.mark.usefixtures("no_terminal")
def test_interactive_mode_always_needs_a_terminal(plugin: Plugin) -> None:
    config = plugin.load(interactiveMode="Always")
    with pytest.raises(ConfigError, match="not a terminal") as caught:
        config.credentials.headers()
    assert caught.value.key == "users[u].user.exec.interactiveMode"


def test_plugin_is_not_run_until_credentials_are_needed(plugin: Plugin) -> None:
    plugin.load()
    assert plugin.runs == 0


def test_args_and_env_reach_the_plugin_on_top_of_the_parent_environment(
    plugin: Plugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXEC_PLUGIN_EXPIRY_SECONDS", "3600")  # from the parent environment
    config = plugin.load(args=[str(PLUGIN), "--token=from-args"])
    assert config.credentials.headers() == {"Authorization": "Bearer from-args"}
    assert plugin.runs == 1  # the counter file came from the exec env


def test_provide_cluster_info_passes_the_cluster(plugin: Plugin) -> None:
    cluster = {
        "server": "https://c.example:6443/prefix",
        "certificate-authority-data": base64.b64encode(CA_PEM).decode(),
        "tls-server-name": "kubernetes",
        "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "c1"}}],
    }
    plugin.load(cluster=cluster, provideClusterInfo=True).credentials.headers()
    assert plugin.exec_info()["spec"] == {
        "interactive": False,
        "cluster": {
            "server": "https://c.example:6443/prefix",
            "certificate-authority-data": base64.b64encode(CA_PEM).decode(),
            "tls-server-name": "kubernetes",
            "config": {"audience": "c1"},
        },
    }


def test_credentials_are_cached_until_they_expire(plugin: Plugin) -> None:
    credentials = plugin.load(env={"EXEC_PLUGIN_EXPIRY_SECONDS": "3600"}).credentials
    credentials.headers()
    credentials.headers()
    credentials.client_certificate()
    assert plugin.runs == 1


def test_expired_credentials_make_the_plugin_run_again(plugin: Plugin) -> None:
    credentials = plugin.load(env={"EXEC_PLUGIN_EXPIRY_SECONDS": "-5"}).credentials
    assert credentials.headers() == {"Authorization": "Bearer exec-token-1"}
    assert credentials.headers() == {"Authorization": "Bearer exec-token-2"}
    assert plugin.runs == 2


def test_an_already_expired_credential_runs_the_plugin_once_for_headers_and_certificate(plugin: Plugin) -> None:
    credentials = plugin.load(env={"EXEC_PLUGIN_EXPIRY_SECONDS": "-5"}).credentials
    for request in (1, 2):  # what the transport asks for each request
        assert credentials.headers() == {"Authorization": f"Bearer exec-token-{request}"}
        assert credentials.client_certificate() is None
        assert plugin.runs == request


def test_refresh_runs_the_plugin_once_more(plugin: Plugin) -> None:
    credentials = plugin.load().credentials
    credentials.headers()
    assert credentials.refresh() is True
    assert credentials.headers() == {"Authorization": "Bearer exec-token-2"}
    assert plugin.runs == 2


def test_refresh_after_another_thread_reran_the_plugin_does_not_run_it_again(plugin: Plugin) -> None:
    import threading

    credentials = plugin.load().credentials
    assert credentials.headers() == {"Authorization": "Bearer exec-token-1"}  # this thread's request
    other = threading.Thread(target=lambda: (credentials.headers(), credentials.refresh()))
    other.start()
    other.join()
    assert plugin.runs == 2  # the other thread's 401 re-ran it
    assert credentials.refresh() is True  # this thread's 401: exec-token-1 was replaced already
    assert plugin.runs == 2
    assert credentials.headers() == {"Authorization": "Bearer exec-token-2"}


def test_refresh_that_gets_the_same_token_says_a_retry_is_useless(plugin: Plugin) -> None:
    credentials = plugin.load(env={"EXEC_PLUGIN_TOKEN": "fixed"}).credentials
    credentials.headers()
    assert credentials.refresh() is False


def test_cache_is_shared_across_configs(plugin: Plugin) -> None:
    first, second = plugin.load(), plugin.load(name="copy")
    assert first.credentials.headers() == second.credentials.headers()
    assert plugin.runs == 1


def test_cache_is_per_cluster_when_the_plugin_is_told_the_cluster(plugin: Plugin) -> None:
    plugin.load(provideClusterInfo=True).credentials.headers()
    plugin.load(
        name="other", provideClusterInfo=True, cluster={"server": "https://other.example"}
    ).credentials.headers()
    assert plugin.runs == 2


def test_client_certificate_from_the_plugin(plugin: Plugin, tmp_path: Path) -> None:
    key = b"-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(b"key" * 10) + b"\n-----END PRIVATE KEY-----\n"
    (tmp_path / "c.crt").write_bytes(CA_PEM)
    (tmp_path / "c.key").write_bytes(key)
    env = {
        "EXEC_PLUGIN_TOKEN": "",
        "EXEC_PLUGIN_CERT_FILE": str(tmp_path / "c.crt"),
        "EXEC_PLUGIN_KEY_FILE": str(tmp_path / "c.key"),
    }
    credentials = plugin.load(env=env).credentials
    assert credentials.client_certificate() == (CA_PEM, key)
    assert credentials.headers() == {}


def test_relative_command_with_a_separator_resolves_against_the_kubeconfig(
    plugin: Plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapper = tmp_path / "bin" / "plugin"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{PLUGIN}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.chdir("/")
    config = plugin.load(command=os.path.join("bin", "plugin"), args=[])
    assert config.credentials.headers() == {"Authorization": "Bearer exec-token-1"}


def test_token_in_the_user_entry_disables_the_plugin(plugin: Plugin) -> None:
    config = plugin.load(user={"token": "static"})
    assert config.credentials.headers() == {"Authorization": "Bearer static"}
    assert plugin.runs == 0


def test_plugin_stderr_is_logged_on_success(plugin: Plugin, caplog: pytest.LogCaptureFixture) -> None:
    plugin.load(env={"EXEC_PLUGIN_STDERR": "using cached login"}).credentials.headers()
    assert "using cached login" in caplog.text
    assert "exec-token-1" not in caplog.text


def test_repr_names_the_command_and_source(plugin: Plugin) -> None:
    config = plugin.load()
    config.credentials.headers()
    source = f"{plugin.directory / 'config'}: user 'u' (context 'ctx')"
    assert repr(config.credentials) == f"ExecCredentials(command={sys.executable!r}, source={source})"
    assert "exec-token" not in repr(config)


# --- failures ----------------------------------------------------------------------------------


def failure(config: Config) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        config.credentials.headers()
    return caught.value


def assert_names_file_and_user(error: ConfigError, plugin: Plugin) -> None:
    assert error.path == str(plugin.directory / "config")
    assert str(plugin.directory / "config") in str(error) and "user 'u'" in str(error) and "context 'ctx'" in str(error)


def test_missing_command_shows_the_install_hint(plugin: Plugin) -> None:
    config = plugin.load(
        command="dynkube-no-such-plugin", installHint="\x1b[1mInstall it with: brew install no-such-plugin\x1b[0m"
    )
    error = failure(config)
    assert_names_file_and_user(error, plugin)
    assert "dynkube-no-such-plugin" in str(error) and "Install it with: brew install no-such-plugin" in str(error)
    assert "\x1b" not in str(error)
    assert error.key == "users[u].user.exec.command"


def test_non_zero_exit_shows_stderr_but_never_stdout(plugin: Plugin) -> None:
    error = failure(plugin.load(env={"EXEC_PLUGIN_MODE": "fail", "EXEC_PLUGIN_TOKEN": "leaked-secret"}))
    assert_names_file_and_user(error, plugin)
    assert "status 3" in str(error) and "could not log in" in str(error)
    assert "leaked-secret" not in str(error)


def test_garbage_output_is_an_error_that_does_not_quote_it(plugin: Plugin) -> None:
    error = failure(plugin.load(env={"EXEC_PLUGIN_MODE": "garbage", "EXEC_PLUGIN_TOKEN": "leaked-secret"}))
    assert_names_file_and_user(error, plugin)
    assert "not a JSON ExecCredential" in str(error) and "leaked-secret" not in str(error)


@pytest.mark.parametrize(
    ("mode", "words"), [("wrong-version", "another apiVersion"), ("no-status", "without a status")]
)
def test_wrong_shape_output_is_an_error(plugin: Plugin, mode: str, words: str) -> None:
    error = failure(plugin.load(env={"EXEC_PLUGIN_MODE": mode}))
    assert words in str(error)


def test_plugin_that_returns_nothing_usable_is_an_error(plugin: Plugin) -> None:
    error = failure(plugin.load(env={"EXEC_PLUGIN_TOKEN": ""}))
    assert "neither a token nor a client certificate" in str(error)


def test_hanging_plugin_is_killed_after_the_timeout(plugin: Plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials_module, "EXEC_TIMEOUT_SECONDS", 2.0)  # time to start on a loaded machine
    error = failure(plugin.load(env={"EXEC_PLUGIN_MODE": "hang", "EXEC_PLUGIN_STDERR": "waiting for the browser"}))
    assert_names_file_and_user(error, plugin)
    assert "did not finish within 2 s" in str(error) and "waiting for the browser" in str(error)


def _ended(pid: int) -> bool:
    """True when the process is gone or a zombie (killed, not yet reaped by its new parent). Without
    /proc, gone only: there the orphan's new parent (launchd) reaps it at once."""
    if not Path("/proc/self/stat").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat_line.rpartition(")")[2].split()[0] in ("Z", "X")


def _wait_ended(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not _ended(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_timeout_kills_the_processes_the_plugin_started(plugin: Plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = plugin.directory / "child.pid"
    config = plugin.load(env={"EXEC_PLUGIN_MODE": "hang-with-child", "EXEC_PLUGIN_CHILD_PID_FILE": str(pid_file)})
    for seconds in (1.0, 2.0, 4.0, 8.0, 16.0):  # longer each time, until the plugin had time to start its child
        monkeypatch.setattr(credentials_module, "EXEC_TIMEOUT_SECONDS", seconds)
        assert "did not finish" in str(failure(config))
        if pid_file.exists():
            break
    child = int(pid_file.read_text())
    try:
        assert _wait_ended(child, 10.0), "the plugin's child outlived the plugin's timeout"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_failing_plugin_on_refresh_raises(plugin: Plugin) -> None:
    credentials = plugin.load(env={"EXEC_PLUGIN_MODE": "fail"}).credentials
    with pytest.raises(ConfigError, match="status 3"):
        credentials.refresh()
