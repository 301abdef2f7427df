"""The project is what a person clones: nothing in it may read the steering folder beside the checkout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Built from pieces so that this file does not match itself.
FORBIDDEN = re.compile("|".join([
    re.escape(".." + "/shared"),
    re.escape("k8s-api" + "-data"),
    re.escape("DYNKUBE_" + "SHARED_DIR"),
    r"parent\s*/\s*[\"']" + "shared" + r"[\"']",
]))


def project_files() -> list[Path]:
    """Every file git tracks or would track (untracked but not ignored files included)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_project_file_refers_to_the_steering_folder() -> None:
    offenders = []
    for path in project_files():
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []


def test_the_pattern_catches_what_it_should() -> None:
    assert FORBIDDEN.search('SHARED = ROOT.parent / "' + 'shared"')
    assert FORBIDDEN.search("see " + ".." + "/shared/DESIGN.md")
    assert not FORBIDDEN.search("a shared informer")


def test_no_file_holds_a_merge_conflict_marker() -> None:
    markers = re.compile(r"^(<{7}|>{7}) ")
    found = [f"{path.relative_to(ROOT)}:{number}" for path in project_files() if path.is_file()
             for number, line in enumerate(path.read_bytes().decode("utf-8", "replace").splitlines(), 1)
             if markers.match(line)]
    assert found == []
