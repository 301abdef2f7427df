"""Managing a custom resource you have no Python classes for: install its CRD, then create, read,
patch, apply, scale, update status and delete its objects — all through one dynamic client.

Run: python docs/examples/manage_crds.py [KUBECONFIG]   (defaults to $KUBECONFIG / ~/.kube/config)
"""

from __future__ import annotations

import sys
import uuid

import dynkube

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.examples.dynkube.io
spec:
  group: examples.dynkube.io
  scope: Namespaced
  names: {plural: backups, singular: backup, kind: Backup, shortNames: [bk]}
  versions:
    - name: v1
      served: true
      storage: true
      subresources:
        status: {}
        scale: {specReplicasPath: .spec.copies, statusReplicasPath: .status.copies}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                schedule: {type: string}
                copies: {type: integer, minimum: 1}
            status:
              type: object
              properties:
                copies: {type: integer}
                lastRun: {type: string}
"""


def main(kubeconfig: str | None) -> None:
    client = dynkube.Client(kubeconfig=kubeconfig)
    for result in dynkube.apply_manifests(client, CRD):  # waits until the CRD is Established and served
        print(result)

    namespace = f"backups-{uuid.uuid4().hex[:6]}"
    client.resource("namespaces").create({"metadata": {"name": namespace}})
    backups = client.resource("bk")  # short name, plural, kind or "backups.examples.dynkube.io" all work
    try:
        backups.create({"metadata": {"name": "nightly", "labels": {"team": "db"}},
                        "spec": {"schedule": "0 3 * * *", "copies": 1}}, namespace)
        backups.apply({"apiVersion": "examples.dynkube.io/v1", "kind": "Backup", "metadata": {"name": "hourly"},
                       "spec": {"schedule": "0 * * * *", "copies": 2}}, namespace, field_manager="example")
        backups.patch("nightly", {"spec": {"copies": 3}}, namespace)                      # merge patch
        backups.patch("hourly", {"spec": {"replicas": 4}}, namespace, subresource="scale")  # scale subresource
        backups.patch("nightly", {"status": {"lastRun": "today", "copies": 3}}, namespace, subresource="status")

        nightly = backups.get("nightly", namespace)
        print(f"nightly: copies={nightly.spec.copies} lastRun={nightly.status.lastRun}")
        print(f"hourly scaled to {backups.get('hourly', namespace, subresource='scale').spec.replicas} copies")
        print("team=db:", [b.metadata.name for b in backups.list(namespace, label_selector={"team": "db"})])
        backups.delete("hourly", namespace)
        print("left:", sorted(b.metadata.name for b in backups.list(namespace)))
    finally:
        client.resource("namespaces").delete(namespace)
        client.resource("crd").delete("backups.examples.dynkube.io")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
