"""Many CRDs: ``apply -f DIR`` of 2,000 CRDs, fresh and unchanged, dynkube's CLI against
``kubectl apply --server-side`` on the same server, in one run.

The set is ``benchmarks/crd_fixture.py``'s (generated into the git-ignored ``benchmarks/.crds`` when
missing): 2,000 CRDs of real size (~120 MB of YAML, one file each). Each contender, in turn and
alternating who goes first: every CRD of the set deleted (and waited for until gone), then a fresh
install, then ``--unchanged`` re-applies of the same set; each command is one fresh process,
measured by ``wait4``: wall time, client CPU (user + system) and peak RSS. kubectl does not wait for
CRDs at all; neither does ``dynkube apply`` when no later document uses their kinds (as here).

The server: ``$DYNKUBE_BENCH_CRDS_KUBECONFIG`` only, a control plane of its own (see
docs/performance.md): 2,000 CRDs make every discovery and OpenAPI request of a server slow for
everyone using it, and deleting them takes a loaded server hours. Without it the module reports
that it was skipped (so ``make bench`` does not install them into the shared plane). Before each
fresh install and at the end the server is emptied: with ``--reset-command`` (default
``$DYNKUBE_BENCH_CRDS_RESET``), e.g. ``"cd PLANE && scripts/envtest down && scripts/envtest up"``,
the server is replaced (the kubeconfig path must stay the same); otherwise the CRDs are deleted and
waited for. ``--keep`` leaves them installed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
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


def kubeconfig() -> Path | None:
    explicit = os.environ.get("DYNKUBE_BENCH_CRDS_KUBECONFIG")
    return Path(explicit) if explicit else None


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


# Runs the command and reports its exit code, CPU and peak RSS. A child's ru_maxrss starts from the
# RSS of the process it was forked from, so the command is forked from this small interpreter, not
# from the benchmark (which holds the server's OpenAPI by then: 211 MiB were once reported for a
# 60 MiB command). The floor this leaves is the launcher's own RSS, ~12 MiB (/bin/true reports that).
LAUNCHER = """
import json, os, subprocess, sys
process = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as report:
    json.dump([os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss], report)
"""


def measure(command: list[str]) -> dict[str, Any]:
    """One run of ``command``: wall time, CPU (user + system) and peak RSS of its process, from wait4
    in a small launcher process (see ``LAUNCHER``)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "usage.json"
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(report), *command], stdout=out, stderr=err,
                                   text=True, env=_common.child_env(), cwd=str(_common.ROOT), start_new_session=True)
        killer = threading.Timer(COMMAND_TIMEOUT, os.killpg, (process.pid, signal.SIGKILL))
        killer.start()
        try:
            process.wait()
        finally:
            killer.cancel()
        wall = time.monotonic() - started
        exit_code, cpu, maxrss = json.loads(report.read_text()) if report.exists() else (process.returncode, 0.0, 0)
        out.seek(0)
        err.seek(0)
        lines, problems = out.read().splitlines(), err.read().strip().splitlines()
    result: dict[str, Any] = {"seconds": wall, "cpu": cpu, "rss": maxrss * 1024,
                              "lines": len(lines), "exit": exit_code, "actions": _actions(lines)}
    if exit_code:
        result["error"] = f"exit {exit_code}: " + " | ".join(problems[-3:])
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


SETTLE_TIMEOUT = 1800.0


def settle(config: Path, count: int) -> float:
    """Wait until the server has digested a fresh install: every CRD of the set Established and the
    last group in its OpenAPI v3 index (it rebuilds that for minutes after 2,000 new CRDs, and an
    unchanged re-apply measured meanwhile measures that work); the seconds it took."""
    client = _common.admin_client(config)
    crds = client.resource("customresourcedefinitions.apiextensions.k8s.io")
    raw = _common.RawCluster(config)
    last = f"apis/g{(count - 1) // crd_fixture.PER_GROUP:02d}.{crd_fixture.GROUP_SUFFIX}/v1"
    started = time.monotonic()
    try:
        while time.monotonic() - started < SETTLE_TIMEOUT:
            established = sum(1 for crd in crds.list(label_selector=SELECTOR, limit=500)
                              if any(c.get("type") == "Established" and c.get("status") == "True"
                                     for c in (crd.get("status") or {}).get("conditions") or []))
            if established >= count and last in raw.get("/openapi/v3").json().get("paths", {}):
                break
            time.sleep(5)  # polling the server's own progress, not a synchronisation
    finally:
        raw.close()
    return time.monotonic() - started


def reset(options: argparse.Namespace, config: Path) -> float:
    """Make the server hold none of the set: ``--reset-command`` (e.g. a new control plane: deleting
    2,000 CRDs takes a loaded server hours), else delete them; the seconds it took."""
    if not options.reset_command:
        return delete_all(config)
    started = time.monotonic()
    subprocess.run(options.reset_command, shell=True, check=True, stdout=subprocess.DEVNULL, timeout=GONE_TIMEOUT)
    return time.monotonic() - started


def run(options: argparse.Namespace) -> dict[str, Any]:
    config = kubeconfig()
    if config is None:
        why = "skipped: set DYNKUBE_BENCH_CRDS_KUBECONFIG to a control plane of its own (see docs/performance.md)"
        print(f"bench_crds: {why}", file=sys.stderr)
        return {"tables": [], "skipped": why}
    if options.only_discovery:
        tables = [discovery_table(config, options.discovery_runs)]
        tree = tree_count(config)
        tables.append(_common.table(f"tree --count with the {options.count} CRDs installed", [tree],
                                    [("seconds", "time", "s"), ("cpu", "client CPU", "s"), ("rss", "peak RSS", "B")],
                                    base=None, floor=None))
        return {"tables": tables}
    folder = ensure_fixture(options.count)
    size = sum(p.stat().st_size for p in folder.glob("*.yaml"))
    cmds = commands(config, folder)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {name: {"fresh": [], "unchanged": []} for name in cmds}
    deletes: list[float] = []
    settles: list[float] = []
    order = list(cmds)
    for cycle in range(options.fresh):
        for name in order if cycle % 2 == 0 else order[::-1]:
            deletes.append(reset(options, config))
            print(f"bench_crds: {name} fresh ({cycle + 1}/{options.fresh})", file=sys.stderr, flush=True)
            runs[name]["fresh"].append(measure(cmds[name]))
            settles.append(settle(config, options.count))
            for again in range(options.unchanged):
                print(f"bench_crds: {name} unchanged ({again + 1}/{options.unchanged})", file=sys.stderr, flush=True)
                runs[name]["unchanged"].append(measure(cmds[name]))
    tables_after: list[dict[str, Any]] = []
    if options.discovery_runs:
        tables_after.append(discovery_table(config, options.discovery_runs))
        tree = tree_count(config)
        tables_after.append(_common.table(
            f"tree --count with the {options.count} CRDs installed", [tree],
            [("seconds", "time", "s"), ("cpu", "client CPU", "s"), ("rss", "peak RSS", "B"), ("lines", "lines", "n")],
            base=None, floor=None, notes=["limit=1 lists, 8 at a time, within the default rate limit (50 qps, "
                                          "burst 300); kubectl has no counterpart"]))
    if not options.keep:
        deletes.append(reset(options, config))
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
               ("before each fresh install the server is reset with --reset-command" if options.reset_command else
                "before each fresh install every CRD of the set is deleted and waited for until gone")
               + f" (median {statistics.median(deletes) if deletes else 0:.0f} s)",
               "after each fresh install, the unchanged runs wait until the server has digested it (every CRD "
               f"Established, the last group in /openapi/v3): {', '.join(f'{x:.0f}' for x in settles)} s"])
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
    return {"tables": [t, *tables_after], "targets": targets, "errors": errors, "runs": runs, "deletes": deletes,
            "settles": settles,
            "set": {"crds": options.count, "bytes": size, "largest_file": largest}}


# ---- discovery with the set installed ----------------------------------------------------------

TARGET_GROUP, TARGET_KIND = f"g79.{crd_fixture.GROUP_SUFFIX}", "Gizmo1999"  # the last CRD of the set
DISCOVERY_CONTENDERS = ("dynkube", "kubernetes.dynamic")


def _discover(name: str, config: str, cache: str) -> tuple[Any, Any]:
    """(resolve the set's last kind, then hold every resource the library knows) for one contender."""
    if name == "dynkube":
        import dynkube

        dynkube.Client  # noqa: B018 - loads the client and requests now, as the kubernetes import below does, not in the timing

        def dynkube_resolve() -> Any:
            client = dynkube.Client(kubeconfig=config, cache_dir=cache)
            return client, client.resource(f"{TARGET_KIND.lower()}s.{TARGET_GROUP}")

        return dynkube_resolve, lambda state: state[0].api_resources(cached=True)
    from kubernetes import config as kconfig, dynamic

    def kubernetes_resolve() -> Any:
        client = dynamic.DynamicClient(kconfig.new_client_from_config(config_file=config),
                                       cache_file=str(Path(cache) / "kubernetes.json"))
        return client, client.resources.get(api_version=f"{TARGET_GROUP}/v1", kind=TARGET_KIND)

    return kubernetes_resolve, lambda state: list(state[0].resources.search())


def worker(argv: list[str]) -> None:
    """``discovery NAME KUBECONFIG CACHE_DIR``: resolve the set's last kind in this fresh process
    (cold or from the disk cache), then again with a new client (warm in memory), then hold the
    whole resource map; requests, times, CPU and RSS growth."""
    _what, name, config, cache = argv
    resolve, everything = _discover(name, config, cache)
    counter = _common.RequestCounter().install()
    base = _common.rss_bytes()
    t0, c0 = time.perf_counter(), time.process_time()
    state = resolve()
    t1, c1 = time.perf_counter(), time.process_time()
    first_requests = counter.count
    again = [time.perf_counter()]
    for _ in range(5):
        resolve()
        again.append(time.perf_counter())
    everything(state)
    grown = _common.rss_bytes() - base
    _common.emit({"seconds": t1 - t0, "cpu": c1 - c0, "requests": first_requests,
                  "memory_seconds": statistics.median(b - a for a, b in zip(again, again[1:])),
                  "rss": grown, "cache_bytes": sum(p.stat().st_size for p in Path(cache).rglob("*") if p.is_file())})


def discovery_table(config: Path, runs: int) -> dict[str, Any]:
    """Cold, warm-from-disk and warm-in-memory resolution of the set's last kind, per contender."""
    script = Path(__file__).resolve()
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    errors: dict[str, str] = {}
    for _ in range(runs):
        for name in DISCOVERY_CONTENDERS:
            with tempfile.TemporaryDirectory(prefix="bench-crds-cache-") as cache:
                for phase in ("cold", "warm disk"):
                    got = _common.run_worker(script, ["discovery", name, str(config), cache], timeout=600,
                                             env=_common.child_env())
                    if "error" in got:
                        errors[f"{name} {phase}"] = got["error"]
                        continue
                    samples.setdefault((name, phase), []).append(got)
                    if phase == "cold":
                        samples.setdefault((name, "warm memory"), []).append(
                            {**got, "seconds": got["memory_seconds"], "cpu": None, "requests": None})
    rows = []
    for (name, phase), measured in samples.items():
        cpus = [g["cpu"] for g in measured if g["cpu"] is not None]
        rows.append({"name": name, "phase": phase, "seconds": statistics.median(g["seconds"] for g in measured),
                     "min": min(g["seconds"] for g in measured), "cpu": statistics.median(cpus) if cpus else None,
                     "requests": measured[-1]["requests"], "rss": statistics.median(g["rss"] for g in measured),
                     "cache": measured[-1]["cache_bytes"]})
    t = _common.table(
        f"Client() -> the last of the set's kinds resolved, {runs} fresh interpreters (warm memory: median of 5 new "
        "clients in the cold run's interpreter)", rows,
        [("seconds", "time", "s"), ("min", "min", "s"), ("cpu", "client CPU", "s"),
         ("requests", "HTTP requests", "n"), ("rss", "RSS growth with the whole map", "B"),
         ("cache", "disk cache", "B")],
        ratios=["seconds", "cpu", "rss"], base="kubernetes.dynamic", floor=None, group_key="phase",
        notes=["RSS growth: from after the imports to holding every resource (dynkube: api_resources(); "
               "kubernetes: resources.search())",
               "target: dynkube's map at most the official client's memory"])
    t["errors"] = errors
    return t


def tree_count(config: Path) -> dict[str, Any]:
    """``dynkube tree --count`` on the server with the set: one process, wall, CPU, peak RSS."""
    got = measure([sys.executable, "-m", "dynkube.cli", "--kubeconfig", str(config), "tree", "--count"])
    return {"name": "dynkube tree --count", **{k: got.get(k) for k in ("seconds", "cpu", "rss", "lines", "error")}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=crd_fixture.DEFAULT_COUNT, help="CRDs in the set (default 2000)")
    parser.add_argument("--fresh", type=int, default=1, help="fresh installs per contender (default 1)")
    parser.add_argument("--unchanged", type=int, default=3, help="unchanged re-applies after each fresh install")
    parser.add_argument("--keep", action="store_true", help="leave the CRDs installed at the end")
    parser.add_argument("--reset-command", default=os.environ.get("DYNKUBE_BENCH_CRDS_RESET"),
                        help="a shell command that leaves the server without the set (a new control plane), run "
                             "instead of deleting the CRDs; the kubeconfig's path must stay the same")
    parser.add_argument("--discovery-runs", type=int, default=5,
                        help="fresh interpreters per contender for discovery with the set installed (0: skip)")
    parser.add_argument("--only-discovery", action="store_true",
                        help="measure only discovery and tree --count (the set must be installed)")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_crds", run, worker, add_arguments))
