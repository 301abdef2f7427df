"""The code passes ruff (its rule set is in pyproject.toml: pyflakes, pycodestyle, bugbear)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_code_passes_ruff() -> None:
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "dynkube", "tests", "scripts", "benchmarks",
               "tools"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
