"""Many CRDs: ``apply -f DIR`` of 2,000 CRDs, fresh and unchanged, dynkube's CLI against
``kubectl apply --server-side`` on the same server, in one run.

The set is ``benchmarks/crd_fixture.py``'s (generated into the git-ignored ``benchmarks/.crds`` when
missing): 2,000 CRDs of real size (~120 MB of YAML, one file each). Each contender, in turn and
alternating who goes first: every CRD of the set deleted (and waited for until gone), then a fresh
install, then ``--unchanged`` re-applies of the same set; each command is one fresh process,
measured by ``wait4``: wall time, client CPU (user + system) and peak RSS. kubectl does not wait for
CRDs at all; neither does ``dynkube apply`` when no later document uses their kinds (as here).

The server: ``$DYNKUBE_BENCH_CRDS_KUBECONFIG``, else the benchmarks' (``_common.kubeconfig_path``).
2,000 CRDs make every discovery and OpenAPI request of that server slow for everyone using it, so
give it a control plane of its own (see docs/performance.md); the CRDs are deleted at the end
(``--keep`` leaves them installed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _common
import crd_fixture

FIXTURE = crd_fixture.DEFAULT_OUT / "crds"
SELECTOR = f"{crd_fixture.LABEL}=true"
COMMAND_TIMEOUT = 3600.0
GONE_TIMEOUT = 1800.0


def kubeconfig() -> Path:
    explicit = os.environ.get("DYNKUBE_BENCH_CRDS_KUBECONFIG")
    return Path(explicit) if explicit else _common.kubeconfig_path()


def ensure_fixture(count: int) -> Path:
    """The set's folder, written when it does not hold ``count`` CRD files."""
    if not FIXTURE.is_dir() or len(list(FIXTURE.glob("*.yaml"))) != count:
        crd_fixture.write(crd_fixture.DEFAULT_OUT, count)
    return FIXTURE


def commands(config: Path, folder: Path) -> dict[str, list[str]]:
    kubectl = shutil.which("kubectl") or "kubectl"
    return {
        "dynkube": [sys.executable, "-m", "dynkube.cli", "--kubeconfig", str(config), "apply", "-R", "-f", str(folder)],
        "kubectl": [kubectl, "--kubeconfig", str(config), "apply", "--server-side", "-R", "-f", str(folder)],
    }


def measure(command: list[str]) -> dict[str, Any]:
    """One run of ``command``: wall time, CPU (user + system) and peak RSS of its process, from wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=_common.child_env(),
                                   cwd=str(_common.ROOT))
        killer = threading.Timer(COMMAND_TIMEOUT, process.kill)
        killer.start()
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines, problems = out.read().splitlines(), err.read().strip().splitlines()
    result: dict[str, Any] = {"seconds": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss * 1024,
                              "lines": len(lines), "exit": process.returncode, "actions": _actions(lines)}
    if process.returncode:
        result["error"] = f"exit {process.returncode}: " + " | ".join(problems[-3:])
    return result


def _actions(lines: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        word = line.rsplit(" ", 1)[-1]
        counts[word] = counts.get(word, 0) + 1
    return counts


def delete_all(config: Path) -> float:
    """Delete every CRD of the set and wait until the server lists none; the seconds it took."""
    client = _common.admin_client(config)
    crds = client.resource("customresourcedefinitions.apiextensions.k8s.io")
    started = time.monotonic()
    crds.delete_collection(label_selector=SELECTOR)
    while crds.list_page(label_selector=SELECTOR, limit=1).items:
        if time.monotonic() - started > GONE_TIMEOUT:
            raise SystemExit(f"bench_crds: the CRDs of the set are still there after {GONE_TIMEOUT:.0f} s")
        time.sleep(2)  # polling the server's progress in deleting them, not a synchronisation
    return time.monotonic() - started


def run(options: argparse.Namespace) -> dict[str, Any]:
    config = kubeconfig()
    folder = ensure_fixture(options.count)
    size = sum(p.stat().st_size for p in folder.glob("*.yaml"))
    cmds = commands(config, folder)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {name: {"fresh": [], "unchanged": []} for name in cmds}
    deletes: list[float] = []
    order = list(cmds)
    for cycle in range(options.fresh):
        for name in order if cycle % 2 == 0 else order[::-1]:
            deletes.append(delete_all(config))
            print(f"bench_crds: {name} fresh ({cycle + 1}/{options.fresh})", file=sys.stderr, flush=True)
            runs[name]["fresh"].append(measure(cmds[name]))
            for again in range(options.unchanged):
                print(f"bench_crds: {name} unchanged ({again + 1}/{options.unchanged})", file=sys.stderr, flush=True)
                runs[name]["unchanged"].append(measure(cmds[name]))
    if not options.keep:
        deletes.append(delete_all(config))
    rows = []
    errors: dict[str, str] = {}
    for phase in ("fresh", "unchanged"):
        for name in cmds:
            done = [r for r in runs[name][phase] if "error" not in r]
            errors.update({f"{name} {phase} {i + 1}": r["error"] for i, r in enumerate(runs[name][phase])
                           if "error" in r})
            if not done:
                continue
            rows.append({"name": name, "phase": phase, "runs": len(done),
                         "seconds": statistics.median(r["seconds"] for r in done),
                         "min": min(r["seconds"] for r in done), "max": max(r["seconds"] for r in done),
                         "cpu": statistics.median(r["cpu"] for r in done),
                         "cpu_min": min(r["cpu"] for r in done), "cpu_max": max(r["cpu"] for r in done),
                         "rss": statistics.median(r["rss"] for r in done), "actions": done[-1]["actions"]})
    t = _common.table(
        f"apply -f DIR of {options.count} CRDs ({size / 1e6:.0f} MB of YAML, one file each), fresh and unchanged; "
        "median of fresh processes", rows,
        [("phase", "phase", "t"), ("runs", "runs", "n"), ("seconds", "time", "s"), ("min", "min", "s"),
         ("max", "max", "s"), ("cpu", "client CPU", "s"), ("cpu_min", "CPU min", "s"), ("cpu_max", "CPU max", "s"),
         ("rss", "peak RSS", "B")],
        ratios=["seconds", "cpu", "rss"], base="kubectl", floor=None, group_key=None,
        notes=["target: dynkube's time and client CPU <= kubectl's, fresh and unchanged; peak RSS bounded by the "
               "largest file",
               "dynkube: `dynkube apply -R -f DIR`; kubectl: `kubectl apply --server-side -R -f DIR`",
               "time = wall clock, dominated by the server's work on the CRDs (shared by both); client CPU = "
               "user + system seconds of the command's process",
               f"before each fresh install every CRD of the set is deleted and waited for until gone "
               f"(median {statistics.median(deletes) if deletes else 0:.0f} s)"])
    for row in rows:  # ratios against kubectl of the same phase
        other = next((r for r in rows if r["name"] == "kubectl" and r["phase"] == row["phase"]), None)
        for key in ("seconds", "cpu", "rss"):
            row[f"{key}/base"] = row[key] / other[key] if other and other.get(key) else None
    by = {(r["name"], r["phase"]): r for r in rows}
    targets = {f"crds_{phase}_{key}_vs_kubectl": {"ratio": by[("dynkube", phase)][f"{key}/base"],
                                                 "met": (by[("dynkube", phase)][f"{key}/base"] or 99) <= 1.0}
               for phase in ("fresh", "unchanged") for key in ("seconds", "cpu")
               if ("dynkube", phase) in by and ("kubectl", phase) in by}
    largest = max(p.stat().st_size for p in folder.glob("*.yaml"))
    return {"tables": [t], "targets": targets, "errors": errors, "runs": runs, "deletes": deletes,
            "set": {"crds": options.count, "bytes": size, "largest_file": largest}}


def worker(argv: list[str]) -> None:
    raise SystemExit("bench_crds has no worker: each measurement is a CLI process")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=crd_fixture.DEFAULT_COUNT, help="CRDs in the set (default 2000)")
    parser.add_argument("--fresh", type=int, default=1, help="fresh installs per contender (default 1)")
    parser.add_argument("--unchanged", type=int, default=3, help="unchanged re-applies after each fresh install")
    parser.add_argument("--keep", action="store_true", help="leave the CRDs installed at the end")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_crds", run, worker, add_arguments))
