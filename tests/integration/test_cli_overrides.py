"""kubectl's global connection flags (``--server``, ``--token``, ``--user``, ``--as``, ...) over the kubeconfig,
each checked by asking the real server who we are, beside kubectl with the same flags."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import dynkube

from ..support.waiting import until
from .test_auth import grant_configmap_listing
from .test_cli import Run, cli, one_error_line  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def parts(kubeconfig_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The test cluster's server, and its CA, admin certificate and key as files."""
    config = yaml.safe_load(kubeconfig_path.read_text())
    directory = tmp_path_factory.mktemp("parts")
    cluster = config["clusters"][0]["cluster"]
    user = next(u["user"] for u in config["users"] if u["name"] == "admin-cert")
    found = {"server": cluster["server"]}
    for name, data in (("ca", cluster["certificate-authority-data"]), ("cert", user["client-certificate-data"]),
                       ("key", user["client-key-data"])):
        (directory / name).write_bytes(base64.b64decode(data))
        found[name] = str(directory / name)
    return found


def kubectl_run(kubeconfig: Path | None, *argv: str) -> Run:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig) if kubeconfig else "/nonexistent/kubeconfig"}
    done = subprocess.run(["kubectl", *argv], capture_output=True, text=True, timeout=60, env=env)
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("flags", [
    ["--user", "admin-token"],
    ["--context", "envtest-nobody", "--user", "admin-token"],
    ["--cluster", "envtest", "--user", "admin-cert"],
    ["--as", "someone", "--as-group", "team", "--as-uid", "u-1"],
    ["--as", "José", "--as-group", "日本", "--as-group", "é"],  # UTF-8 on the wire, as Go sends it
    ["--context", "envtest-token", "--token", "envtest-nobody-token"],
])
def test_flags_over_the_kubeconfig_are_kubectls(cli: Callable[..., Run], kubeconfig_path: Path,
                                                flags: list[str]) -> None:
    ours = cli(*flags, "auth", "whoami")
    theirs = kubectl_run(kubeconfig_path, *flags, "auth", "whoami")
    assert (ours.code, ours.out) == (theirs.code, theirs.out), ours.err


def test_server_and_token_without_any_kubeconfig(cli: Callable[..., Run], parts: dict[str, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    flags = ["--server", parts["server"], "--token", "envtest-admin-token", "--certificate-authority", parts["ca"]]
    ours = cli(*flags, "auth", "whoami", kubeconfig=None)
    assert ours.code == 0, ours.err
    assert ours.out == kubectl_run(None, *flags, "auth", "whoami").out
    assert "admin-uid" in ours.out


def test_client_certificate_flags(cli: Callable[..., Run], parts: dict[str, str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    flags = ["--server", parts["server"], "--certificate-authority", parts["ca"], "--client-certificate",
             parts["cert"], "--client-key", parts["key"]]
    ours = cli(*flags, "auth", "whoami", kubeconfig=None)
    assert ours.code == 0, ours.err
    assert ours.out.splitlines()[1].split() == ["Username", "admin"]


def test_tls_server_name_and_insecure(cli: Callable[..., Run], kubeconfig_path: Path, parts: dict[str, str]) -> None:
    other_name = parts["server"].replace("127.0.0.1", "127.1")  # an address the certificate does not name
    refused = cli("--server", other_name, "get", "--raw", "/livez")
    assert refused.code == 1 and "cannot verify the TLS certificate" in one_error_line(refused)
    named = cli("--server", other_name, "--tls-server-name", "envtest.dynkube.local", "get", "--raw", "/livez")
    assert (named.code, named.out) == (0, "ok"), named.err
    insecure = cli("--server", other_name, "--insecure-skip-tls-verify", "get", "--raw", "/livez")
    assert (insecure.code, insecure.out) == (0, "ok"), insecure.err


@pytest.mark.parametrize("flag, verified", [
    ("--insecure-skip-tls-verify=false", True), ("--insecure-skip-tls-verify=0", True),
    ("--insecure-skip-tls-verify=true", False), ("--insecure-skip-tls-verify=T", False),
    ("--insecure-skip-tls-verify", False)])
def test_insecure_skip_tls_verify_false_leaves_verification_on(cli: Callable[..., Run], parts: dict[str, str],
                                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               flag: str, verified: bool) -> None:
    """No CA given, so only a verification that is off lets the request through, as with kubectl."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    argv = ["--server", parts["server"], "--token", "envtest-admin-token", flag, "get", "--raw", "/livez"]
    ours, theirs = cli(*argv, kubeconfig=None), kubectl_run(tmp_path / "none", *argv)
    assert (ours.code, ours.out) == (theirs.code, theirs.out) == ((1, "") if verified else (0, "ok")), ours.err
    if verified:  # after the warning that $KUBECONFIG names no file
        assert "cannot verify the TLS certificate" in ours.err.splitlines()[-1]


@pytest.mark.parametrize("kubeconfig", [True, False])
def test_a_ca_and_no_verification_are_refused_together(cli: Callable[..., Run], kubeconfig_path: Path,
                                                      parts: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path, kubeconfig: bool) -> None:
    flags = ["--certificate-authority", parts["ca"], "--insecure-skip-tls-verify", "get", "--raw", "/livez"]
    if not kubeconfig:
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
        flags = ["--server", parts["server"], "--token", "envtest-admin-token", *flags]
    ours = cli(*flags, kubeconfig=kubeconfig_path if kubeconfig else None)
    theirs = kubectl_run(kubeconfig_path if kubeconfig else tmp_path / "none", *flags)
    assert ours.code == theirs.code == 1 and ours.out == theirs.out == ""
    assert "cannot be combined with" in ours.err.splitlines()[-1] and "Traceback" not in ours.err


def test_a_token_given_on_the_command_line_is_never_shown(cli: Callable[..., Run], kubeconfig_path: Path) -> None:
    secret = "not-a-valid-token-but-secret"
    for argv in (["--context", "envtest-token", "--token", secret, "-v", "9", "get", "cm"],
                 ["--context", "envtest-token", f"--token={secret}", "--debug", "get", "cm"],
                 ["--token", secret, "--server", "https://127.0.0.1:1", "get", "cm"]):
        run = cli(*argv)
        assert run.code == 1
        assert secret not in run.err and secret not in run.out
    assert "<redacted>" in repr(dynkube.Overrides(token=secret)) and secret not in repr(dynkube.Overrides(token=secret))


def test_an_impersonation_the_server_refuses_is_one_line(cli: Callable[..., Run], kubeconfig_path: Path) -> None:
    ours = cli("--context", "envtest-nobody", "--as", "admin", "get", "cm")
    theirs = kubectl_run(kubeconfig_path, "--context", "envtest-nobody", "--as", "admin", "get", "cm")
    assert ours.code == theirs.code == 1
    assert one_error_line(ours).startswith('Error from server (Forbidden): configmaps is forbidden: User "nobody" '
                                           "cannot impersonate")
    assert "Forbidden" in theirs.err


def test_unknown_user_or_cluster_entry_names_it(cli: Callable[..., Run]) -> None:
    for flag, kind in (("--user", "user"), ("--cluster", "cluster")):
        run = cli(flag, "nope", "get", "cm")
        assert run.code == 1 and f"{kind} 'nope' is not defined" in one_error_line(run)


def test_several_as_groups_are_kubectls(cli: Callable[..., Run], kubeconfig_path: Path, client: dynkube.Client,
                                       namespace: str) -> None:
    first, second = f"first-{namespace}", f"second-{namespace}"
    grant_configmap_listing(client, namespace, second)
    flags = ["--as", "alice", "--as-group", first, "--as-group", second]
    ours, theirs = cli(*flags, "auth", "whoami"), kubectl_run(kubeconfig_path, *flags, "auth", "whoami")
    assert (ours.code, ours.out) == (theirs.code, theirs.out), ours.err
    assert f"[{first} {second} system:authenticated]" in ours.out
    until(lambda: cli(*flags, "get", "cm", "-n", namespace).code == 0, "the RoleBinding to the second group to work")
    assert kubectl_run(kubeconfig_path, *flags, "get", "cm", "-n", namespace).code == 0
    assert cli("--as", "alice", "--as-group", first, "get", "cm", "-n", namespace).code == 1  # the second's alone
    joined = ["--as", "alice", "--as-group", f"{first},{second}", "auth", "whoami"]  # one group with a comma
    assert cli(*joined).out == kubectl_run(kubeconfig_path, *joined).out
