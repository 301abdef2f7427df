"""``dynkube create`` beside ``kubectl create`` on the same server: the same objects made, the same lines."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import dynkube

from .test_cli import Run, cli, kubectl, one_error_line  # noqa: F401  (fixtures)
from ..support.credentials import StaticToken


def test_create_f_posts_each_object_and_reports_existing_ones(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                             namespace: str, tmp_path: Path, gizmo_crds: None,
                                                             client: dynkube.Client) -> None:
    manifest = tmp_path / "two.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\n"
                        "apiVersion: fixtures.dynkube.io/v1\nkind: Gizmo\nmetadata: {name: g}\nspec: {size: small}\n")
    made = cli("create", "-n", namespace, "-f", str(manifest))
    assert made.code == 0, made.err
    assert made.out.splitlines() == ["configmap/one created", "gizmo.fixtures.dynkube.io/g created"]
    client.resource("configmaps").delete("one", namespace)
    again = cli("create", "-n", namespace, "-f", str(manifest))
    assert again.code == 1
    assert again.out == "configmap/one created\n"  # the other object is still created
    assert one_error_line(again) == (f'Error from server (AlreadyExists): error when creating {manifest} document 2: '
                                     'gizmos.fixtures.dynkube.io "g" already exists')
    client.resource("configmaps").delete("one", namespace)
    client.resource("gizmos").delete("g", namespace)
    assert kubectl("create", "-n", namespace, "-f", str(manifest)) == made.out


def test_create_f_output_and_dry_run(cli: Callable[..., Run], namespace: str, tmp_path: Path,
                                     client: dynkube.Client) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\ndata: {k: v}\n")
    server = cli("create", "-n", namespace, "-f", str(manifest), "--dry-run=server")
    assert server.out == "configmap/dry created (server dry run)\n", server.err
    local = cli("create", "-n", namespace, "-f", str(manifest), "--dry-run=client", "-o", "name")
    assert local.out == "configmap/dry\n"
    assert not list(client.resource("configmaps").list(namespace, field_selector="metadata.name=dry"))
    shown = cli("create", "-n", namespace, "-f", str(manifest), "-o", "yaml")
    assert shown.code == 0 and "uid: " in shown.out and "  k: v\n" in shown.out


# ---- the generators: create namespace|configmap|secret ...|serviceaccount|token ----------------------

def without_noise(text: str) -> dict[str, object]:
    """A printed object without what kubectl's client dry run adds (creationTimestamp: null, empty spec/status)."""
    import yaml

    document = yaml.safe_load(text)
    document["metadata"].pop("creationTimestamp", None)
    for key in ("spec", "status"):
        if document.get(key) == {}:
            document.pop(key)
    return document


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A directory of files (text, binary, a subdirectory, which is skipped) and an env file."""
    files = tmp_path / "conf"
    (files / "sub").mkdir(parents=True)
    (files / "mode").write_text("fast")
    (files / "blob").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "app.env").write_text("# settings\nLEVEL=3\n\n  NAME=a b=c\nDYNKUBE_TEST_FROM_ENV\n")
    return tmp_path


@pytest.mark.parametrize("argv", [
    ["configmap", "web", "--from-literal=a=b=c", "--from-file=conf", "--from-file=renamed=app.env"],
    ["cm", "env", "--from-env-file=app.env"],
    ["secret", "generic", "db", "--from-literal=user=admin", "--from-file=conf/mode", "--type=example.com/x"],
    ["secret", "docker-registry", "pull", "--docker-username=u", "--docker-password=p", "--docker-email=e@x"],
    ["secret", "docker-registry", "pull", "--docker-server=r.example.com", "--docker-username=u",
     "--docker-password=p"],
    ["serviceaccount", "builder"],
    ["namespace", "made-here"],
])
def test_generators_build_kubectls_objects(cli: Callable[..., Run], kubectl: Callable[..., str], sources: Path,
                                           monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.chdir(sources)
    monkeypatch.setenv("DYNKUBE_TEST_FROM_ENV", "from the environment")
    for extra in ([], ["-n", "default"]):
        ours = cli("create", *argv, *extra, "--dry-run=client", "-o", "yaml")
        assert ours.code == 0, ours.err
        assert without_noise(ours.out) == without_noise(kubectl("create", *argv, *extra, "--dry-run=client",
                                                                "-o", "yaml"))


def test_generators_create_on_the_server(cli: Callable[..., Run], kubectl: Callable[..., str], sources: Path,
                                         namespace: str, client: dynkube.Client,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(sources)
    ours = cli("create", "configmap", "ours", "-n", namespace, "--from-file=conf")
    assert ours.out == "configmap/ours created\n", ours.err
    assert kubectl("create", "configmap", "theirs", "-n", namespace, "--from-file=conf") == \
        "configmap/theirs created\n"
    cms = client.resource("configmaps")
    mine, reference = cms.get("ours", namespace), cms.get("theirs", namespace)
    assert (mine["data"], mine["binaryData"]) == (reference["data"], reference["binaryData"])
    again = cli("create", "configmap", "ours", "-n", namespace, "--from-literal=a=b")
    assert again.code == 1
    assert one_error_line(again) == 'Error from server (AlreadyExists): configmaps "ours" already exists'


def test_secret_tls_from_a_real_pair(cli: Callable[..., Run], kubectl: Callable[..., str], tmp_path: Path,
                                     namespace: str) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=web", "-days", "1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    argv = ["create", "secret", "tls", "web", "-n", namespace, f"--cert={cert}", f"--key={key}"]
    ours = cli(*argv, "--dry-run=client", "-o", "yaml")
    assert without_noise(ours.out) == without_noise(kubectl(*argv, "--dry-run=client", "-o", "yaml"))
    assert cli(*argv).out == "secret/web created\n"
    other = tmp_path / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(other)], check=True, capture_output=True, timeout=60)
    mismatched = cli("create", "secret", "tls", "bad", "-n", namespace, f"--cert={cert}", f"--key={other}")
    assert mismatched.code == 1
    assert one_error_line(mismatched).startswith(f"error: --cert {cert} and --key {other} are not a certificate")


def test_create_token_is_a_token_of_the_service_account(cli: Callable[..., Run], namespace: str,
                                                        client: dynkube.Client) -> None:
    # the controller makes "default" shortly after the namespace
    dynkube.wait_for(client.resource("serviceaccounts"), "default", namespace, condition=lambda sa: True, timeout=30)
    made = cli("create", "token", "default", "-n", namespace, "--duration=10m")
    assert made.code == 0, made.err
    token = made.out.strip()
    config = client.config.replace(credentials=StaticToken(token), ca_data=client.config.ca_data)
    with dynkube.Client(config) as as_sa:
        assert dynkube.whoami(as_sa).username == f"system:serviceaccount:{namespace}:default"


@pytest.mark.parametrize("argv", [
    ["configmap", "x", "--from-literal=bad/key=1"],
    ["configmap", "x", "--from-literal=a=1", "--from-literal=a=2"],
    ["configmap", "x", "--from-env-file=bad.env"],
    ["configmap", "x", "--from-file=missing"],
    ["configmap", "x", "--from-file=."],  # holds "bad.env" and "not a key"
    ["configmap", "x", "--from-literal=novalue"],
    ["secret", "tls", "x", "--cert=missing.crt", "--key=missing.key"],
    ["secret", "docker-registry", "x"],
    ["token", "x", "--duration=soon"],
])
def test_bad_generator_input_is_one_line_and_sends_nothing(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           argv: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.env").write_text("export A=1\n")
    (tmp_path / "not a key").write_text("")
    run = cli("--kubeconfig", "/nonexistent/kubeconfig", "create", *argv)  # nothing may be sent (or loaded)
    assert run.code in (1, 2)
    assert one_error_line(run).startswith("error: ") and "kubeconfig" not in run.err


def test_documents_that_are_no_valid_object_are_reported_and_the_others_created(
        cli: Callable[..., Run], namespace: str, tmp_path: Path, client: dynkube.Client) -> None:
    manifest = tmp_path / "mixed.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n---\n"
                        "metadata: {name: kindless}\n---\n"
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [not, a, name]}\n---\n"
                        "key: [unclosed\n")
    run = cli("create", "-n", namespace, "-f", str(manifest))
    assert run.code == 1
    assert run.out == "configmap/good created\n"
    errors = run.err.splitlines()
    assert len(errors) == 3 and all(e.startswith(("error: ", "Error from server")) for e in errors), run.err
    assert all(f"{manifest} document" in e for e in errors)
    assert "Traceback" not in run.err
    assert client.resource("configmaps").get("good", namespace).metadata.name == "good"


@pytest.mark.parametrize("dry_run, line", [("--dry-run", "(dry run)"), ("--dry-run=client", "(dry run)"),
                                           ("--dry-run=server", "(server dry run)")])
def test_a_dry_run_given_before_the_kind_creates_nothing(cli: Callable[..., Run], client: dynkube.Client,
                                                        namespace: str, dry_run: str, line: str) -> None:
    run = cli("create", dry_run, "configmap", "probe", "-n", namespace)
    assert (run.code, run.out) == (0, f"configmap/probe created {line}\n"), run.err
    names = [cm.metadata.name for cm in client.resource("configmaps").list(namespace)]
    assert [n for n in names if n != "kube-root-ca.crt"] == []  # the controller adds that one when it gets to it
