"""Client-side validation: the time to validate 1,000 Deployments with the schema compiled once and reused, and
the time and HTTP requests of the first validation of a kind, cold and warm.

- 1,000 Deployments (1-3 containers each, with ports, env, resources, probes) validated through
  ``client.validate`` (strict and default mode), then 1,000 that each have three mistakes; median of
  ``--runs`` passes after one warm-up pass. The floor is jsonschema's plain Draft 2020-12 validator on the same
  converted schema (``client.schemas.json_schema``), i.e. without dynkube's Kubernetes rules (null = unset,
  unknown fields, Go integers, paths). None of the other Python clients (kubernetes, kr8s, lightkube)
  validates client-side, so there is no anchor to compare with.
- First validation of a kind (Deployment: apps/v1; ConfigMap: the core v1 document, the largest; Gizmo: a
  CRD's document), each measurement a fresh interpreter with dynkube imported before the clock starts:
  cold = an empty cache directory (discovery is cold too); warm disk = a fresh interpreter reusing that
  directory; warm memory = the same kind again in the interpreter that did the cold run. Requests are
  counted by wrapping the client's transport.
- Where the cold time goes, measured in this process on the live documents: GET, JSON parse, conversion to
  JSON Schema, compiling plus the first validation; and ``import jsonschema`` in a fresh interpreter.

    python benchmarks/bench_schema.py [--runs 5] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

OBJECTS = 1000
WORKER_TIMEOUT = 120.0
GIZMO_CRDS = _common.ROOT / "fixtures" / "crds" / "gizmos.yaml"
KINDS = {
    "Deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                   "spec": {"selector": {"matchLabels": {"a": "b"}},
                            "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}},
    "ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}},
    "Gizmo": {"apiVersion": "fixtures.dynkube.io/v1", "kind": "Gizmo", "metadata": {"name": "g"},
              "spec": {"size": "small"}},
}


def deployment(i: int, *, broken: bool = False) -> dict[str, Any]:
    """A realistic Deployment (1-3 containers); ``broken`` puts three mistakes in its first container."""
    containers = []
    for c in range(1 + i % 3):
        containers.append({
            "name": f"c{c}", "image": f"registry.example/app{c}:{i}", "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": 8080 + c, "protocol": "TCP"}],
            "env": [{"name": "MODE", "value": "prod"}, {"name": "POD", "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.name"}}}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": 1, "memory": "256Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5},
        })
    if broken:
        containers[0]["ports"][0]["containerPort"] = "eighty"
        containers[0]["imagePullPolicy"] = "Sometimes"
        containers[0]["resources"]["limits"]["cpu"] = "1GB"
    labels = {"app": f"app-{i}", "tier": "web"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"app-{i}", "namespace": "bench", "labels": labels},
            "spec": {"replicas": i % 5, "selector": {"matchLabels": labels},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}}}


def count_requests(client: Any) -> list[str]:
    """Paths of the requests ``client`` sends from now on (our own transport, instrumented)."""
    calls: list[str] = []
    send = client.transport.request

    def counting(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(path)
        return send(method, path, *args, **kwargs)

    client.transport.request = counting
    return calls


# ---- worker: the first validation of a kind in a fresh interpreter ------------------------------------------

def worker(argv: list[str]) -> None:
    """``--worker KIND PHASE KUBECONFIG CACHE``: PHASE cold (then the same kind again: warm memory) or disk."""
    kind, phase, kubeconfig, cache = argv
    import dynkube  # before the clock: import time is bench_import's subject

    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=cache, qps=None)
    calls = count_requests(client)
    obj = KINDS[kind]

    def measure() -> dict[str, Any]:
        calls.clear()
        started, cpu_started = time.perf_counter(), time.process_time()
        issues = client.validate(obj, strict=True)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        assert issues == [], issues
        schema = [p for p in calls if p.startswith("/openapi")]
        return {"seconds": seconds, "cpu": cpu, "requests": len(calls), "schema_requests": len(schema),
                "paths": list(calls)}

    result = {phase: measure()}
    if phase == "cold":
        result["memory"] = measure()
    client.close()
    _common.emit(result)


# ---- in-process measurements ---------------------------------------------------------------------------------

def bulk(client: Any, runs: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate 1,000 Deployments: dynkube strict / default / invalid, and the plain-jsonschema floor."""
    from jsonschema import Draft202012Validator

    valid = [deployment(i) for i in range(OBJECTS)]
    broken = [deployment(i, broken=True) for i in range(OBJECTS)]
    assert client.validate(valid[0], strict=True) == []  # fetch, convert and compile once, outside the clock
    assert len(client.validate(broken[0], strict=True)) == 3
    plain = Draft202012Validator(client.schemas.json_schema("apps", "v1", "Deployment"))

    def dynkube_pass(objects: list[dict[str, Any]], strict: bool, expected: int) -> None:
        for obj in objects:
            assert len(client.validate(obj, strict=strict)) == expected

    def floor_pass() -> None:
        for obj in valid:
            for _ in plain.iter_errors(obj):
                raise AssertionError("the floor found an error in a valid object")

    contenders = {
        "dynkube": lambda: dynkube_pass(valid, True, 0),
        "dynkube (default mode)": lambda: dynkube_pass(valid, False, 0),
        "dynkube (3 issues each)": lambda: dynkube_pass(broken, True, 3),
        "raw": floor_pass,
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    requests: dict[str, int] = {}
    calls = count_requests(client)
    for attempt in range(runs + 1):  # the first round is a warm-up and is dropped
        for name, fn in contenders.items():
            calls.clear()
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
            if attempt:
                samples[name].append(elapsed)
                requests[name] = max(requests.get(name, 0), len(calls))
    rows = []
    for name, values in samples.items():
        seconds = _common.median(values)
        rows.append({"name": name, "seconds": seconds, "per_object": seconds / OBJECTS, "min": min(values),
                     "requests": requests[name]})
    t = _common.table(
        f"validate {OBJECTS:,} Deployments (1-3 containers each), schema compiled once; median of {runs} passes",
        rows, [("seconds", f"{OBJECTS:,} objects", "s"), ("per_object", "per object", "s"), ("min", "min", "s"),
               ("requests", "HTTP requests", "n")],
        ratios=["seconds"],
        notes=["dynkube = client.validate(obj, strict=True): resolves the kind, reports every issue with its path",
               "raw = jsonschema Draft202012Validator.iter_errors on the same converted schema, without dynkube's "
               "Kubernetes rules (the floor; no other Python client validates client-side)",
               "an invalid object may refetch the index (at most once a second) in case the schema changed"])
    return t, rows


def phases(kubeconfig: Path, runs: int) -> dict[str, Any]:
    """Where the cold time goes, for each kind's document, measured here on the live server."""
    import dynkube
    from dynkube import schema

    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=False, qps=None)
    rows = []
    for kind, obj in KINDS.items():
        resource = client.resource_for(obj).resource
        key = schema.gv_path(resource.group, resource.version)
        index = schema.parse_index(client.transport.request("GET", schema.INDEX_PATH).content)
        url = index[key].url
        path, _, query = url.partition("?")
        timings: dict[str, list[float]] = {"get": [], "parse": [], "convert": [], "compile": []}
        size = 0
        for _ in range(runs):
            t0 = time.perf_counter()
            body = client.transport.request("GET", path, params=dict([query.split("=", 1)]) if query else None,
                                            headers={"Accept": "application/json"}).content
            t1 = time.perf_counter()
            doc = schema.parse_document(body, url)
            t2 = time.perf_counter()
            model = schema.find_model(doc, resource.group, resource.version, resource.kind)
            converted = schema.to_json_schema(doc, model)
            t3 = time.perf_counter()
            issues = schema.validation.CompiledSchema(converted).issues(obj, strict=True)
            t4 = time.perf_counter()
            assert issues == [], issues
            size = len(body)
            for name, value in zip(timings, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                timings[name].append(value)
        rows.append({"name": "dynkube", "kind": kind, "document": key, "bytes": size,
                     **{name: _common.median(values) for name, values in timings.items()}})
    client.close()
    importing = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); import jsonschema; "
                               "print(time.perf_counter() - t)"], capture_output=True, text=True, timeout=60,
                              env=_common.child_env())
        importing.append(float(done.stdout.strip()))
    return _common.table(
        f"where a cold first validation spends its time (median of {runs}; in this process)", rows,
        [("document", "document", ""), ("bytes", "size", "B"), ("get", "GET", "s"), ("parse", "JSON parse", "s"),
         ("convert", "convert", "s"), ("compile", "compile + 1st validation", "s")],
        base=None, floor=None, group_key="kind",
        notes=[f"import jsonschema (once per process, on the first validation): "
               f"{_common.fmt_value(_common.median(importing), 's')} in a fresh interpreter"])


# ---- the benchmark --------------------------------------------------------------------------------------------

def run(options: argparse.Namespace) -> dict[str, Any]:
    import dynkube

    kubeconfig = _common.kubeconfig_path()
    admin = _common.admin_client(kubeconfig)
    results = dynkube.apply_manifests(admin, GIZMO_CRDS)
    if not all(r.ok for r in results):
        sys.exit(f"bench_schema: cannot install {GIZMO_CRDS}: {[str(r) for r in results]}")
    runs = 2 if options.quick else options.runs

    bulk_table, bulk_rows = bulk(admin, runs)
    print(_common.render(bulk_table), "\n", flush=True)

    script = Path(__file__).resolve()
    env = _common.child_env()
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    errors: dict[str, str] = {}
    root = Path(tempfile.mkdtemp(prefix="dynkube-bench-schema-"))
    try:
        for attempt in range(runs + 1):  # the first round warms the OS caches and is dropped
            for kind in KINDS:
                cache = root / f"{kind}-{attempt}"
                cache.mkdir()
                cold = _common.run_worker(script, [kind, "cold", str(kubeconfig), str(cache)],
                                          timeout=WORKER_TIMEOUT, env=env)
                disk = _common.run_worker(script, [kind, "disk", str(kubeconfig), str(cache)],
                                          timeout=WORKER_TIMEOUT, env=env)
                for answer in (cold, disk):
                    if "error" in answer:
                        errors[kind] = answer["error"]
                if kind in errors or attempt == 0:
                    continue
                for phase, answer in (("cold", cold), ("memory", cold), ("disk", disk)):
                    samples.setdefault((kind, phase), []).append(answer[phase])
                print(f"  {kind:<11} cold {cold['cold']['seconds'] * 1000:.0f} ms / {cold['cold']['requests']} req, "
                      f"warm disk {disk['disk']['seconds'] * 1000:.0f} ms / {disk['disk']['requests']} req, "
                      f"warm memory {cold['memory']['seconds'] * 1e6:.0f} us / {cold['memory']['requests']} req",
                      flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    rows = []
    for phase, label in (("cold", "cold"), ("disk", "warm disk"), ("memory", "warm memory")):
        for kind in KINDS:
            s = samples.get((kind, phase))
            if not s:
                rows.append({"name": kind, "phase": label, "error": errors.get(kind, "no samples")})
                continue
            rows.append({"name": kind, "phase": label, "seconds": _common.median(x["seconds"] for x in s),
                         "min": min(x["seconds"] for x in s), "cpu": _common.median(x["cpu"] for x in s),
                         "requests": _common.median(x["requests"] for x in s),
                         "schema_requests": _common.median(x["schema_requests"] for x in s), "paths": s[-1]["paths"]})
    first = _common.table(
        f"first validation of a kind (client.validate, strict); median of {runs} fresh interpreters", rows,
        [("seconds", "time", "s"), ("min", "min", "s"), ("cpu", "CPU", "s"), ("requests", "HTTP requests", "n"),
         ("schema_requests", "of which OpenAPI", "n")],
        base=None, floor=None, group_key="phase",
        notes=["cold: empty cache directory, so discovery (/api, /apis) is cold too; jsonschema is imported here",
               "warm disk: a fresh interpreter, same cache directory: only the OpenAPI index is asked",
               "warm memory: the same kind again in the cold interpreter"])
    where = phases(kubeconfig, runs)
    admin.close()

    by_name = {r["name"]: r for r in bulk_rows}
    cold_requests = {r["name"]: r.get("schema_requests") for r in rows if r["phase"] == "cold"}
    warm_requests = {r["name"]: r.get("schema_requests") for r in rows if r["phase"] == "warm disk"}
    targets = {
        "first_validation_schema_requests": {"cold": cold_requests, "warm_disk": warm_requests,
                                             "met": all(v == 2 for v in cold_requests.values())
                                             and all(v == 1 for v in warm_requests.values())},
        "per_deployment_seconds": by_name["dynkube"]["per_object"],
    }
    return {"tables": [bulk_table, first, where], "errors": errors, "targets": targets}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="passes / fresh interpreters per measurement")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_schema", run, worker, add_arguments))
