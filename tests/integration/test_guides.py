"""The runnable examples of docs/guide-*.md work against the real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT

EXAMPLES = ROOT / "docs" / "examples"


def _run(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_manage_crds_example(kubeconfig_path: Path) -> None:
    out = _run("manage_crds.py", str(kubeconfig_path))
    assert "customresourcedefinition/backups.examples.dynkube.io" in out
    assert "nightly: copies=3 lastRun=today" in out
    assert "hourly scaled to 4 copies" in out
    assert "team=db: ['nightly']" in out and "left: ['nightly']" in out


def test_inventory_example(kubeconfig_path: Path) -> None:
    out = _run("inventory.py", str(kubeconfig_path), "--require-label", "no-such-label")
    counts = {line.split()[1]: int(line.split()[0]) for line in out.splitlines() if line[:6].strip().isdigit()}
    assert counts["namespaces"] >= 4 and counts["customresourcedefinitions.apiextensions.k8s.io"] >= 1
    assert "objects without label 'no-such-label'" in out
