"""Metadata-only lists against full lists, and the owner tree of a large namespace.

Lists: ``--objects`` ConfigMaps ``bench-meta-cm-NNNNN`` and as many Secrets ``bench-meta-s-NNNNN``
with 1 KB of random base64 data each, labelled ``dynkube-bench-meta=true``, in the namespace
``dynkube-bench-meta`` (reused when present). Each measurement is a fresh interpreter that builds a
client, does discovery and reads one page of one item, then keeps every item of
``list(label_selector=..., metadata_only=...)`` in memory (as an inventory would) and reports the
bytes read from the TLS socket (headers included; gzip-compressed where the server compresses), the client
CPU time (user + system) and the peak RSS growth (VmHWM reset just before).

Owner tree: a ConfigMap ``bench-root`` in the namespace ``dynkube-bench-tree`` owning ``--tree``
objects (default 2,000) spread over 20 kinds, and ``owners.owner_tree`` of it: HTTP requests and
wall time, discovery already done.

    python benchmarks/bench_metadata.py [--objects 10000] [--tree 2000] [--runs 3] [--cleanup] [--json PATH]
"""

from __future__ import annotations

import argparse
import base64
import random
import ssl
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

LIST_NS = "dynkube-bench-meta"
TREE_NS = "dynkube-bench-tree"
LABEL = "dynkube-bench-meta"
WORKER_TIMEOUT = 900.0
CONTAINERS = [{"name": "c", "image": "registry.invalid/none"}]
POD = {"metadata": {"labels": {"bench": "tree"}}, "spec": {"containers": CONTAINERS}}
JOB_POD = {"spec": {"containers": CONTAINERS, "restartPolicy": "Never"}}

# 20 kinds whose objects need no controller to act (replicas 0, suspended), with a minimal body each
TREE_KINDS: dict[str, dict[str, Any]] = {
    "configmaps": {"data": {"k": "v"}},
    "secrets": {"stringData": {"k": "v"}},
    "serviceaccounts": {},
    "roles.rbac.authorization.k8s.io": {"rules": []},
    "rolebindings.rbac.authorization.k8s.io": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                           "kind": "Role", "name": "none"}},
    "podtemplates": {"template": {"spec": {"containers": CONTAINERS}}},
    "endpointslices.discovery.k8s.io": {"addressType": "IPv4", "endpoints": []},
    "leases.coordination.k8s.io": {"spec": {}},
    "limitranges": {"spec": {"limits": []}},
    "networkpolicies.networking.k8s.io": {"spec": {"podSelector": {}}},
    "poddisruptionbudgets.policy": {"spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"none": "x"}}}},
    "controllerrevisions.apps": {"revision": 1, "data": {}},
    "persistentvolumeclaims": {"spec": {"accessModes": ["ReadWriteOnce"],
                                        "resources": {"requests": {"storage": "1Gi"}}}},
    "gizmos.fixtures.dynkube.io": {"spec": {"size": "small"}},
    "services": {"spec": {"clusterIP": "None", "selector": {"none": "x"}}},
    "replicasets.apps": {"spec": {"replicas": 0, "selector": {"matchLabels": {"bench": "tree"}}, "template": POD}},
    "statefulsets.apps": {"spec": {"replicas": 0, "selector": {"matchLabels": {"bench": "tree"}}, "template": POD}},
    "jobs.batch": {"spec": {"suspend": True, "template": JOB_POD}},
    "cronjobs.batch": {"spec": {"schedule": "0 0 1 1 *", "suspend": True,
                                "jobTemplate": {"spec": {"template": JOB_POD}}}},
    "ingresses.networking.k8s.io": {"spec": {"defaultBackend": {"service": {"name": "none",
                                                                            "port": {"number": 80}}}}},
}


# ---- setup -----------------------------------------------------------------------------------

def _create_all(create: Callable[[int], None], count: int) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(count)))


def payload(i: int) -> str:
    """1 KB of base64 text (as random as a key or a certificate: it does not compress away)."""
    return base64.b64encode(random.Random(i).randbytes(768)).decode()


def ensure_lists(kubeconfig: Path, objects: int) -> None:
    import dynkube

    client = _common.admin_client(kubeconfig)
    _common.ensure_namespace(client, LIST_NS)
    for plural, prefix, field in (("configmaps", "bench-meta-cm", "data"), ("secrets", "bench-meta-s", "stringData")):
        rc = client.resource(plural)
        have = {o.metadata.name for o in rc.list(LIST_NS, label_selector=f"{LABEL}=true", metadata_only=True)}

        def create(i: int, rc: Any = rc, prefix: str = prefix, field: str = field, have: set[str] = have) -> None:
            name = f"{prefix}-{i:05d}"
            if name not in have:
                body = {"metadata": {"name": name, "labels": {LABEL: "true"}}, field: {"payload": payload(i)}}
                try:
                    rc.create(body, LIST_NS)
                except dynkube.AlreadyExists:
                    pass

        _create_all(create, objects)


def ensure_tree(kubeconfig: Path, count: int) -> dict[str, Any]:
    import dynkube

    client = _common.admin_client(kubeconfig)
    dynkube.apply_manifests(client, _common.ROOT / "fixtures" / "crds" / "gizmos.yaml")
    _common.ensure_namespace(client, TREE_NS)
    configmaps = client.resource("configmaps")
    try:
        root = configmaps.get("bench-root", TREE_NS)
    except dynkube.NotFound:
        root = configmaps.create({"metadata": {"name": "bench-root"}}, TREE_NS)
    owner = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "bench-root", "uid": root.metadata.uid}]
    kinds = list(TREE_KINDS)
    resources = {plural: client.resource(plural) for plural in kinds}

    def create(i: int) -> None:
        plural = kinds[i % len(kinds)]
        body = {"metadata": {"name": f"bench-{i:05d}", "ownerReferences": owner}, **TREE_KINDS[plural]}
        try:
            resources[plural].create(body, TREE_NS)
        except dynkube.AlreadyExists:
            pass

    _create_all(create, count)
    return dict(root)


# ---- workers -----------------------------------------------------------------------------------

class SocketBytes:
    """Bytes read from TLS sockets in this process (decrypted: HTTP headers and bodies)."""

    def __init__(self) -> None:
        self.total = 0
        original = ssl.SSLSocket.recv_into
        counter = self

        def counted(sock: ssl.SSLSocket, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
            n = original(sock, buffer, nbytes, flags)
            counter.total += n
            return n

        ssl.SSLSocket.recv_into = counted  # type: ignore[method-assign, assignment]


def list_worker(args: list[str]) -> None:
    import resource as rlimits

    import dynkube

    kubeconfig, plural, mode = Path(args[0]), args[1], args[2]
    counter = SocketBytes()
    client = dynkube.Client(kubeconfig=kubeconfig, qps=None, cache_dir=False)
    rc = client.resource(plural)
    next(iter(rc.list_pages(LIST_NS, limit=1)))  # discovery and the connection; one page of one item
    counter.total = 0
    _common.reset_peak_rss()
    before_rss = _common.rss_bytes()
    usage = rlimits.getrusage(rlimits.RUSAGE_SELF)
    started = time.monotonic()
    items = list(rc.list(LIST_NS, label_selector=f"{LABEL}=true", metadata_only=mode == "metadata"))
    names = sum(1 for item in items if item.metadata.name)
    wall = time.monotonic() - started
    after = rlimits.getrusage(rlimits.RUSAGE_SELF)
    _common.emit({"items": names, "bytes": counter.total, "wall_s": wall,
                  "cpu_s": (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime),
                  "peak_rss": _common.peak_rss_bytes() - before_rss})


def tree_worker(args: list[str]) -> None:
    import dynkube
    from dynkube.owners import owner_tree

    kubeconfig = Path(args[0])
    client = dynkube.Client(kubeconfig=kubeconfig, cache_dir=False)
    root = client.resource("configmaps").get("bench-root", TREE_NS)
    client.api_resources()
    counter = _common.RequestCounter().install()
    started = time.monotonic()
    tree = owner_tree(client, root)
    wall = time.monotonic() - started

    def size(node: Any) -> int:
        return 1 + sum(size(child) for child in node.children)

    _common.emit({"nodes": size(tree), "requests": counter.count, "wall_s": wall})


def worker(args: list[str]) -> None:
    (tree_worker if args[0] == "tree" else list_worker)(args[1:])


# ---- the benchmark -------------------------------------------------------------------------------

def cleanup(kubeconfig: Path) -> None:
    import dynkube

    client = _common.admin_client(kubeconfig)
    for namespace in (LIST_NS, TREE_NS):
        try:
            client.resource("namespaces").delete(namespace)
        except dynkube.NotFound:
            pass


def _median_run(script: Path, args: list[str], runs: int) -> dict[str, Any]:
    results = [_common.run_worker(script, args, timeout=WORKER_TIMEOUT, env=_common.child_env())
               for _ in range(runs)]
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(errors[0])
    return {key: _common.median(r[key] for r in results) for key in results[0]}


def run(options: argparse.Namespace) -> dict[str, Any]:
    kubeconfig = _common.kubeconfig_path()
    if options.cleanup:
        cleanup(kubeconfig)
        return {"tables": []}
    script = Path(__file__).resolve()
    runs = 1 if options.quick else options.runs
    started = time.monotonic()
    ensure_lists(kubeconfig, options.objects)
    ensure_tree(kubeconfig, options.tree)
    setup_s = time.monotonic() - started
    rows = []
    for plural in ("configmaps", "secrets"):
        for mode in ("full", "metadata"):
            measured = _median_run(script, ["list", str(kubeconfig), plural, mode], runs)
            rows.append({"name": mode, "kind": plural, **measured})
    lists = _common.table(
        f"list {options.objects:,} objects of 1 KB data, kept in memory (median of {runs})", rows,
        [("items", "items", "n"), ("bytes", "bytes received", "B"), ("cpu_s", "client CPU", "s"),
         ("peak_rss", "peak RSS growth", "B"), ("wall_s", "wall", "s")],
        ratios=("bytes", "cpu_s", "peak_rss"), base="full", floor=None, group_key="kind",
        notes=["metadata: Accept PartialObjectMetadataList; full: the objects as JSON"])
    tree = _median_run(script, ["tree", str(kubeconfig)], runs)
    trees = _common.table(f"owner tree of a namespace with {options.tree:,} objects across {len(TREE_KINDS)} kinds "
                          f"(median of {runs})", [{"name": "dynkube", **tree}],
                          [("nodes", "tree nodes", "n"), ("requests", "HTTP requests", "n"),
                           ("wall_s", "wall", "s")], base=None, floor=None)
    return {"tables": [lists, trees], "setup_s": round(setup_s, 1)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--objects", type=int, default=10_000, help="ConfigMaps and Secrets each (default 10000)")
    parser.add_argument("--tree", type=int, default=2_000, help="objects owned by the tree's root (default 2000)")
    parser.add_argument("--runs", type=int, default=3, help="fresh interpreters per measurement (default 3)")
    parser.add_argument("--cleanup", action="store_true", help="delete the benchmark's namespaces and exit")


if __name__ == "__main__":
    sys.exit(_common.bench_main("bench_metadata", run, worker, add_arguments))
