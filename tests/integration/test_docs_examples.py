"""The runnable examples of docs/ work against the real server (each is run as a user would run it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import dynkube

from ..conftest import ROOT, fresh_namespace
from ..faults.watchkit import wait_for

EXAMPLES = ROOT / "docs" / "examples"


def test_explore_and_validate_example(kubeconfig_path: Path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "explore_and_validate.py"), str(kubeconfig_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "KIND:       Pipeline\nVERSION:    v1\n\nFIELD: stages <[]Object>\n" in out  # kubectl explain's layout
    assert "  name\t<string> -required-\n    The stage's name.\n" in out
    assert "spec requires ('stages',) and takes ['retries <integer>', 'stages <[]Object>', 'trigger <string>']" in out
    assert [line.strip() for line in out.splitlines() if line.startswith("  problem:")] == [
        "problem: spec.retries: '3' is not of type 'integer'",
        "problem: spec.stages[1].name: Required value",
        'problem: spec.stages[1].nmae: unknown field "nmae"; did you mean "name"?',
        "problem: spec.trigger: 'nightly' is not one of ['push', 'tag', 'manual']",
    ]
    assert "not sent: 4 issues" in out
    assert out.rstrip().endswith("created pipeline/ci with 2 stages")


@pytest.fixture
def target_namespace(client: dynkube.Client) -> Iterator[str]:
    """A second fresh namespace, for the copies the controller makes."""
    with fresh_namespace(client) as name:
        yield name


def copy_of(configmaps: dynkube.ResourceClient, name: str, namespace: str) -> dict[str, str] | None:
    try:
        return configmaps.get(name, namespace).get("data") or {}
    except dynkube.NotFound:
        return None


def test_controller_example_replicates_configmaps(client: dynkube.Client, kubeconfig_path: Path, namespace: str,
                                                  target_namespace: str) -> None:
    configmaps = client.resource("configmaps")
    replicated = {"metadata": {"name": "settings", "labels": {"dynkube.io/replicate": "true"}}, "data": {"a": "1"}}
    configmaps.create(replicated, namespace)
    configmaps.create({"metadata": {"name": "private"}, "data": {"b": "2"}}, namespace)
    controller = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "controller.py"), "--source", namespace, "--target", target_namespace,
         "--kubeconfig", str(kubeconfig_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        wait_for(lambda: copy_of(configmaps, "settings", target_namespace) == {"a": "1"}, what="the first copy")
        configmaps.patch("settings", {"data": {"a": "2"}}, namespace)
        wait_for(lambda: copy_of(configmaps, "settings", target_namespace) == {"a": "2"}, what="the update")
        configmaps.delete("settings", namespace)
        wait_for(lambda: copy_of(configmaps, "settings", target_namespace) is None, what="the copy's deletion")
        assert copy_of(configmaps, "private", target_namespace) is None
    finally:
        controller.send_signal(signal.SIGTERM)
        output, _ = controller.communicate(timeout=30)
    assert controller.returncode == 0, output
    assert "stopped" in output


def test_async_inventory_example(kubeconfig_path: Path, namespace: str) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "async_inventory.py"), str(kubeconfig_path), namespace],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = dict(line.split() for line in done.stdout.splitlines()[:5])
    assert set(counts) == {"namespaces", "configmaps", "secrets", "serviceaccounts", "deployments.apps"}
    assert int(counts["namespaces"]) >= 1 and int(counts["serviceaccounts"]) >= 1
    assert done.stdout.splitlines()[5] == "MODIFIED configmap/inventory-demo step=2"
    assert "Unclosed" not in done.stderr, done.stderr  # every connection closed
