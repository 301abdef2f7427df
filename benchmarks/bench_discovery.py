"""Discovery cold start: HTTP requests and wall time from client construction to the first GET of
a CRD object, on a cluster with 150+ CRD groups, for dynkube and each anchor in the same run.

Setup (reused when present): ``--groups`` CRDs, each its own group ``bench-NNN.dynkube-bench.io``
(kind Widget, namespaced, labelled ``dynkube-bench=true``), created concurrently and waited for
until Established, and one Widget in the namespace ``dynkube-bench`` of the last group.
``--cleanup`` deletes those CRDs (and with them their objects) and exits.

Phases, for every contender (each cold and warm-from-disk run is a fresh interpreter; imports are
done before the clock starts):
- cold: empty caches (a new, empty cache directory where the library has a disk cache);
- warm from disk: a fresh interpreter reusing the cache directory the cold run filled;
- warm in memory: a new client in the interpreter that just did the cold run.
Requests are counted for every contender by wrapping urllib3's and httpx's lowest request method in
the worker process (``_common.RequestCounter``); for dynkube also ``client.discovery.stats``.

    python benchmarks/bench_discovery.py [--groups 160] [--runs 7] [--cleanup] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

DOMAIN = "dynkube-bench.io"
LABEL = "dynkube-bench"
KIND, PLURAL = "Widget", "widgets"
OBJECT = "bench-widget"
DEFAULT_GROUPS = 160
MEMORY_REPEATS = 5
WORKER_TIMEOUT = 240.0


def group_name(i: int) -> str:
    return f"bench-{i:03d}.{DOMAIN}"


# ---- setup -----------------------------------------------------------------------------------

def crd_manifest(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{group}", "labels": {LABEL: "true"}},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": PLURAL, "singular": "widget", "kind": KIND, "listKind": f"{KIND}List"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
    }


def established(crd: dict[str, Any]) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or ())


def ensure_crds(client: Any, groups: int, timeout: float = 300.0) -> dict[str, Any]:
    """Create the missing benchmark CRDs concurrently; wait until every one is Established."""
    import dynkube

    crds = client.resource("customresourcedefinitions")
    wanted = {f"{PLURAL}.{group_name(i)}": group_name(i) for i in range(groups)}
    existing = {c["metadata"]["name"] for c in crds.list(label_selector=f"{LABEL}=true")}
    missing = [group for name, group in wanted.items() if name not in existing]

    def create(group: str) -> None:
        try:
            crds.create(crd_manifest(group))
        except dynkube.AlreadyExists:
            pass

    started = time.monotonic()
    if missing:
        print(f"creating {len(missing)} CRDs ({len(wanted) - len(missing)} already there) ...", flush=True)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(create, missing))
    deadline = time.monotonic() + timeout
    while True:
        ready = {c["metadata"]["name"] for c in crds.list(label_selector=f"{LABEL}=true") if established(c)}
        if set(wanted) <= ready:
            break
        if time.monotonic() > deadline:
            sys.exit(f"bench_discovery: {len(set(wanted) - ready)} CRDs not Established after {timeout:.0f} s")
        time.sleep(0.5)
    return {"created": len(missing), "reused": len(wanted) - len(missing),
            "setup_seconds": round(time.monotonic() - started, 1)}


def ensure_object(client: Any, group: str, timeout: float = 60.0) -> None:
    """The Widget every contender GETs (resolving a just-created CRD may need a moment)."""
    import dynkube

    _common.ensure_namespace(client)
    deadline = time.monotonic() + timeout
    while True:
        try:
            widgets = client.resource(f"{PLURAL}.{group}")
            try:
                widgets.get(OBJECT, namespace=_common.BENCH_NAMESPACE)
            except dynkube.NotFound:
                widgets.create({"metadata": {"name": OBJECT}, "spec": {"size": 1}},
                               namespace=_common.BENCH_NAMESPACE)
            return
        except (dynkube.ResourceNotFound, dynkube.NotFound):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def cleanup(client: Any) -> int:
    crds = client.resource("customresourcedefinitions")
    names = [c["metadata"]["name"] for c in crds.list(label_selector=f"{LABEL}=true")]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(crds.delete, names))
    return len(names)


def server_facts(kubeconfig: Path) -> dict[str, Any]:
    """How big discovery is on this server: aggregated and legacy document sizes, group count."""
    raw = _common.RawCluster(kubeconfig)
    try:
        aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        sizes = {f"aggregated {p}": len(raw.get(p, headers={"Accept": aggregated}).content) for p in ("/api", "/apis")}
        legacy = raw.get("/apis").json()
        sizes["legacy /apis"] = len(raw.get("/apis").content)
        group_versions = sum(len(g["versions"]) for g in legacy["groups"])
        crds = raw.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        return {"groups": len(legacy["groups"]), "group_versions": group_versions, "bytes": sizes,
                "crd_list_bytes": len(crds.content), "crds": len(crds.json()["items"])}
    finally:
        raw.close()


# ---- contenders: construction -> first object ---------------------------------------------------

def _dynkube(kubeconfig: str, cache: str, group: str) -> Callable[[], tuple[Any, dict[str, Any]]]:
    import dynkube

    dynkube.Client  # noqa: B018 - loads the client and requests now (import dynkube alone loads neither)

    def first() -> tuple[Any, dict[str, Any]]:
        client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=cache)
        obj = client.resource(f"{PLURAL}.{group}").get(OBJECT, namespace=_common.BENCH_NAMESPACE)
        return obj["metadata"]["name"], {"discovery_stats": dict(client.discovery.stats)}

    return first


def _kubernetes(kubeconfig: str, cache: str, group: str) -> Callable[[], tuple[Any, dict[str, Any]]]:
    from kubernetes import config, dynamic

    def first() -> tuple[Any, dict[str, Any]]:
        api_client = config.new_client_from_config(config_file=kubeconfig)
        client = dynamic.DynamicClient(api_client, cache_file=os.path.join(cache, "osrcp.json"))
        widgets = client.resources.get(api_version=f"{group}/v1", kind=KIND)
        obj = widgets.get(name=OBJECT, namespace=_common.BENCH_NAMESPACE)
        return obj.metadata.name, {}

    return first


def _kr8s(kubeconfig: str, cache: str, group: str) -> Callable[[], tuple[Any, dict[str, Any]]]:
    import warnings

    import kr8s

    warnings.filterwarnings("ignore", message="Kubernetes version")  # kr8s warns on servers newer than it knows

    def first() -> tuple[Any, dict[str, Any]]:
        api = kr8s.api(kubeconfig=kubeconfig)
        obj = next(iter(api.get(f"{PLURAL}.{group}", OBJECT, namespace=_common.BENCH_NAMESPACE)))
        return obj.metadata.name, {}

    return first


def _lightkube(kubeconfig: str, cache: str, group: str) -> Callable[[], tuple[Any, dict[str, Any]]]:
    import lightkube
    from lightkube import generic_resource

    def first() -> tuple[Any, dict[str, Any]]:
        client = lightkube.Client(config=lightkube.KubeConfig.from_file(kubeconfig))
        resource = generic_resource.get_generic_resource(f"{group}/v1", KIND)
        if resource is None:  # lightkube's discovery: load every CRD of the cluster as a generic resource
            generic_resource.load_in_cluster_generic_resources(client)
            resource = generic_resource.get_generic_resource(f"{group}/v1", KIND)
        obj = client.get(resource, OBJECT, namespace=_common.BENCH_NAMESPACE)
        return obj.metadata.name, {}

    return first


def _lightkube_declared(kubeconfig: str, cache: str, group: str) -> Callable[[], tuple[Any, dict[str, Any]]]:
    import lightkube
    from lightkube import generic_resource

    def first() -> tuple[Any, dict[str, Any]]:
        client = lightkube.Client(config=lightkube.KubeConfig.from_file(kubeconfig))
        resource = generic_resource.create_namespaced_resource(group, "v1", KIND, PLURAL)
        obj = client.get(resource, OBJECT, namespace=_common.BENCH_NAMESPACE)
        return obj.metadata.name, {}

    return first


def _raw(kubeconfig: str, cache: str, group: str) -> Callable[[], tuple[Any, dict[str, Any]]]:
    import requests  # noqa: F401  (imported before the clock, like every contender)
    import yaml  # noqa: F401

    def first() -> tuple[Any, dict[str, Any]]:
        raw = _common.RawCluster(Path(kubeconfig))
        try:
            path = f"/apis/{group}/v1/namespaces/{_common.BENCH_NAMESPACE}/{PLURAL}/{OBJECT}"
            return raw.get(path).json()["metadata"]["name"], {}
        finally:
            raw.close()

    return first


CONTENDERS: dict[str, Callable[[str, str, str], Callable[[], tuple[Any, dict[str, Any]]]]] = {
    "dynkube": _dynkube,
    "kubernetes.dynamic": _kubernetes,
    "kr8s": _kr8s,
    "lightkube": _lightkube,
    "lightkube (declared)": _lightkube_declared,
    "raw": _raw,
}
DISK_CACHE = {"dynkube": True, "kubernetes.dynamic": True}   # the others keep discovery in memory only
NOTES = {
    "dynkube": "aggregated discovery (/api, /apis); disk cache under cache_dir; process memory cache",
    "kubernetes.dynamic": "LazyDiscoverer: /version, /apis, then the CRD's group-version; cache_file on disk; "
                          "a new DynamicClient re-reads the file (no process memory cache)",
    "kr8s": "every group-version fetched one after another; no disk cache; kr8s.api() returns its cached Api "
            "and its 6 h memory cache of api_resources; names are looked up with a LIST + fieldSelector",
    "lightkube": "no discovery API: load_in_cluster_generic_resources() LISTs every CRD once (process-global "
                 "registry); no disk cache",
    "lightkube (declared)": "reference: group, version, kind and plural written in the program, no discovery",
    "raw": "floor: requests.Session from the kubeconfig, one GET of the object URL written in the program",
}


# ---- worker ----------------------------------------------------------------------------------

def profile_worker(phase: str, kubeconfig: str, group: str) -> None:
    """cProfile of dynkube's construction -> first object in PHASE (cold, disk or memory)."""
    cache = tempfile.mkdtemp(prefix="dynkube-bench-profile-")
    try:
        first = _dynkube(kubeconfig, cache, group)
        if phase in ("disk", "memory"):
            first()
        if phase == "disk":
            from dynkube import discovery

            discovery.clear_memory_cache()
        print(_common.profile(first))
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def worker(argv: list[str]) -> None:
    """``--worker CONTENDER PHASE KUBECONFIG CACHE GROUP``: one timed first object in this fresh
    interpreter (PHASE cold or disk), then for cold ``MEMORY_REPEATS`` new clients (warm in memory)."""
    if argv[0] == "profile":
        profile_worker(*argv[1:])
        return
    name, phase, kubeconfig, cache, group = argv
    first = CONTENDERS[name](kubeconfig, cache, group)  # imports happen here, before the clock
    counter = _common.RequestCounter().install()
    object_prefix = f"/apis/{group}/v1/namespaces/{_common.BENCH_NAMESPACE}/{PLURAL}"

    def measure() -> dict[str, Any]:
        counter.reset()
        started, cpu_started = time.perf_counter(), time.process_time()
        got, extra = first()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        assert got == OBJECT, got
        discovery = [r for r in counter.requests if not r.split(" ", 1)[1].startswith(object_prefix)]
        return {"seconds": seconds, "cpu": cpu, "requests": counter.count, "discovery_requests": len(discovery),
                "paths": counter.requests[:6] + (["..."] if counter.count > 6 else []), **extra}

    result = {phase: measure()}
    if phase == "cold":
        memory = [measure() for _ in range(MEMORY_REPEATS)]
        result["memory"] = {**memory[-1], "seconds": _common.median(m["seconds"] for m in memory),
                            "cpu": _common.median(m["cpu"] for m in memory),
                            "requests": max(m["requests"] for m in memory),
                            "discovery_requests": max(m["discovery_requests"] for m in memory)}
    _common.emit(result)


# ---- the benchmark ---------------------------------------------------------------------------

def run(options: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = _common.kubeconfig_path()
    admin = _common.admin_client(kubeconfig)
    if options.cleanup:
        print(f"deleted {cleanup(admin)} benchmark CRDs")
        return {"tables": [], "cleanup": True}
    if options.profile:
        group = group_name(options.groups - 1)
        worker(["profile", options.profile, str(kubeconfig), group])
        return {"tables": [], "profile": options.profile}
    setup = ensure_crds(admin, options.groups)
    group = group_name(options.groups - 1)
    ensure_object(admin, group)
    admin.close()
    facts = server_facts(kubeconfig)
    print(f"setup: {setup}; server: {facts['groups']} groups, {facts['crds']} CRDs, discovery bytes {facts['bytes']}",
          flush=True)

    runs = 2 if options.quick else options.runs
    env = _common.child_env()
    script = Path(__file__).resolve()
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {"cold": [], "disk": [], "memory": []} for n in CONTENDERS}
    errors: dict[str, str] = {}
    root = Path(tempfile.mkdtemp(prefix="dynkube-bench-discovery-"))
    try:
        for attempt in range(runs + 1):  # the first round warms the OS caches and is dropped
            for name in CONTENDERS:
                if name in errors:
                    continue
                cache = root / f"{name.replace(' ', '_')}-{attempt}"
                cache.mkdir()
                cold = _common.run_worker(script, [name, "cold", str(kubeconfig), str(cache), group],
                                          timeout=WORKER_TIMEOUT, env=env)
                disk = _common.run_worker(script, [name, "disk", str(kubeconfig), str(cache), group],
                                          timeout=WORKER_TIMEOUT, env=env)
                for answer in (cold, disk):
                    if "error" in answer:
                        errors[name] = answer["error"]
                if name in errors or attempt == 0:
                    continue
                samples[name]["cold"].append(cold["cold"])
                samples[name]["memory"].append(cold["memory"])
                samples[name]["disk"].append(disk["disk"])
                print(f"  {name:<22} cold {cold['cold']['seconds']:.3f} s / {cold['cold']['requests']} req, "
                      f"disk {disk['disk']['seconds']:.3f} s / {disk['disk']['requests']} req, memory "
                      f"{cold['memory']['seconds']:.4f} s / {cold['memory']['requests']} req", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    rows = []
    for phase, label in (("cold", "cold"), ("disk", "warm disk"), ("memory", "warm memory")):
        for name in CONTENDERS:
            s = samples[name][phase]
            if not s:
                rows.append({"name": name, "phase": label, "error": errors.get(name, "no samples")})
                continue
            row = {"name": name, "phase": label, "seconds": _common.median(x["seconds"] for x in s),
                   "min": min(x["seconds"] for x in s), "cpu": _common.median(x["cpu"] for x in s),
                   "requests": _common.median(x["requests"] for x in s),
                   "discovery_requests": _common.median(x["discovery_requests"] for x in s),
                   "paths": s[-1]["paths"]}
            if phase == "disk" and not DISK_CACHE.get(name) and name not in ("raw", "lightkube (declared)"):
                row["note"] = "no disk cache: a fresh process starts cold"
            if "discovery_stats" in s[-1]:
                row["discovery_stats"] = s[-1]["discovery_stats"]
            rows.append(row)
    t = _common.table(
        f"Client() -> first GET of a CRD object, {facts['groups']} API groups ({options.groups} bench CRD groups); "
        f"median of {runs} fresh interpreters", rows,
        [("seconds", "time", "s"), ("min", "min", "s"), ("cpu", "client CPU", "s"), ("requests", "HTTP requests", "n"),
         ("discovery_requests", "discovery req.", "n")],
        ratios=["seconds", "cpu"], group_key="phase",
        notes=[f"{n}: {t}" for n, t in NOTES.items()]
        + ["targets: dynkube 2 discovery requests cold, 0 warm; faster than every anchor",
           "warm disk for contenders without a disk cache = a fresh process, i.e. cold again"])
    dyn = {r["phase"]: r for r in rows if r["name"] == "dynkube"}
    anchors = [r for r in rows if r["name"] in ("kubernetes.dynamic", "kr8s", "lightkube")]
    targets = {
        "cold_2_requests": {"value": dyn["cold"].get("discovery_requests"),
                            "met": dyn["cold"].get("discovery_requests") == 2},
        "warm_0_requests": {"value": [dyn["warm disk"].get("discovery_requests"),
                                      dyn["warm memory"].get("discovery_requests")],
                            "met": dyn["warm disk"].get("discovery_requests") == 0
                            and dyn["warm memory"].get("discovery_requests") == 0},
        "faster_than_anchors": {
            f"{r['name']} {r['phase']}": {"ratio_anchor_over_dynkube":
                                          (1 / r["seconds/base"]) if r.get("seconds/base") else None,
                                          "met": bool(r.get("seconds/base") and r["seconds/base"] > 1)}
            for r in anchors},
    }
    return {"tables": [t], "setup": setup, "server": facts, "errors": errors, "targets": targets,
            "object": f"{PLURAL}.{group}/{OBJECT} in {_common.BENCH_NAMESPACE}"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--groups", type=int, default=DEFAULT_GROUPS, help="benchmark CRD groups (default 160)")
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per contender and phase")
    parser.add_argument("--cleanup", action="store_true", help="delete the benchmark CRDs and exit")
    parser.add_argument("--profile", choices=("cold", "disk", "memory"),
                        help="print a cProfile of dynkube's construction -> first object in this phase and exit "
                             "(the CRDs must exist: run once without it first)")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_discovery", run, worker, add_arguments))
