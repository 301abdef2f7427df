"""KubeconfigFiles on files of every layout: each edit changes only what was asked, in the file kubectl
would change, and reads back as intended (the behaviour beside kubectl is in tests/integration/test_cli_config.py)."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
import yaml

import dynkube
from dynkube.kubeconfig_edit import KubeconfigFiles

BASE = """\
apiVersion: v1
kind: Config  # a comment
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
users:
- name: u1
  user:
    token: t0ken
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_namespace_is_added_after_a_nested_last_field(tmp_path: Path) -> None:
    path = write(tmp_path / "config", BASE + "contexts:\n- name: x\n  context:\n    cluster: c1\n    extensions:\n"
                 "    - name: e\n      extension: {a: 1}\n# end\n")
    KubeconfigFiles.load(path).set_context("x", namespace="web")
    assert path.read_text() == BASE + ("contexts:\n- name: x\n  context:\n    cluster: c1\n    extensions:\n"
                                       "    - name: e\n      extension: {a: 1}\n    namespace: web\n# end\n")


def test_a_flow_mapping_gets_the_field_inside_its_braces(tmp_path: Path) -> None:
    path = write(tmp_path / "config", BASE + "contexts:\n- {name: x, context: {cluster: c1}}  # flow\n")
    KubeconfigFiles.load(path).set_context("x", namespace="web", user="u1")
    expected = "contexts:\n- {name: x, context: {cluster: c1, user: u1, namespace: web}}  # flow\n"
    assert path.read_text() == BASE + expected


def test_a_quoted_value_is_replaced_quoted(tmp_path: Path) -> None:
    path = write(tmp_path / "config", BASE + "contexts:\n- name: x\n  context:\n    namespace: 'old'  # keep me\n")
    KubeconfigFiles.load(path).set_context("x", namespace="new")
    assert path.read_text().endswith('    namespace: "new"  # keep me\n')


def test_a_json_file_gets_json(tmp_path: Path) -> None:
    document = {"apiVersion": "v1", "kind": "Config", "contexts": [{"name": "x", "context": {"cluster": "c1"}}]}
    path = write(tmp_path / "config", json.dumps(document, indent=2))
    files = KubeconfigFiles.load(path)
    files.set_context("x", namespace="web")
    files.set_context("y", cluster="c1")
    files.use_context("y")
    assert json.loads(path.read_text()) == {**document, "current-context": "y", "contexts": [
        {"name": "x", "context": {"cluster": "c1", "namespace": "web"}}, {"context": {"cluster": "c1"}, "name": "y"}]}


@pytest.mark.parametrize("section", ["", "contexts:\n", "contexts: []\n"])
def test_a_first_context_is_added_to_a_missing_or_empty_section(tmp_path: Path, section: str) -> None:
    path = write(tmp_path / "config", BASE + section + "# end\n")
    assert KubeconfigFiles.load(path).set_context("new", cluster="c1", user="u1") is True
    document = yaml.safe_load(path.read_text())
    assert document["contexts"] == [{"name": "new", "context": {"cluster": "c1", "user": "u1"}}]
    assert path.read_text().startswith(BASE) and "# end\n" in path.read_text()


def test_an_empty_file_becomes_a_kubeconfig(tmp_path: Path) -> None:
    path = write(tmp_path / "config", "")
    KubeconfigFiles.load(path).set_context("new", cluster="c1")
    assert yaml.safe_load(path.read_text()) == {"apiVersion": "v1", "kind": "Config",
                                                "contexts": [{"context": {"cluster": "c1"}, "name": "new"}]}


def test_a_layout_the_splice_cannot_handle_is_rewritten_whole(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "config", BASE + "contexts:\n- name: x\n  context: &shared {cluster: c1}\n"
                 "- name: y\n  context: *shared\n")
    with caplog.at_level(logging.WARNING, "dynkube"):
        KubeconfigFiles.load(path).set_context("y", namespace="web")
    assert "rewriting the whole file" in caplog.text
    contexts = {c["name"]: c["context"] for c in yaml.safe_load(path.read_text())["contexts"]}
    assert contexts == {"x": {"cluster": "c1"}, "y": {"cluster": "c1", "namespace": "web"}}


def test_writes_go_through_a_symlink_and_keep_the_mode(tmp_path: Path) -> None:
    target = write(tmp_path / "real-config", BASE + "contexts:\n- name: x\n  context: {cluster: c1}\n")
    os.chmod(target, 0o640)
    link = tmp_path / "config"
    link.symlink_to(target)
    KubeconfigFiles.load(link).use_context("x")
    assert link.is_symlink() and target.read_text().endswith("current-context: x\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "real-config"]


def test_kubeconfig_list_chooses_files_as_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "missing", write(tmp_path / "b", BASE + "contexts:\n- name: x\n  context: {}\n")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(second), str(second)]))
    files = KubeconfigFiles.load()
    assert files.paths == [str(first), str(second)] and files.files == [str(second)]
    assert files.default_file == str(second)  # the first that exists
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(tmp_path / "other")]))
    assert KubeconfigFiles.load().default_file == str(tmp_path / "other")  # none exists: the last


def test_view_redacts_secrets_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path / "config", BASE.replace("token: t0ken", "token: t0ken\n    password: pw\n"
                                                   "    auth-provider:\n      name: oidc\n      config:\n"
                                                   "        id-token: idt\n        client-id: cid"))
    shown = KubeconfigFiles.load(path).view()
    user = shown["users"][0]["user"]
    assert (user["token"], user["password"], user["auth-provider"]["config"]) == \
        ("REDACTED", "REDACTED", {"id-token": "REDACTED", "client-id": "cid"})
    assert KubeconfigFiles.load(path).view(raw=True)["users"][0]["user"]["token"] == "t0ken"


def test_bad_input_is_refused_before_writing(tmp_path: Path) -> None:
    path = write(tmp_path / "config", BASE + "contexts:\n- name: x\n  context: {cluster: c1}\n")
    files = KubeconfigFiles.load(path)
    with pytest.raises(dynkube.ConfigError, match='no context exists with the name: "nope"'):
        files.use_context("nope")
    with pytest.raises(dynkube.InvalidInput, match="context namespace must be a string"):
        files.set_context("x", namespace=3)  # type: ignore[arg-type]
    with pytest.raises(dynkube.InvalidInput, match="a context name is needed"):
        files.set_context("")
    with pytest.raises(dynkube.ConfigError, match="current-context must exist in order to minify"):
        files.view(minify=True)
    with pytest.raises(dynkube.ConfigError, match="does not exist"):
        KubeconfigFiles.load(tmp_path / "absent")
    assert path.read_text() == BASE + "contexts:\n- name: x\n  context: {cluster: c1}\n"
