"""The many-CRDs fixture: 2,000+ CRDs derived from the real CRDs in ``fixtures/``, one file each.

``python benchmarks/crd_fixture.py [--count N] [--out DIR]`` writes ``DIR/crds/NNNN-<name>.yaml`` (one
CRD per file) and ``DIR/objects/objects.yaml`` (a Namespace and one object of every 100th kind, so an
apply needs the CRDs served before the rest), into ``benchmarks/.crds/`` by default (git-ignored:
generated, never committed). Re-running with the same arguments rewrites the same bytes.

Each CRD is a copy of cert-manager's Certificate, prometheus-operator's ServiceMonitor or the
project's Gizmo/ClusterGizmo, renamed like a provider's generated set: groups
``gNN.bench-crds.dynkube.io`` (25 kinds each), kinds ``<Base>NNNN``, no short names, categories
``managed`` and ``dynkube-bench-crds``, label ``dynkube-bench-crds=true``; every third cluster-scoped,
every fourth also served as ``v1beta1``, every one with a CEL rule on the root.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / ".crds"
DEFAULT_COUNT = 2000
LABEL = "dynkube-bench-crds"
GROUP_SUFFIX = "bench-crds.dynkube.io"
NAMESPACE = "dynkube-bench-crds"
PER_GROUP = 25
SOURCES = (
    ROOT / "fixtures" / "upstream" / "crds" / "cert-manager.io_certificates.yaml",
    ROOT / "fixtures" / "upstream" / "crds" / "monitoring.coreos.com_servicemonitors.yaml",
    ROOT / "fixtures" / "crds" / "gizmos.yaml",
)
CEL = {"rule": "self.metadata.name.size() <= 253", "message": "the name is at most 253 characters"}


def templates() -> list[dict[str, Any]]:
    """The real CRDs, in the mix of the set: two of Certificate and ServiceMonitor to one Gizmo."""
    loaded = [doc for path in SOURCES for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if doc]
    by_kind = {doc["spec"]["names"]["kind"]: doc for doc in loaded}
    mix = ("Certificate", "ServiceMonitor", "Certificate", "ServiceMonitor", "Gizmo")
    return [by_kind[kind] for kind in mix]


def derived(template: dict[str, Any], i: int) -> dict[str, Any]:
    """CRD number ``i``: the template renamed, with its scope, versions and CEL rule of the set."""
    crd = copy.deepcopy(template)
    spec = crd["spec"]
    kind = f"{spec['names']['kind']}{i:04d}"
    group = f"g{i // PER_GROUP:02d}.{GROUP_SUFFIX}"
    plural = kind.lower() + "s"
    spec["group"] = group
    spec["names"] = {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower(),
                     "categories": ["managed", LABEL]}
    spec["scope"] = "Cluster" if i % 3 == 0 else "Namespaced"
    versions = [v for v in spec["versions"] if v.get("storage")]
    for version in versions:
        version["name"] = "v1"
        version.pop("selectableFields", None)  # they name the template's fields: kept valid as they are
        version["schema"]["openAPIV3Schema"].setdefault("x-kubernetes-validations", []).append(dict(CEL))
    if i % 4 == 0:
        extra = copy.deepcopy(versions[0])
        extra.update(name="v1beta1", storage=False)
        versions.append(extra)
    spec["versions"] = versions
    crd["metadata"] = {"name": f"{plural}.{group}", "labels": {LABEL: "true"}}
    return crd


def instance(crd: dict[str, Any]) -> dict[str, Any]:
    """One valid object of a Gizmo-derived CRD."""
    spec = crd["spec"]
    metadata: dict[str, Any] = {"name": "sample", "labels": {LABEL: "true"}}
    if spec["scope"] == "Namespaced":
        metadata["namespace"] = NAMESPACE
    return {"apiVersion": f"{spec['group']}/v1", "kind": spec["names"]["kind"], "metadata": metadata,
            "spec": {"size": "small", "replicas": 1}}


def write(out: Path, count: int) -> tuple[int, int]:
    """Write the set; (files, bytes)."""
    crd_dir, object_dir = out / "crds", out / "objects"
    for folder in (crd_dir, object_dir):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
    mix = templates()
    objects: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": NAMESPACE, "labels": {LABEL: "true"}}}]
    total = 0
    for i in range(count):
        crd = derived(mix[i % len(mix)], i)
        text = yaml.dump(crd, Dumper=yaml.CSafeDumper, sort_keys=False, width=100)
        path = crd_dir / f"{i:04d}-{crd['metadata']['name']}.yaml"
        path.write_text(text)
        total += len(text)
        if i % len(mix) == len(mix) - 1 and i % 100 == 99:
            objects.append(instance(crd))
    text = yaml.dump_all(objects, Dumper=yaml.CSafeDumper, sort_keys=False)
    (object_dir / "objects.yaml").write_text(text)
    return count + 1, total + len(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="how many CRDs (default 2000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the folder to write (default benchmarks/.crds)")
    args = parser.parse_args(argv)
    files, size = write(args.out, args.count)
    print(f"wrote {files} files, {size / 1e6:.1f} MB, to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
