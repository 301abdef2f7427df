"""Exploring a kind you have never seen, and catching mistakes before they reach the server.

Installs a small CRD (Pipeline), explains its fields as ``kubectl explain`` does (as text and as data), validates a
manifest with a typo and two type errors on the client, shows that ``create(..., validate=True)`` sends nothing
when the object is invalid, then creates the corrected object.

Run: python docs/examples/explore_and_validate.py [KUBECONFIG]   (defaults to $KUBECONFIG / ~/.kube/config)
"""

from __future__ import annotations

import sys
import time
import uuid

import dynkube

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: pipelines.examples.dynkube.io
spec:
  group: examples.dynkube.io
  scope: Namespaced
  names: {plural: pipelines, singular: pipeline, kind: Pipeline}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [stages]
              properties:
                trigger:
                  type: string
                  enum: [push, tag, manual]
                  description: What starts a run.
                retries:
                  type: integer
                  minimum: 0
                  description: How many times a failed stage is retried.
                stages:
                  type: array
                  description: The steps of a run, in order.
                  items:
                    type: object
                    required: [name, image]
                    properties:
                      name: {type: string, description: The stage's name.}
                      image: {type: string, description: The container image that runs the stage.}
                      timeout:
                        x-kubernetes-int-or-string: true
                        description: Seconds, or a duration such as 10m.
"""


def explain_when_published(client: dynkube.Client, path: str, timeout: float = 30.0) -> dynkube.schema.Explanation:
    """The server publishes a new CRD's schema a few seconds after the CRD is Established."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.explain(path)
        except dynkube.SchemaUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main(kubeconfig: str | None) -> None:
    client = dynkube.Client(kubeconfig=kubeconfig)
    for result in dynkube.apply_manifests(client, CRD):  # waits until the CRD is Established and served
        print(result)
    namespace = f"pipelines-{uuid.uuid4().hex[:6]}"
    client.resource("namespaces").create({"metadata": {"name": namespace}})
    try:
        # 1. What does a Pipeline take? The same text `kubectl explain pipelines.spec.stages` prints ...
        print(explain_when_published(client, "pipelines.spec.stages").render(), end="")
        # ... or the same answer as data.
        spec = client.explain("pipelines.spec")
        print("spec requires", spec.required, "and takes", [f"{f.name} <{f.type}>" for f in spec.fields])

        # 2. A manifest with mistakes: every one is reported, with its path, before anything is sent.
        manifest = {"apiVersion": "examples.dynkube.io/v1", "kind": "Pipeline", "metadata": {"name": "ci"},
                    "spec": {"trigger": "nightly", "retries": "3",
                             "stages": [{"name": "build", "image": "golang:1.23", "timeout": "10m"},
                                        {"nmae": "test", "image": "golang:1.23"}]}}
        for issue in client.validate(manifest, strict=True):
            print("  problem:", issue)

        # 3. validate=True checks first and raises instead of sending.
        pipelines = client.resource("pipelines")
        try:
            pipelines.create(manifest, namespace, validate=True, field_validation="Strict")
        except dynkube.ValidationFailed as failed:
            print(f"not sent: {len(failed.issues)} issues")

        # 4. Fixed, it passes the client-side check and the server's strict field validation.
        manifest["spec"].update(trigger="push", retries=3)
        manifest["spec"]["stages"][1] = {"name": "test", "image": "golang:1.23", "timeout": 600}
        created = pipelines.create(manifest, namespace, validate=True, field_validation="Strict")
        print(f"created pipeline/{created.metadata.name} with {len(created.spec.stages)} stages")
    finally:
        client.resource("namespaces").delete(namespace)
        client.resource("crd").delete("pipelines.examples.dynkube.io")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
