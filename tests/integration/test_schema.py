"""Schemas against the real server: dynkube's verdict next to the server's own (dryRun=All, fieldValidation=Strict),
``explain`` next to ``kubectl explain`` on the same server, and how schemas are fetched, cached and refreshed.

Every case states the issues dynkube must report (exactly) and is then sent to the server. Where the two disagree
the case names the difference; docs/schema.md ("Differences from the server") lists each one with its evidence.

The tests of the public client API (``validate``, ``explain``, ``validate=True`` on writes, ``apply_manifests``
with ``validate``) run against both clients (``each_client``); the asyncio client runs the same schema code
on a worker thread (``blocking()``), so the case tables, kubectl comparisons and the cache tests run once.
"""

from __future__ import annotations

import copy
import json
import re
import stat
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.core.http import Request
from dynkube.schema import SchemaStore

from ..support.bridge import AsyncBridge

DRY_RUN_NAMESPACE = "default"  # dry-run writes are never stored; the namespace only has to exist
SUFFIX = uuid.uuid4().hex[:8]
PROBE_GROUP = f"p{SUFFIX}.schema.dynkube.io"
PROBE_API = f"{PROBE_GROUP}/v1"

# A CRD with a structural schema that uses what Gizmo does not: nested arrays, maps of objects, oneOf, CEL,
# list-type set/map, formats, integer and empty-string enums, embedded resources with declared fields.
PROBE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"probes.{PROBE_GROUP}"},
    "spec": {"group": PROBE_GROUP, "scope": "Namespaced",
             "names": {"plural": "probes", "singular": "probe", "kind": "Probe"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "description": "A Probe exercises schema features.",
                 "properties": {"spec": {"type": "object", "properties": {
                     "mode": {"type": "string", "enum": ["", "Fast", "Slow"], "description": "Speed."},
                     "level": {"type": "integer", "enum": [1, 5, 1000000]},
                     "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1},
                     "count": {"type": "integer", "minimum": 1, "maximum": 10},
                     "small": {"type": "integer", "format": "int32"},
                     "when": {"type": "string", "format": "date-time"},
                     "data": {"type": "string", "format": "byte"},
                     "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 10},
                     "maybe": {"type": "string", "nullable": True},
                     "size": {"x-kubernetes-int-or-string": True},
                     "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
                     "groups": {"type": "array", "items": {"type": "object", "required": ["members"], "properties": {
                         "members": {"type": "array", "maxItems": 3, "items": {
                             "type": "object", "required": ["name"],
                             "properties": {"name": {"type": "string"}, "weight": {"type": "integer"}}}}}}},
                     "byName": {"type": "object", "additionalProperties": {
                         "type": "object", "required": ["port"],
                         "properties": {"port": {"type": "integer"}, "host": {"type": "string"}}}},
                     "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                     "entries": {"type": "array", "x-kubernetes-list-type": "map",
                                 "x-kubernetes-list-map-keys": ["name"],
                                 "items": {"type": "object", "required": ["name"], "properties": {
                                     "name": {"type": "string"}, "value": {"type": "string"}}}},
                     "range": {"type": "object", "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
                               "x-kubernetes-validations": [{"rule": "self.min <= self.max",
                                                             "message": "min must not exceed max"}]},
                     "choice": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                                "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
                     "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
                         "known": {"type": "integer"},
                         "inner": {"type": "object", "properties": {"x": {"type": "string"}}}}},
                     "resource": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {
                         "spec": {"type": "object", "properties": {"n": {"type": "integer"}}}}},
                     "email": {"type": "string", "format": "email"},
                     "host": {"type": "string", "format": "hostname"},
                     "ip": {"type": "string", "format": "ipv4"},
                     "net": {"type": "string", "format": "cidr"},
                     "timeout": {"type": "string", "format": "duration"},
                     "link": {"type": "string", "format": "uri"},
                 }}}}}}]}}


# ---- objects ------------------------------------------------------------------------------------------------

def deployment(**spec: Any) -> dict[str, Any]:
    base = {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}},
                         "spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {**base, **spec}}


def container(**fields: Any) -> dict[str, Any]:
    """A Deployment whose only container has these extra fields."""
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0].update(fields)
    return d


def pod_spec(**fields: Any) -> dict[str, Any]:
    d = deployment()
    d["spec"]["template"]["spec"].update(fields)
    return d


def configmap(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1"}, **fields}


def gizmo(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "fixtures.dynkube.io/v1", "kind": "Gizmo", "metadata": {"name": "g"},
            "spec": {"size": "small", **spec}}


def probe(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": PROBE_API, "kind": "Probe", "metadata": {"name": "p"}, "spec": spec}


def without(obj: dict[str, Any], dotted: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    *parents, last = dotted.split(".")
    target = out
    for key in parents:
        target = target[key]
    del target[last]
    return out


def with_(obj: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    *parents, last = dotted.split(".")
    target = out
    for key in parents:
        target = target[key]
    target[last] = value
    return out


# ---- the cases ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """An object, the issues dynkube reports for it in strict mode, and whether the server agrees.

    ``difference`` names a known difference (docs/schema.md): the server's verdict is then the opposite of
    dynkube's, and the test pins that too, so a server that changes is noticed. ``server_names_field`` is false
    where the server's rejection does not name the field (a few Go decoding errors).
    """

    id: str
    obj: dict[str, Any]
    issues: tuple[str, ...] = ()
    difference: str = ""
    server_names_field: bool = True

    @property
    def server_accepts(self) -> bool:
        return (not self.issues) != bool(self.difference)


C0 = "spec.template.spec.containers[0]"
CASES = [
    # -- Deployments (built-in: Go decoding + hand-written validation) --
    Case("deployment-valid", deployment()),
    Case("deployment-replicas-string", deployment(replicas="three"),
         ("spec.replicas: 'three' is not of type 'integer'",)),
    Case("deployment-replicas-float-3.0", deployment(replicas=3.0), ("spec.replicas: 3.0 is not of type 'integer'",)),
    Case("deployment-replicas-over-int32", deployment(replicas=2**40),
         ("spec.replicas: 1099511627776 is greater than the maximum of 2147483647",)),
    Case("deployment-replicas-null", deployment(replicas=None)),
    Case("deployment-no-selector", without(deployment(), "spec.selector"), ("spec.selector: Required value",)),
    Case("deployment-no-containers", without(deployment(), "spec.template.spec.containers"),
         ("spec.template.spec.containers: Required value",)),
    Case("deployment-container-no-name", pod_spec(containers=[{"image": "i"}]), (f"{C0}.name: Required value",)),
    Case("deployment-port-not-integer", container(ports=[{"containerPort": "eighty"}]),
         (f"{C0}.ports[0].containerPort: 'eighty' is not of type 'integer'",)),
    Case("deployment-protocol-enum", container(ports=[{"containerPort": 80, "protocol": "XYZ"}]),
         (f"{C0}.ports[0].protocol: 'XYZ' is not one of ['SCTP', 'TCP', 'UDP']",)),
    Case("deployment-pull-policy-enum", container(imagePullPolicy="Sometimes"),
         (f"{C0}.imagePullPolicy: 'Sometimes' is not one of ['Always', 'IfNotPresent', 'Never']",)),
    Case("deployment-quantity-bad-suffix", container(resources={"limits": {"cpu": "1GB"}}),
         (f"{C0}.resources.limits[cpu]: '1GB' is not a 'quantity'",), server_names_field=False),
    Case("deployment-quantities-valid", container(resources={"limits": {"cpu": "500m", "memory": 1024},
                                                             "requests": {"cpu": 0.5}})),
    Case("deployment-int-or-string-percent", deployment(strategy={"rollingUpdate": {"maxSurge": "25%"}})),
    Case("deployment-int-or-string-int", deployment(strategy={"rollingUpdate": {"maxSurge": 2}})),
    Case("deployment-int-or-string-bool", deployment(strategy={"rollingUpdate": {"maxSurge": True}}),
         ("spec.strategy.rollingUpdate.maxSurge: True is not of type 'integer', 'string'",)),
    Case("deployment-int-or-string-float", deployment(strategy={"rollingUpdate": {"maxSurge": 2.0}}),
         ("spec.strategy.rollingUpdate.maxSurge: 2.0 is not of type 'integer'",)),
    Case("deployment-strategy-enum", deployment(strategy={"type": "Sideways"}),
         ("spec.strategy.type: 'Sideways' is not one of ['Recreate', 'RollingUpdate']",)),
    Case("deployment-unknown-field", deployment(replica=2),
         ('spec.replica: unknown field "replica"; did you mean "replicas"?',)),
    Case("deployment-unknown-container-field", container(imagee="x"),
         (f'{C0}.imagee: unknown field "imagee"; did you mean "image"?',)),
    Case("deployment-label-not-string", with_(deployment(), "metadata.labels", {"a": 1}),
         ("metadata.labels[a]: 1 is not of type 'string'",)),
    Case("deployment-env-value-not-string", container(env=[{"name": "A", "value": 1}]),
         (f"{C0}.env[0].value: 1 is not of type 'string'",)),
    Case("deployment-timestamp-not-rfc3339", with_(deployment(), "metadata.creationTimestamp", "2024-01-02 03:04:05Z"),
         ("metadata.creationTimestamp: '2024-01-02 03:04:05Z' is not a 'date-time'",), server_names_field=False),
    Case("deployment-every-issue-at-once", container(ports=[{"containerPort": "x"}], imagePullPolicy="Sometimes",
                                                     resources={"limits": {"cpu": "1GB"}}),
         (f"{C0}.imagePullPolicy: 'Sometimes' is not one of ['Always', 'IfNotPresent', 'Never']",
          f"{C0}.ports[0].containerPort: 'x' is not of type 'integer'",
          f"{C0}.resources.limits[cpu]: '1GB' is not a 'quantity'"), server_names_field=False),
    Case("deployment-empty-containers", pod_spec(containers=[]), difference="hand-written: at least one container"),
    Case("deployment-port-zero", container(ports=[{"containerPort": 0}]), difference="hand-written: port range"),
    Case("deployment-percent-not-a-percent", deployment(strategy={"rollingUpdate": {"maxSurge": "abc"}}),
         difference="hand-written: IntOrString percent syntax"),
    Case("deployment-name-not-dns1123", with_(deployment(), "metadata.name", "Bad_Name"),
         difference="hand-written: object name syntax"),
    Case("deployment-duplicate-container-names", pod_spec(containers=[{"name": "c", "image": "i"},
                                                                      {"name": "c", "image": "j"}]),
         difference="hand-written: unique container names"),
    # -- ConfigMaps --
    Case("configmap-valid", configmap(binaryData={"b": "aGVs\nbG8="})),
    Case("configmap-data-not-string", configmap(data={"a": 1}), ("data[a]: 1 is not of type 'string'",)),
    Case("configmap-data-null-value", configmap(data={"a": None})),
    Case("configmap-data-not-a-map", configmap(data=["a"]), ("data: ['a'] is not of type 'object'",)),
    Case("configmap-binary-not-base64", configmap(binaryData={"b": "not base64!"}),
         ("binaryData[b]: 'not base64!' is not a 'byte'",), server_names_field=False),
    Case("configmap-immutable-not-bool", configmap(immutable="yes"), ("immutable: 'yes' is not of type 'boolean'",)),
    Case("configmap-unknown-field", configmap(datta={}), ('datta: unknown field "datta"; did you mean "data"?',)),
    Case("configmap-key-syntax", configmap(data={"a b": "x"}), difference="hand-written: config key syntax"),
    # -- Gizmos (CRD: structural schema validation) --
    Case("gizmo-valid", gizmo(replicas=2, port="http", labels={"a": "b"}, extra={"x": {"y": [1, "a"]}},
                              template={"apiVersion": "v1", "kind": "Pod", "spec": {"anything": 1}},
                              parts=[{"name": "a", "count": 1}])),
    Case("gizmo-int-or-string-int", gizmo(port=8080)),
    Case("gizmo-no-spec", without(gizmo(), "spec")),
    Case("gizmo-enum", gizmo(size="huge"), ("spec.size: 'huge' is not one of ['small', 'medium', 'large']",)),
    Case("gizmo-required", without(gizmo(), "spec.size"), ("spec.size: Required value",)),
    Case("gizmo-minimum", gizmo(replicas=-1), ("spec.replicas: -1 is less than the minimum of 0",)),
    Case("gizmo-integer-as-string", gizmo(replicas="2"), ("spec.replicas: '2' is not of type 'integer'",)),
    Case("gizmo-integer-as-fraction", gizmo(replicas=2.5), ("spec.replicas: 2.5 is not of type 'integer'",)),
    Case("gizmo-null-means-unset", gizmo(replicas=None)),
    Case("gizmo-int-or-string-bool", gizmo(port=True), ("spec.port: True is not of type 'integer', 'string'",)),
    Case("gizmo-int-or-string-fraction", gizmo(port=1.5), ("spec.port: 1.5 is not of type 'integer', 'string'",)),
    Case("gizmo-int-or-string-object", gizmo(port={"a": 1}),
         ("spec.port: {'a': 1} is not of type 'integer', 'string'",)),
    Case("gizmo-preserve-unknown-not-object", gizmo(extra="str"), ("spec.extra: 'str' is not of type 'object'",)),
    Case("gizmo-embedded-no-kind", gizmo(template={"apiVersion": "v1"}), ("spec.template.kind: Required value",)),
    Case("gizmo-embedded-empty", gizmo(template={}),
         ("spec.template.apiVersion: Required value", "spec.template.kind: Required value")),
    Case("gizmo-embedded-metadata-type", gizmo(template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 5}}),
         ("spec.template.metadata.name: 5 is not of type 'string'",)),
    Case("gizmo-embedded-metadata-unknown",
         gizmo(template={"apiVersion": "v1", "kind": "Pod", "metadata": {"nam": "x"}}),
         ('spec.template.metadata.nam: unknown field "nam"; did you mean "name"?',)),
    Case("gizmo-array-item-required", gizmo(parts=[{"name": "a"}, {"count": 1}]),
         ("spec.parts[1].name: Required value",)),
    Case("gizmo-array-item-type", gizmo(parts=[{"name": "a", "count": "x"}]),
         ("spec.parts[0].count: 'x' is not of type 'integer'",)),
    Case("gizmo-array-not-array", gizmo(parts={"name": "a"}), ("spec.parts: {'name': 'a'} is not of type 'array'",)),
    Case("gizmo-array-null-item", gizmo(parts=[None]), ("spec.parts[0]: None is not of type 'object'",)),
    Case("gizmo-map-value-type", gizmo(labels={"a": 1}), ("spec.labels[a]: 1 is not of type 'string'",)),
    Case("gizmo-unknown-field", gizmo(colour="red"), ('spec.colour: unknown field "colour"',)),
    Case("gizmo-unknown-top-level-field", {**gizmo(), "colour": "red"}, ('colour: unknown field "colour"',)),
    Case("gizmo-metadata-label-type", with_(gizmo(), "metadata.labels", {"a": 1}),
         ("metadata.labels[a]: 1 is not of type 'string'",)),
    Case("gizmo-integral-float-vs-scale", gizmo(replicas=2.0),
         difference="scale subresource: specReplicasPath must hold an int64"),
    Case("gizmo-status-ignored-on-create", {**gizmo(), "status": {"replicas": "x"}},
         ("status.replicas: 'x' is not of type 'integer'",),
         difference="status subresource: status is reset on create"),
    Case("gizmo-name-not-dns1123", with_(gizmo(), "metadata.name", "Bad_Name"),
         difference="hand-written: object name syntax"),
    # -- Probes (CRD: nested arrays, maps of objects, oneOf, formats, list types) --
    Case("probe-valid", probe(mode="", level=5, ratio=0.5, count=3, when="2024-01-02t03:04:05.5+01:00", data="aGk=",
                              name="abc", maybe=None, size="10%", matrix=[[1, 2], [3]],
                              groups=[{"members": [{"name": "a", "weight": 1}]}], byName={"x": {"port": 1}},
                              tags=["a", "b"], entries=[{"name": "a"}, {"name": "b"}], range={"min": 1, "max": 2},
                              choice={"a": "x"}, free={"known": 1, "z": 2},
                              resource={"apiVersion": "v1", "kind": "Pod", "spec": {"n": 1}}, ip="010.0.0.1",
                              net="::ffff:10.0.0.0/120", timeout="1 day", link="/a b")),
    Case("probe-integral-float", probe(count=2.0)),
    Case("probe-string-enum", probe(mode="Medium"), ("spec.mode: 'Medium' is not one of ['', 'Fast', 'Slow']",)),
    Case("probe-integer-enum", probe(level=2), ("spec.level: 2 is not one of [1, 5, 1000000]",)),
    Case("probe-exclusive-minimum", probe(ratio=0), ("spec.ratio: 0 is less than or equal to the minimum of 0",)),
    Case("probe-maximum", probe(count=11), ("spec.count: 11 is greater than the maximum of 10",)),
    Case("probe-int32", probe(small=2**31), ("spec.small: 2147483648 is greater than the maximum of 2147483647",)),
    Case("probe-pattern", probe(name="ABC"), ("spec.name: 'ABC' does not match '^[a-z]+$'",)),
    Case("probe-max-length", probe(name="abcdefghijk"), ("spec.name: 'abcdefghijk' is too long",)),
    Case("probe-int-or-string-fraction", probe(size=1.5), ("spec.size: 1.5 is not of type 'integer', 'string'",)),
    Case("probe-nested-array-item", probe(matrix=[[1], ["x"]]), ("spec.matrix[1][0]: 'x' is not of type 'integer'",)),
    Case("probe-nested-array-flat", probe(matrix=[1, 2]),
         ("spec.matrix[0]: 1 is not of type 'array'", "spec.matrix[1]: 2 is not of type 'array'")),
    Case("probe-nested-array-null", probe(matrix=[[1], None]), ("spec.matrix[1]: None is not of type 'array'",)),
    Case("probe-nested-required", probe(groups=[{"members": [{"name": "a"}]}, {"members": [{"weight": 2}]}]),
         ("spec.groups[1].members[0].name: Required value",)),
    Case("probe-nested-required-array", probe(groups=[{}]), ("spec.groups[0].members: Required value",)),
    Case("probe-nested-max-items", probe(groups=[{"members": [{"name": "a"}] * 4}]),
         ("spec.groups[0].members: [{'name': 'a'}, {'name': 'a'}, {'name': 'a'}, {'name': 'a'}] is too long",)),
    Case("probe-map-value-required", probe(byName={"x": {"host": "h"}}), ("spec.byName[x].port: Required value",)),
    Case("probe-map-value-unknown", probe(byName={"x": {"port": 1, "hots": "h"}}),
         ('spec.byName[x].hots: unknown field "hots"; did you mean "host"?',)),
    Case("probe-set-duplicate", probe(tags=["a", "a"]), ('spec.tags[1]: Duplicate value: "a"',)),
    Case("probe-map-list-duplicate-key", probe(entries=[{"name": "a"}, {"name": "a", "value": "x"}]),
         ('spec.entries[1]: Duplicate value: {"name":"a"}',)),
    Case("probe-one-of-none", probe(choice={}), ("spec.choice: {} is not valid under any of the given schemas",)),
    Case("probe-one-of-both", probe(choice={"a": "x", "b": "y"}),
         ("spec.choice: {'a': 'x', 'b': 'y'} is valid under each of {'required': ['b']}, {'required': ['a']}",)),
    Case("probe-preserve-declared-type", probe(free={"known": "x"}),
         ("spec.free.known: 'x' is not of type 'integer'",)),
    Case("probe-preserve-closes-below", probe(free={"inner": {"y": 1}}), ('spec.free.inner.y: unknown field "y"',)),
    Case("probe-embedded-no-kind", probe(resource={"apiVersion": "v1", "spec": {"n": 1}}),
         ("spec.resource.kind: Required value",)),
    Case("probe-embedded-empty-kind", probe(resource={"apiVersion": "v1", "kind": ""}),
         ("spec.resource.kind: '' should be non-empty",)),
    Case("probe-embedded-declared-field", probe(resource={"apiVersion": "v1", "kind": "Pod", "spec": {"n": "x"}}),
         ("spec.resource.spec.n: 'x' is not of type 'integer'",)),
    Case("probe-date-time-no-zone", probe(when="2024-01-02T03:04:05"),
         ("spec.when: '2024-01-02T03:04:05' is not a 'date-time'",)),
    Case("probe-byte-unpadded", probe(data="aGk"), ("spec.data: 'aGk' is not a 'byte'",)),
    Case("probe-ipv4", probe(ip="1.2.3.256"), ("spec.ip: '1.2.3.256' is not a 'ipv4'",)),
    Case("probe-cidr-netmask", probe(net="10.0.0.0/255.0.0.0"), ("spec.net: '10.0.0.0/255.0.0.0' is not a 'cidr'",)),
    Case("probe-duration", probe(timeout="forever"), ("spec.timeout: 'forever' is not a 'duration'",)),
    Case("probe-uri-relative", probe(link="relative/path"), ("spec.link: 'relative/path' is not a 'uri'",)),
    Case("probe-cel-rule", probe(range={"min": 3, "max": 2}), difference="CEL rules are not evaluated"),
    Case("probe-email-format", probe(email="not-an-email"), difference="format email is not checked"),
    Case("probe-hostname-format", probe(host="-bad-"), difference="format hostname is not checked"),
]
CASE_IDS = [c.id for c in CASES]


# ---- fixtures -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def probe_crd(client: dynkube.Client) -> Iterator[str]:
    """The Probe CRD (a group unique to this run), with its OpenAPI document published; removed afterwards."""
    results = dynkube.apply_manifests(client, [PROBE_CRD])
    assert all(r.ok for r in results), [str(r) for r in results]
    try:
        wait_for_schema(client, PROBE_GROUP, "v1", "Probe")
        yield PROBE_API
    finally:
        try:
            client.resource("customresourcedefinitions").delete(PROBE_CRD["metadata"]["name"])
        except dynkube.NotFound:
            pass


@pytest.fixture(scope="module")
def kinds(gizmo_crds: None, probe_crd: str, client: dynkube.Client) -> None:
    """Every kind the cases use is served and has its schema published."""
    wait_for_schema(client, "fixtures.dynkube.io", "v1", "Gizmo")


def wait_for_schema(client: dynkube.Client, group: str, version: str, kind: str, timeout: float = 30) -> float:
    """Poll until the server publishes ``kind``'s schema (a few seconds after Established); the seconds it took."""
    started = time.monotonic()
    while True:
        try:
            client.schemas.explain(group, version, kind)
            return time.monotonic() - started
        except dynkube.SchemaUnavailable:
            if time.monotonic() - started > timeout:
                raise
            time.sleep(0.2)


@pytest.fixture
def requests_made(each_client: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(method, path) of every request each session client sends during the test (its transport, instrumented)."""
    if isinstance(each_client, AsyncBridge):
        return record_async_requests(each_client.target, monkeypatch)
    return record_requests(each_client, monkeypatch)


def record_requests(client: dynkube.Client, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    send = client.transport.send

    def counting(request: Request, *args: Any, **kwargs: Any) -> Any:
        calls.append((request.method, request.path))
        return send(request, *args, **kwargs)

    monkeypatch.setattr(client.transport, "send", counting)
    return calls


def record_async_requests(client: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """``record_requests`` for a ``dynkube.aio.Client`` (its writes go through its own transport)."""
    calls: list[tuple[str, str]] = []
    send = client.transport.send

    async def counting(request: Request, *args: Any, **kwargs: Any) -> Any:
        calls.append((request.method, request.path))
        return await send(request, *args, **kwargs)

    monkeypatch.setattr(client.transport, "send", counting)
    return calls


# ---- validation: dynkube, then the server -------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_dynkube_reports_exactly_these_issues(client: dynkube.Client, kinds: None, case: Case) -> None:
    assert [str(i) for i in client.validate(case.obj, strict=True)] == list(case.issues)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_the_server_agrees_or_the_difference_is_known(client: dynkube.Client, kinds: None, case: Case) -> None:
    resource = client.resource_for(case.obj)
    try:
        resource.create(case.obj, DRY_RUN_NAMESPACE, dry_run=True, field_validation="Strict")
        accepted, complaint = True, ""
    except (dynkube.Invalid, dynkube.BadRequest) as exc:
        accepted, complaint = False, str(exc)
    assert accepted is case.server_accepts, complaint or "the server accepted it"
    if case.issues and not accepted and case.server_names_field:  # the server complains about one of the fields
        fields = [re.sub(r"\[[^\]]*\]", "", issue.split(": ")[0]).rsplit(".", 1)[-1] for issue in case.issues]
        assert any(field.lower() in complaint.lower() for field in fields), (fields, complaint)


def test_default_mode_lets_unknown_fields_through_as_the_server_does(each_client: Any, kinds: None,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    obj = deployment(replica=2)
    with caplog.at_level("WARNING", logger="dynkube.schema"):
        assert each_client.validate(obj) == []
    assert 'spec.replica: unknown field "replica"' in caplog.text
    with pytest.warns(dynkube.ServerWarning, match='unknown field "spec.replica"'):
        each_client.resource("deployments").create(obj, DRY_RUN_NAMESPACE, dry_run=True, field_validation="Warn")


# ---- explain, next to kubectl explain ------------------------------------------------------------------------

BUILTIN_PATHS = [
    ("deployments", False), ("deploy.spec", False), ("deploy.spec.replicas", False),
    ("deploy.spec.template.spec.containers.ports", False), ("deploy.spec.strategy", True),
    ("deploy.spec.template.spec.containers.resources.limits", False), ("deploy.metadata.labels", False),
    ("configmaps", False), ("cm.data", False), ("svc.spec.ports.targetPort", False),
    ("pods.spec.securityContext", True),
    ("crd.spec.versions.schema.openAPIV3Schema.properties", False),
]
CRD_PATHS = [
    ("gizmos", False), ("gizmos.spec", False), ("gizmo.spec.size", False), ("gz.spec.port", False),
    ("gizmos.spec.parts", True), ("gizmos", True),
    ("probes", False), ("probes.spec", False), ("probes.spec.byName", False), ("probes.spec.byName.port", False),
    ("probes.spec.level", False), ("probes.spec.mode", False), ("probes.spec.groups.members", False),
    ("probes.spec", True),
]


@pytest.fixture(scope="module")
def kubectl(kubeconfig_path: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess]:
    cache = tmp_path_factory.mktemp("kubectl-cache")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig_path), "--cache-dir", str(cache), *args],
                              capture_output=True, text=True, timeout=60)

    return run


def api_version_of(path: str) -> str | None:
    return PROBE_API if path.startswith("probes") else None


@pytest.mark.parametrize(("path", "recursive"), BUILTIN_PATHS + CRD_PATHS,
                         ids=[f"{p}{' --recursive' if r else ''}" for p, r in BUILTIN_PATHS + CRD_PATHS])
def test_explain_prints_what_kubectl_prints(client: dynkube.Client, kinds: None, kubectl: Callable[..., Any],
                                            path: str, recursive: bool) -> None:
    api_version = api_version_of(path)
    args = ["explain", path] + (["--recursive"] if recursive else []) + \
        ([f"--api-version={api_version}"] if api_version else [])
    expected = kubectl(*args)
    assert expected.returncode == 0, expected.stderr
    assert client.explain(path, recursive=recursive, api_version=api_version).render() == expected.stdout


def test_explain_a_crd_field_as_data(each_client: Any, kinds: None) -> None:
    spec = each_client.explain("gizmos.spec")
    assert (spec.group, spec.version, spec.kind, spec.type) == ("fixtures.dynkube.io", "v1", "Gizmo", "Object")
    assert spec.required == ("size",)
    assert spec.field("size").enum == ("small", "medium", "large") and spec.field("size").required
    assert spec.field("parts").type == "[]Object" and spec.field("labels").type == "map[string]string"
    parts = each_client.explain("gizmos.spec.parts", recursive=True)
    assert [(f.name, f.type, f.required) for f in parts.fields] == [("count", "integer", False),
                                                                   ("name", "string", True)]


def test_unknown_field_path_gives_close_matches_where_kubectl_only_fails(each_client: Any, kinds: None,
                                                                        kubectl: Callable[..., Any]) -> None:
    with pytest.raises(dynkube.errors.FieldNotFound) as info:
        each_client.explain("deploy.spec.replica")
    assert (info.value.path, info.value.candidates) == ("spec.replica", ("spec.replicas",))
    assert "did you mean spec.replicas?" in str(info.value)
    assert 'field "replica" does not exist' in kubectl("explain", "deploy.spec.replica").stderr
    with pytest.raises(dynkube.errors.FieldNotFound) as info:
        each_client.explain("gizmos.spec.parts.nmae")
    assert info.value.candidates == ("spec.parts.name",)


# ---- fetching and caching ------------------------------------------------------------------------------------

DEPLOYMENT = deployment()


def test_first_validation_costs_two_schema_requests_cold_one_warm_and_none_after(
        kubeconfig_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=tmp_path) as cold:
        calls = record_requests(cold, monkeypatch)
        assert cold.validate(DEPLOYMENT) == []
        assert [p for _, p in calls if p.startswith("/openapi")] == ["/openapi/v3", "/openapi/v3/apis/apps/v1"]
        calls.clear()
        assert cold.validate(DEPLOYMENT) == [] and cold.explain("deploy.spec.replicas").type == "integer"
        assert calls == []
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=tmp_path) as warm:
        calls = record_requests(warm, monkeypatch)
        assert warm.validate(DEPLOYMENT) == []
        assert calls == [("GET", "/openapi/v3")]  # the document comes from the disk cache (discovery too)


@pytest.mark.parametrize("garbage", [b"{not json", b'{"openapi": "3.0.0"}', b""], ids=["not-json", "no-schemas",
                                                                                       "empty"])
def test_corrupt_cache_file_is_ignored_and_rewritten(kubeconfig_path: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, garbage: bytes) -> None:
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=tmp_path) as first:
        assert first.validate(DEPLOYMENT) == []
    [cached] = (tmp_path / "openapi").rglob("apis/apps/v1/*.json")
    cached.write_bytes(garbage)
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=tmp_path) as second:
        calls = record_requests(second, monkeypatch)
        assert [str(i) for i in second.validate(deployment(replicas="x"))] == [
            "spec.replicas: 'x' is not of type 'integer'"]
        assert ("GET", "/openapi/v3/apis/apps/v1") in calls
    assert "io.k8s.api.apps.v1.Deployment" in json.loads(cached.read_bytes())["components"]["schemas"]
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600


def test_schema_of_a_crd_created_now_becomes_available(client: dynkube.Client, kinds: None) -> None:
    group = f"n{uuid.uuid4().hex[:8]}.schema.dynkube.io"
    assert client.validate(DEPLOYMENT) == []  # the index is cached before the CRD exists

    def crd(kind: str) -> dict[str, Any]:
        return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{kind.lower()}s.{group}"},
                "spec": {"group": group, "scope": "Namespaced",
                         "names": {"plural": f"{kind.lower()}s", "singular": kind.lower(), "kind": kind},
                         "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                             "type": "object", "properties": {"spec": {"type": "object", "properties": {
                                 "n": {"type": "integer"}}}}}}}]}}

    def issues_once_published(kind: str) -> list[str]:
        deadline = time.monotonic() + 30
        while True:  # no invalidate(): a missing group-version or kind refetches the index by itself
            try:
                return [str(i) for i in client.validate({"apiVersion": f"{group}/v1", "kind": kind,
                                                         "metadata": {"name": "x"}, "spec": {"n": "x"}})]
            except (dynkube.SchemaUnavailable, dynkube.ResourceNotFound):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    crds = client.resource("customresourcedefinitions")
    try:
        assert all(r.ok for r in dynkube.apply_manifests(client, [crd("Sprocket")]))
        assert issues_once_published("Sprocket") == ["spec.n: 'x' is not of type 'integer'"]
        # a second kind in the same group-version: that document is cached, and its hash changes
        assert all(r.ok for r in dynkube.apply_manifests(client, [crd("Flange")]))
        assert issues_once_published("Flange") == ["spec.n: 'x' is not of type 'integer'"]
    finally:
        for kind in ("Sprocket", "Flange"):
            try:
                crds.delete(f"{kind.lower()}s.{group}")
            except dynkube.NotFound:
                pass


def test_group_version_the_server_does_not_publish_is_schema_unavailable(client: dynkube.Client) -> None:
    with pytest.raises(dynkube.SchemaUnavailable, match="publishes no OpenAPI v3 document for apis/apps/v9; "
                                                        "did you mean apis/apps/v1"):
        client.schemas.validate(DEPLOYMENT, "apps", "v9", "Deployment")
    with pytest.raises(dynkube.SchemaUnavailable, match="apis/nothing.dynkube.io/v1"):
        client.schemas.explain("nothing.dynkube.io", "v1", "Thing")
    with pytest.raises(dynkube.SchemaUnavailable, match="no schema for kind 'Deploymnet'; did you mean Deployment"):
        client.schemas.explain("apps", "v1", "Deploymnet")


def test_object_without_api_version_or_kind_is_a_clear_error(client: dynkube.Client) -> None:
    with pytest.raises(dynkube.InvalidInput, match="cannot validate ConfigMap 'cm': it has no apiVersion$"):
        client.validate({"kind": "ConfigMap", "metadata": {"name": "cm"}})
    with pytest.raises(dynkube.InvalidInput, match="it has no apiVersion and no kind"):
        client.validate({"metadata": {"name": "cm"}})
    with pytest.raises(dynkube.InvalidInput, match="cannot validate a list"):
        client.validate([DEPLOYMENT])  # type: ignore[arg-type]
    with pytest.raises(dynkube.InvalidInput, match="needs apiVersion and kind"):
        client.schemas.validate_object({"metadata": {}})


def test_kind_the_server_does_not_serve_is_resource_not_found(each_client: Any) -> None:
    with pytest.raises(dynkube.ResourceNotFound, match="serves no kind 'Deploymnet' in apps/v1; did you mean "
                                                       "Deployment") as info:
        each_client.validate({"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "d"}})
    assert info.value.candidates[0] == "Deployment"
    with pytest.raises(dynkube.ResourceNotFound, match="does not serve apiVersion 'nothing.dynkube.io/v1'"):
        each_client.validate({"apiVersion": "nothing.dynkube.io/v1", "kind": "Thing", "metadata": {"name": "t"}})


# ---- validate=True on writes ----------------------------------------------------------------------------------

def test_create_with_validate_raises_and_sends_nothing(each_client: Any, namespace: str,
                                                       requests_made: list[tuple[str, str]]) -> None:
    deployments = each_client.resource("deployments")
    bad = with_(deployment(replicas="two"), "metadata.name", "bad")
    with pytest.raises(dynkube.ValidationFailed) as info:
        deployments.create(bad, namespace, validate=True)
    assert [str(i) for i in info.value.issues] == ["spec.replicas: 'two' is not of type 'integer'"]
    assert "Deployment 'bad' is not valid: spec.replicas" in str(info.value)
    assert [c for c in requests_made if c[0] != "GET"] == []
    with pytest.raises(dynkube.NotFound):
        deployments.get("bad", namespace)


def test_validate_never_quotes_a_secret_value(each_client: Any, namespace: str) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain"},
              "data": {"password": "hunter2-plaintext"}}
    with pytest.raises(dynkube.ValidationFailed) as info:
        each_client.resource("secrets").create(secret, namespace, validate=True)
    assert [str(i) for i in info.value.issues] == ["data[password]: <secret> is not a 'byte'"]
    assert "hunter2" not in str(info.value)


def test_strict_field_validation_makes_client_side_validation_strict(each_client: Any, namespace: str) -> None:
    gizmos = each_client.resource("gizmos")
    typo = with_(gizmo(colour="red"), "metadata.name", "typo")
    with pytest.raises(dynkube.ValidationFailed, match='unknown field "colour"'):
        gizmos.apply(typo, namespace, validate=True, field_validation="Strict")
    with pytest.warns(dynkube.ServerWarning, match='unknown field "spec.colour"'):
        created = gizmos.create(typo, namespace, validate=True)  # default mode: the server drops the field
    assert "colour" not in created["spec"]
    good = with_(gizmo(replicas=1), "metadata.name", "good")
    assert gizmos.apply(good, namespace, validate=True, field_validation="Strict").spec.replicas == 1


def test_apply_manifests_with_validate_fails_the_bad_documents_and_applies_the_good(
        each_client: Any, each_tools: Any, kinds: None, namespace: str) -> None:
    text = "\n---\n".join(json.dumps(doc) for doc in [
        with_(configmap(), "metadata.name", "good-cm"),
        with_(container(ports=[{"containerPort": "eighty"}]), "metadata.name", "bad-deploy"),
        with_(gizmo(), "metadata.name", "good-gizmo"),
        with_(gizmo(size="huge"), "metadata.name", "bad-gizmo"),
    ])
    results = {r.document.body["metadata"]["name"]: r
               for r in each_tools.apply_manifests(each_client, text, namespace=namespace, validate=True)}
    assert (results["good-cm"].action, results["good-gizmo"].action) == ("created", "created")
    assert results["bad-deploy"].action == "failed"
    assert "containerPort: 'eighty' is not of type 'integer'" in str(results["bad-deploy"].error)
    assert results["bad-gizmo"].action == "failed" and "spec.size: 'huge'" in str(results["bad-gizmo"].error)
    assert each_client.resource("configmaps").get("good-cm", namespace).data == {"a": "1"}
    assert each_client.resource("gizmos").get("good-gizmo", namespace).spec.size == "small"
    for plural, name in (("deployments", "bad-deploy"), ("gizmos", "bad-gizmo")):
        with pytest.raises(dynkube.NotFound):
            each_client.resource(plural).get(name, namespace)


def test_a_store_over_documents_in_hand_agrees_with_the_server_store(client: dynkube.Client, kinds: None) -> None:
    offline = SchemaStore.from_documents({"apis/apps/v1": client.schemas.document("apps", "v1")})
    bad = container(ports=[{"containerPort": "x"}])
    assert offline.validate_object(bad) == client.validate(bad)

