"""The runnable examples of docs/ work against the real server (each is run as a user would run it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT

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
