"""Export of a namespace with 20,000 custom objects across 50 kinds, and snapshot save and load.

Setup (reused when present): ``--kinds`` namespaced CRDs ``benchkindNN.bench-export.dynkube.io``
and ``--objects`` objects spread evenly across them in the namespace ``dynkube-bench-export``,
created concurrently without client rate limiting. ``--cleanup`` deletes them and exits.

Export: ``dynkube export`` (the library call, in a fresh interpreter each run: wall time, HTTP
requests, peak RSS growth during the export) of one kind and of every kind, so the memory of the
two can be compared (pages are written as they arrive: it should not grow with the object count),
against the way people do it today: a shell loop of ``kubectl get KIND -n NS -o yaml > KIND.yaml``
over the same kinds (wall time; requests and the peak RSS of the largest ``kubectl`` process from a
second pass at ``-v=6`` under ``/usr/bin/time``; the export rows give the exporting process's peak
RSS too). Snapshot: ``save_snapshot`` time and file size, and
``dynkube.open_snapshot`` + ``api_resources`` + one ``explain`` time.

    python benchmarks/bench_export.py [--objects 20000] [--kinds 50] [--runs 3] [--cleanup] [--json PATH]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

NS = "dynkube-bench-export"
GROUP = "bench-export.dynkube.io"
DEFAULT_OBJECTS, DEFAULT_KINDS = 20_000, 50
PEAK_MARKER = "peak-rss-kib:"
ROUND_TRIP = re.compile(r"round_trippers\.go:\d+\] (GET|POST|PUT|PATCH|DELETE) https?://")


def plural(i: int) -> str:
    return f"benchkind{i:02d}"


def setup(client: Any, objects: int, kinds: int) -> None:
    import dynkube

    _common.ensure_namespace(client, NS)
    crds = client.resource("customresourcedefinitions")
    for i in range(kinds):
        name = f"{plural(i)}.{GROUP}"
        try:
            crds.get(name)
        except dynkube.NotFound:
            crds.create({"metadata": {"name": name}, "spec": {
                "group": GROUP, "scope": "Namespaced",
                "names": {"plural": plural(i), "singular": plural(i), "kind": f"BenchKind{i:02d}"},
                "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                    "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
        dynkube.wait_for(crds, name, condition="Established", timeout=60)
    per_kind = objects // kinds
    for i in range(kinds):
        resource = client.resource(f"{plural(i)}.{GROUP}")
        have = {o["metadata"]["name"] for o in resource.list(NS)}
        missing = [f"obj-{n:05d}" for n in range(per_kind) if f"obj-{n:05d}" not in have]

        def make(name: str, resource: dynkube.ResourceClient = resource) -> None:
            resource.create({"metadata": {"name": name, "labels": {"bench": "export"}},
                             "spec": {"size": "medium", "replicas": 3, "note": "x" * 200}}, NS)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(make, missing))


def cleanup(client: Any, kinds: int) -> None:
    import dynkube

    for i in range(kinds):
        try:
            client.resource("customresourcedefinitions").delete(f"{plural(i)}.{GROUP}")
        except dynkube.NotFound:
            pass
    try:
        client.resource("namespaces").delete(NS)
    except dynkube.NotFound:
        pass


def worker(argv: list[str]) -> None:
    """``--worker KUBECONFIG OUTDIR KIND,KIND...``: one export, measured."""
    kubeconfig, out, kinds = argv[0], Path(argv[1]), argv[2].split(",")
    import dynkube
    from dynkube.export import export

    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=False)
    client.api_map()  # discovery and the connection before the clock
    counter = _common.RequestCounter().install()
    _common.reset_peak_rss()
    before = _common.rss_bytes()
    started = time.perf_counter()
    result = export(client, out, namespace=NS, kinds=kinds)
    seconds = time.perf_counter() - started
    _common.emit({"seconds": seconds, "requests": counter.count, "objects": result.objects,
                  "rss": _common.peak_rss_bytes() - before, "peak": _common.peak_rss_bytes(),
                   "failures": len(result.failures)})


def kubectl_loop(kubeconfig: Path, kinds: list[str], out: Path) -> dict[str, Any]:
    """The loop's wall time; then the same loop again, each ``kubectl`` at ``-v=6`` under ``/usr/bin/time``,
    for its requests (the logged round trips) and the largest peak RSS of one ``kubectl`` process."""
    if not shutil.which("kubectl"):
        return {"seconds": None, "requests": None, "peak": None}
    script = "; ".join(f"kubectl --kubeconfig {kubeconfig} get {k} -n {NS} -o yaml > {out}/{k}.yaml" for k in kinds)
    started = time.perf_counter()
    subprocess.run(["bash", "-c", script], check=True, timeout=3600)
    seconds = time.perf_counter() - started
    if not Path("/usr/bin/time").exists():
        return {"seconds": seconds, "requests": None, "peak": None}
    requests, peak = 0, 0
    for kind in kinds:
        done = subprocess.run(["/usr/bin/time", "-f", f"{PEAK_MARKER}%M", "kubectl", "--kubeconfig", str(kubeconfig),
                               "-v=6", "get", kind, "-n", NS, "-o", "yaml"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True, timeout=600)
        lines = done.stderr.splitlines()
        requests += sum(1 for line in lines if ROUND_TRIP.search(line))
        peak = max([peak] + [int(line[len(PEAK_MARKER):]) * 1024 for line in lines if line.startswith(PEAK_MARKER)])
    return {"seconds": seconds, "requests": requests, "peak": peak}


def measure_exports(kubeconfig: Path, kinds: int, runs: int) -> list[dict[str, Any]]:
    every = [f"{plural(i)}.{GROUP}" for i in range(kinds)]
    rows: list[dict[str, Any]] = []
    for label, chosen in (("dynkube (1 kind)", every[:1]), (_common.BASE, every)):
        results = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="dynkube-bench-export-") as tmp:
                results.append(_common.run_worker(Path(__file__), [str(kubeconfig), f"{tmp}/out", ",".join(chosen)],
                                                  timeout=3600, env=_common.child_env()))
        good = [r for r in results if "error" not in r]
        if not good:
            rows.append({"name": label, "error": results[0].get("error")})
            continue
        rows.append({"name": label, "objects": good[0]["objects"], "kinds": len(chosen),
                     "seconds": _common.median(r["seconds"] for r in good),
                     "requests": good[0]["requests"], "rss": _common.median(r["rss"] for r in good),
                     "peak": _common.median(r["peak"] for r in good)})
    with tempfile.TemporaryDirectory(prefix="dynkube-bench-kubectl-") as tmp:
        loop = kubectl_loop(kubeconfig, every, Path(tmp))
    rows.append({"name": "kubectl get -o yaml loop", "objects": rows[-1].get("objects"), "kinds": kinds,
                 "rss": None, **loop})
    return rows


def measure_snapshot(client: Any, runs: int) -> list[dict[str, Any]]:
    import dynkube
    from dynkube.snapshot import save_snapshot

    saves, loads, size = [], [], 0
    with tempfile.TemporaryDirectory(prefix="dynkube-bench-snap-") as tmp:
        path = Path(tmp) / "cluster.snap"
        for _ in range(runs):
            started = time.perf_counter()
            size = save_snapshot(client, path)["bytes"]
            saves.append(time.perf_counter() - started)
            started = time.perf_counter()
            offline = dynkube.open_snapshot(path)
            offline.api_resources()
            offline.explain(f"{plural(0)}.{GROUP}")
            loads.append(time.perf_counter() - started)
    return [{"name": "save_snapshot", "seconds": _common.median(saves), "size": size},
            {"name": "from_snapshot + api_resources + explain", "seconds": _common.median(loads), "size": size}]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--objects", type=int, default=DEFAULT_OBJECTS)
    parser.add_argument("--kinds", type=int, default=DEFAULT_KINDS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cleanup", action="store_true", help="delete the benchmark's CRDs and namespace, and exit")


def run(options: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = _common.kubeconfig_path()
    client = _common.admin_client(kubeconfig)
    if options.cleanup:
        cleanup(client, options.kinds)
        return {"tables": []}
    runs = 1 if options.quick else options.runs
    setup(client, options.objects, options.kinds)
    exports = _common.table(
        f"export of a namespace: {options.objects} custom objects across {options.kinds} kinds; median of {runs}",
        measure_exports(kubeconfig, options.kinds, runs),
        [("objects", "objects", "n"), ("kinds", "kinds", "n"), ("requests", "requests", "n"),
         ("seconds", "time", "s"), ("rss", "peak RSS growth", "B"),
         ("peak", "peak RSS", "B")],
        ratios=["seconds"], floor=None,
        notes=["peak RSS growth of 1 kind against every kind: constant memory means about the same",
               "the kubectl loop writes one file per kind (no cleaning, no per-object files)",
               "kubectl's requests and peak RSS (the largest of its processes) from a second, -v=6 pass"])
    snapshot = _common.table(f"snapshot of the cluster (with the {options.kinds} bench CRDs); median of {runs}",
                             measure_snapshot(client, runs), [("seconds", "time", "s"), ("size", "file size", "B")],
                             base=None, floor=None)
    return {"tables": [exports, snapshot]}


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_export", run, worker, add_arguments))
