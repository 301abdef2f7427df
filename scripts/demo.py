#!/usr/bin/env python3
"""The dynkube tour (`make demo`), against the local real control plane started by `scripts/envtest up`.

Explores what the cluster serves, installs a CRD and finds its kind at once, explains a field,
catches a bad object before sending it, works with custom objects (create, list, patch, apply,
scale, delete) and watches them live, keeps a local copy with an informer; then shows part of the
same through the command line, an export of the namespace and an offline explain from a snapshot, and the
generic tools (describe, an ownership tree, diff), and goes inside a pod of a Deployment (logs, exec,
port-forward).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import dynkube
from dynkube.rollout import wait_for_rollout

ROOT = Path(__file__).resolve().parents[1]
KUBECONFIG = Path(os.environ.get("DYNKUBE_DEMO_KUBECONFIG", ROOT / ".envtest" / "run" / "kubeconfig"))


def step(title: str) -> None:
    print(f"\n=== {title}")


def main() -> None:
    client = dynkube.Client(kubeconfig=KUBECONFIG)
    version = client.version()
    print(f"connected to {client.config.server} (Kubernetes {version.gitVersion}) as context {client.config.context!r}")

    step("1. What does this cluster serve?")
    started = time.monotonic()
    resources = client.api_resources()
    by_group = Counter(r.group or "core" for r in resources)
    print(f"{len(resources)} resources in {len(by_group)} API groups, learned in "
          f"{(time.monotonic() - started) * 1000:.0f} ms with {client.discovery.stats['requests']} requests "
          "(0 when the discovery cache is warm)")
    for group, count in sorted(by_group.items())[:8]:
        print(f"  {group:<32} {count:>3} resources")
    for name in ("deploy", "Deployment", "deployments.apps", "apps/v1/Deployment", "hpa", "cm"):
        r = client.resource(name)
        print(f"  {name!r:<22} -> {r.plural}.{r.api_version} ({r.kind})")

    step("2. Install a CRD and use its kind immediately (discovery refreshes on a miss)")
    for result in dynkube.apply_manifests(client, ROOT / "fixtures" / "crds" / "gizmos.yaml"):
        print(f"  {result}")
    gizmos = client.resource("gz")
    print(f"  'gz' -> {gizmos.plural}.{gizmos.api_version}, subresources: "
          f"{', '.join(s.name for s in gizmos.resource.subresources)}")

    step("3. Explain a field of the CRD (from the server's OpenAPI v3)")
    print(indent(client.explain("gizmo.spec.size").render()))

    step("4. Catch a mistake before sending it")
    namespace = f"demo-{uuid.uuid4().hex[:6]}"
    client.resource("namespaces").create({"metadata": {"name": namespace}})
    bad = {"apiVersion": "fixtures.dynkube.io/v1", "kind": "Gizmo", "metadata": {"name": "oops"},
           "spec": {"size": "huge", "replicas": "three"}}
    try:
        gizmos.create(bad, namespace, validate=True)
    except dynkube.ValidationFailed as exc:
        print(f"  refused before sending: {exc}")

    step("5. Work with custom objects through the dynamic client, watching them live")
    seen: list[str] = []
    watcher = gizmos.watch(namespace, resource_version=gizmos.list_page(namespace).resource_version)

    def follow() -> None:
        for event in watcher:
            if event.type is not dynkube.EventType.BOOKMARK:
                seen.append(f"{event.type.value} {event.object.metadata.name}")

    threading.Thread(target=follow, daemon=True).start()
    gizmos.create({"metadata": {"name": "alpha"}, "spec": {"size": "small", "replicas": 1}}, namespace)
    gizmos.apply({"apiVersion": "fixtures.dynkube.io/v1", "kind": "Gizmo", "metadata": {"name": "beta"},
                  "spec": {"size": "large", "replicas": 2}}, namespace, field_manager="demo")
    gizmos.patch("alpha", {"spec": {"size": "medium"}}, namespace)
    gizmos.patch("beta", {"spec": {"replicas": 5}}, namespace, subresource="scale")
    for g in gizmos.list(namespace):
        print(f"  {g.metadata.name}: size={g.spec.size} replicas={g.spec.replicas}")
    gizmos.delete("alpha", namespace)
    deadline = time.monotonic() + 30
    while len(seen) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    watcher.stop()
    print("  watch saw: " + "; ".join(seen))

    step("6. An informer: a local copy of the gizmos whose handlers hear every change")
    informer = dynkube.Informer(gizmos, namespace)
    heard: list[str] = []  # what the handlers printed, in order (they run on the informer's thread)

    def say(line: str) -> None:
        print(line)
        heard.append(line)

    informer.add_handler(
        on_add=lambda g, initial: say(f"  + {g.metadata.name}" + (" (initial list)" if initial else "")),
        on_update=lambda old, new: say(f"  ~ {new.metadata.name}: size {old.spec.size} -> {new.spec.size}")
        if old.spec.size != new.spec.size else None,
        on_delete=lambda g: say(f"  - {g.key if isinstance(g, dynkube.DeletedFinalStateUnknown) else g.metadata.name}"))
    with informer:
        informer.wait_for_sync(30)
        gizmos.patch("beta", {"spec": {"size": "small"}}, namespace)
        gizmos.delete("beta", namespace)
        deadline = time.monotonic() + 30  # until the delete handler has run, not just the store emptied
        while not any(line.startswith("  - ") for line in heard) and time.monotonic() < deadline:
            time.sleep(0.05)
    print(f"  cache now holds {len(informer.list())} gizmos (streaming list: {informer.uses_watch_list})")

    step("7. The same cluster through the command line (dynkube get / tree)")
    cli = [sys.executable, "-m", "dynkube.cli", "--kubeconfig", str(KUBECONFIG)]
    gizmos.create({"metadata": {"name": "gamma"}, "spec": {"size": "large", "replicas": 2}}, namespace)
    for args in (["get", "gizmos", "-n", namespace], ["tree", "--api-group", "fixtures.dynkube.io", "--count"]):
        print(f"  $ dynkube {' '.join(args)}")
        output = subprocess.run(cli + args, capture_output=True, text=True)
        print(indent(output.stdout.rstrip() or output.stderr.rstrip()))

    step("8. Export the namespace as clean YAML, and explore the cluster offline from a snapshot")
    with tempfile.TemporaryDirectory() as work:
        for args in (["export", f"{work}/backup", "-n", namespace], ["snapshot", "save", f"{work}/cluster.snap"],
                     ["--snapshot", f"{work}/cluster.snap", "explain", "gizmos.spec.replicas"]):
            print(f"  $ dynkube {' '.join(args).replace(work + '/', '')}")
            output = subprocess.run(cli + args, capture_output=True, text=True)
            print(indent((output.stdout.rstrip() or output.stderr.rstrip()).replace(work + "/", "")))
        files = sorted(str(p.relative_to(work)) for p in Path(work, "backup").rglob("*.yaml"))
        print(indent("\n".join(files)))

    tools_tour(client, cli, namespace)
    pods_tour(client, namespace)

    client.resource("namespaces").delete(namespace)
    print(f"\nThe control plane is still running. Use it with:\n  export KUBECONFIG={KUBECONFIG}\n"
          "  kubectl get gizmos -A      # or: .venv/bin/dynkube get gizmos -A\n"
          "Stop it with:\n  scripts/envtest down")


def tools_tour(client: dynkube.Client, cli: list[str], namespace: str) -> None:
    """Step 9: the generic tools on a Deployment whose pods run on the kwok nodes: describe, its
    ownership tree, and a diff of a changed manifest (nothing is changed by the diff)."""
    step("9. Generic tools: describe, tree KIND NAME, diff")
    labels = {"app": "shop"}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop", "namespace": namespace},
                  "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
                      "metadata": {"labels": labels},
                      "spec": {"containers": [{"name": "app", "image": "registry.example/shop:1"}]}}}}
    dynkube.apply_manifests(client, [deployment])
    deployments = client.resource("deployments")
    print(f"  {wait_for_rollout(client, deployments.get('shop', namespace), timeout=60).message}")
    deployment["spec"]["replicas"] = 3
    with tempfile.TemporaryDirectory() as scratch:
        manifest = Path(scratch) / "shop.yaml"
        manifest.write_text(dynkube.ApiObject(deployment).to_yaml())
        for args in (["describe", "gizmo", "gamma", "-n", namespace], ["tree", "deployment", "shop", "-n", namespace],
                     ["diff", "-f", str(manifest)]):
            print(f"  $ dynkube {' '.join(args)}")
            output = subprocess.run(cli + args, capture_output=True, text=True)
            print(indent(output.stdout.rstrip() or output.stderr.rstrip()))


def pods_tour(client: dynkube.Client, namespace: str) -> None:
    """Step 10: inside a pod of the Deployment of step 9 (the local nodes' kubelet API: logs from a file,
    exec runs on this host, pod port 7 is an echo; see docs/envtest.md)."""
    step("10. Inside a pod of the Deployment: logs, exec, port-forward")
    text = dynkube.logs(client, "deploy/shop", namespace, tail_lines=2)
    print(f"  $ dynkube logs deploy/shop --tail=2\n{indent(text)}")
    pod = next(iter(client.resource("pods").list(namespace, label_selector={"app": "shop"}))).metadata.name
    result = client.exec(pod, ["sh", "-c", "echo hello from the container; exit 3"], namespace)
    print(f"  exec in {pod}: stdout {result.stdout_text.strip()!r}, exit code {result.exit_code}")
    with client.port_forward(pod, "0:7", namespace) as forwarder:
        local = forwarder.forwarded[0][0]
        with socket.create_connection(("127.0.0.1", local), timeout=30) as connection:
            connection.sendall(b"ping\n")
            reply = b""
            while not reply.endswith(b"\n"):  # the echo may come back in pieces
                piece = connection.recv(64)
                if not piece:
                    break
                reply += piece
    print(f"  port-forward 127.0.0.1:{local} -> {pod}:7 (an echo): sent b'ping\\n', got {reply!r}")


def indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


if __name__ == "__main__":
    try:
        main()
    except dynkube.DynkubeError as exc:
        sys.exit(f"demo failed: {exc}")
