"""Generic tooling: an inventory of every kind the cluster serves — built-in or custom — with no
per-kind code. Lists each listable resource across all namespaces, counts objects, and reports
objects that lack a label you require.

Run: python docs/examples/inventory.py [KUBECONFIG] [--require-label app.kubernetes.io/name]
"""

from __future__ import annotations

import argparse
from collections import Counter

import dynkube


def inventory(client: dynkube.Client, required_label: str | None) -> tuple[Counter[str], list[str]]:
    """Object counts per resource (``plural.group``) and ``kind namespace/name`` of unlabelled objects."""
    counts: Counter[str] = Counter()
    unlabelled: list[str] = []
    for resource in client.api_resources(verbs=["list"]):
        try:
            objects = client.resource(resource.group_resource).list(all_namespaces=resource.namespaced)
            for obj in objects:
                counts[resource.group_resource] += 1
                labels = obj.metadata.get("labels") or {}
                if required_label and required_label not in labels:
                    where = f"{obj.metadata.get('namespace')}/" if resource.namespaced else ""
                    unlabelled.append(f"{resource.kind} {where}{obj.metadata.name}")
        except (dynkube.Forbidden, dynkube.MethodNotAllowed, dynkube.NotFound) as exc:
            print(f"skipping {resource.group_resource}: {exc.reason}")
    return counts, unlabelled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kubeconfig", nargs="?")
    parser.add_argument("--require-label")
    args = parser.parse_args()
    counts, unlabelled = inventory(dynkube.Client(kubeconfig=args.kubeconfig), args.require_label)
    for name, count in counts.most_common():
        print(f"{count:>6}  {name}")
    if args.require_label:
        print(f"{len(unlabelled)} objects without label {args.require_label!r}")


if __name__ == "__main__":
    main()
