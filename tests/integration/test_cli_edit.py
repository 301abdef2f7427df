"""``dynkube edit`` with a scripted editor (a real process run as $KUBE_EDITOR), beside ``kubectl edit`` with
the same editor on the same server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dynkube

from ..conftest import ROOT
from .test_cli import Run, cli, one_error_line  # noqa: F401  (fixtures)

EDITOR = f"{sys.executable} {ROOT / 'tests' / 'data' / 'editor.py'}"
HEADER = "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"


class Editing:
    """Runs ``edit`` by dynkube (in-process) or kubectl with a script of editor steps; keeps the buffers."""

    def __init__(self, cli: Callable[..., Run], kubeconfig: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cli, self.kubeconfig, self.root, self.monkeypatch = cli, kubeconfig, root, monkeypatch
        self.runs = 0

    def _state(self, steps: list[dict[str, Any]]) -> Path:
        self.runs += 1
        state = self.root / f"edit-{self.runs}"
        state.mkdir()
        self.monkeypatch.setenv("KUBE_EDITOR", EDITOR)
        self.monkeypatch.setenv("EDIT_STATE", str(state))
        self.monkeypatch.setenv("EDIT_STEPS", json.dumps(steps))
        return state

    def ours(self, steps: list[dict[str, Any]], *argv: str) -> tuple[Run, list[str]]:
        state = self._state(steps)
        run = self.cli("edit", *argv)
        return run, [p.read_text() for p in sorted(state.glob("buffer-*"))]

    def theirs(self, steps: list[dict[str, Any]], *argv: str) -> tuple[Run, list[str]]:
        state = self._state(steps)
        done = subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), "edit", *argv], capture_output=True,
                              text=True, timeout=60, env=dict(os.environ))
        return Run(done.returncode, done.stdout, done.stderr), [p.read_text() for p in sorted(state.glob("buffer-*"))]


@pytest.fixture
def editing(cli: Callable[..., Run], kubeconfig_path: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Editing:
    return Editing(cli, kubeconfig_path, tmp_path, monkeypatch)


@pytest.fixture
def two_configmaps(client: dynkube.Client, namespace: str) -> dynkube.ResourceClient:
    cms = client.resource("configmaps")
    for name in ("ours", "theirs"):
        cms.create({"metadata": {"name": name}, "data": {"k": "v"}}, namespace)
    return cms


def test_edit_saves_the_change_like_kubectl(editing: Editing, two_configmaps: dynkube.ResourceClient,
                                            namespace: str) -> None:
    step = [{"replace": ["  k: v\n", "  k: edited\n"]}]
    ours, buffers = editing.ours(step, "configmap", "ours", "-n", namespace)
    theirs, their_buffers = editing.theirs(step, "configmap", "theirs", "-n", namespace)
    assert (ours.code, ours.out) == (0, "configmap/ours edited\n"), ours.err
    assert (theirs.code, theirs.out) == (0, "configmap/theirs edited\n")
    assert two_configmaps.get("ours", namespace)["data"] == two_configmaps.get("theirs", namespace)["data"] == \
        {"k": "edited"}
    assert buffers[0].startswith(HEADER) and buffers[0].split("#\n", 1)[0] == their_buffers[0].split("#\n", 1)[0]
    assert "managedFields" not in buffers[0] and "managedFields" not in their_buffers[0]


def test_an_unchanged_buffer_sends_nothing(editing: Editing, two_configmaps: dynkube.ResourceClient,
                                          namespace: str) -> None:
    before = two_configmaps.get("ours", namespace).metadata.resourceVersion
    ours, _ = editing.ours([{}], "cm/ours", "-n", namespace)
    theirs, _ = editing.theirs([{}], "cm/theirs", "-n", namespace)
    assert (ours.code, ours.out, ours.err) == (theirs.code, theirs.out, theirs.err) == \
        (0, "", "Edit cancelled, no changes made.\n")
    assert two_configmaps.get("ours", namespace).metadata.resourceVersion == before


@pytest.mark.parametrize("text", ["", "# only comments\n", "\n  \n"])
def test_an_empty_buffer_aborts_the_edit(editing: Editing, two_configmaps: dynkube.ResourceClient,
                                         namespace: str, text: str) -> None:
    """As the buffer's header says (kubectl 1.32 reports it as an invalid object instead, and re-opens it)."""
    before = two_configmaps.get("ours", namespace).metadata.resourceVersion
    ours, _ = editing.ours([{"write": text}], "cm/ours", "-n", namespace)
    assert (ours.code, ours.out, ours.err) == (0, "", "Edit cancelled, no changes made.\n")
    assert two_configmaps.get("ours", namespace).metadata.resourceVersion == before


def test_a_rejected_edit_reopens_with_the_error_at_the_top(editing: Editing, two_configmaps: dynkube.ResourceClient,
                                                          namespace: str) -> None:
    bad = {"replace": ["metadata:\n", "metadata:\n  labels:\n    'bad key!': x\n"]}
    fix = {"replace": ["'bad key!': x", "good: x"]}
    ours, buffers = editing.ours([bad, fix], "configmap", "ours", "-n", namespace)
    assert (ours.code, ours.out) == (0, "configmap/ours edited\n"), ours.err
    assert two_configmaps.get("ours", namespace).metadata.labels == {"good": "x"}
    theirs, their_buffers = editing.theirs([bad, {"exit": 1}], "configmap", "theirs", "-n", namespace)
    error_lines = [line for line in buffers[1].splitlines() if line.startswith("# ") and "valid" in line]
    assert error_lines == [line.replace("theirs", "ours") for line in their_buffers[1].splitlines()
                           if line.startswith("# ") and "valid" in line]
    assert error_lines[0] == '# configmaps "ours" was not valid:' and len(error_lines) == 2
    assert "'bad key!': x" in buffers[1]


def test_saving_a_rejected_edit_again_gives_up_and_keeps_a_copy(editing: Editing, namespace: str,
                                                                two_configmaps: dynkube.ResourceClient) -> None:
    bad = {"replace": ["metadata:\n", "metadata:\n  labels:\n    'bad key!': x\n"]}
    ours, _ = editing.ours([bad, {}], "configmap", "ours", "-n", namespace)
    assert ours.code == 1
    assert ours.err.splitlines()[-1] == "error: Edit cancelled, no valid changes were saved."
    copy = Path(ours.err.split('"')[1])
    assert "'bad key!': x" in copy.read_text() and copy.stat().st_mode & 0o077 == 0  # private: Secrets too
    copy.unlink()
    assert two_configmaps.get("ours", namespace).metadata.get("labels") is None


def test_a_syntax_error_reopens_the_buffer(editing: Editing, two_configmaps: dynkube.ResourceClient,
                                           namespace: str) -> None:
    ours, buffers = editing.ours([{"replace": ["  k: v\n", "  k: [unclosed\n"]},
                                  {"replace": ["  k: [unclosed\n", "  k: fixed\n"]}], "cm", "ours", "-n", namespace)
    assert ours.code == 0, ours.err
    assert "# The edited file had a syntax error: invalid YAML" in buffers[1]
    assert two_configmaps.get("ours", namespace)["data"] == {"k": "fixed"}


def test_a_failing_editor_changes_nothing(editing: Editing, two_configmaps: dynkube.ResourceClient,
                                          namespace: str) -> None:
    ours, _ = editing.ours([{"replace": ["  k: v\n", "  k: lost\n"], "exit": 3}], "cm", "ours", "-n", namespace)
    theirs, _ = editing.theirs([{"exit": 3}], "cm", "theirs", "-n", namespace)
    assert ours.code == theirs.code == 1
    assert one_error_line(ours).startswith("error: there was a problem with the editor ")
    assert "exited with status 3" in ours.err
    assert two_configmaps.get("ours", namespace)["data"] == {"k": "v"}


def test_a_change_made_meanwhile_is_a_conflict_not_overwritten(editing: Editing, kubeconfig_path: Path,
                                                               two_configmaps: dynkube.ResourceClient,
                                                               namespace: str) -> None:
    meanwhile = ["kubectl", "--kubeconfig", str(kubeconfig_path), "-n", namespace, "patch", "configmap", "ours",
                 "--type=merge", "-p", '{"data":{"k":"theirs"}}']
    ours, _ = editing.ours([{"run": meanwhile, "replace": ["  k: v\n", "  k: mine\n"]}], "cm", "ours",
                           "-n", namespace)
    assert ours.code == 1
    line = one_error_line(ours)
    assert "was changed on the server since the editor opened it" in line
    copy = Path(line.split(" your version is in ")[1].split(":")[0])
    assert "k: mine" in copy.read_text()
    copy.unlink()
    assert two_configmaps.get("ours", namespace)["data"] == {"k": "theirs"}


def test_edit_works_on_a_custom_kind(editing: Editing, client: dynkube.Client, namespace: str,
                                     gizmo_crds: None) -> None:
    client.resource("gizmos").create({"metadata": {"name": "g"}, "spec": {"size": "small"}}, namespace)
    ours, _ = editing.ours([{"replace": ['"size": "small"', '"size": "large"']}], "gizmo/g", "-n", namespace,
                           "-o", "json")
    assert ours.out == "gizmo.fixtures.dynkube.io/g edited\n", ours.err
    assert client.resource("gizmos").get("g", namespace).spec.size == "large"


@pytest.mark.parametrize("argv", [["cm"], ["cm", "a", "b"], ["cm/a", "b"]])
def test_edit_takes_one_object(cli: Callable[..., Run], argv: list[str]) -> None:
    run = cli("edit", *argv)
    assert run.code == 2 and one_error_line(run).startswith("error: edit takes one object")
