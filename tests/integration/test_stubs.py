"""Typed stubs generated from the real server's OpenAPI v3 schemas (a real third-party CRD,
cert-manager's Certificate, included), checked by running mypy --strict on a program that uses them."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.snapshot import save_snapshot
from dynkube.stubs import generate_stubs

from ..conftest import ROOT
from ..support.waiting import until
from .test_cli import cli  # noqa: F401  (fixture)
from .test_export import resolved

CERTIFICATES = "certificates.cert-manager.io"
MYPY_INI = "[mypy]\nstrict = True\n[mypy-dynkube.*]\nignore_errors = True\n"  # dynkube itself is not under test


@pytest.fixture(scope="module")
def cert_manager_crd(client: dynkube.Client) -> None:
    """cert-manager's real Certificate CRD (fixtures/upstream, see its README), installed once."""
    crd = ROOT / "fixtures" / "upstream" / "crds" / "cert-manager.io_certificates.yaml"
    results = dynkube.apply_manifests(client, crd)
    assert all(r.ok for r in results), [str(r) for r in results]
    until(lambda: published(client, "cert-manager.io", "Certificate"), "the Certificate schema to be published")


def published(client: dynkube.Client, group: str, text: str) -> bool:
    """Whether the OpenAPI v3 document of group/v1 mentions ``text`` (the server publishes a new CRD's
    schema a moment after the CRD is Established)."""
    client.schemas.invalidate()
    try:
        document = client.schemas.document(group, "v1")
    except dynkube.SchemaUnavailable:
        return False
    return any(text in str(model) for model in document["components"]["schemas"].values())


def mypy(directory: Path, *files: str) -> subprocess.CompletedProcess[str]:
    (directory / "mypy.ini").write_text(MYPY_INI)
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental", *files],
                          cwd=directory, capture_output=True, text=True, timeout=300,
                          env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


PROGRAM = '''\
import dynkube
from dynkube_stubs import Certificate, typed

client = typed(dynkube.Client())
cert = client.resource("certificates.cert-manager.io").get("web", "default")
secret: str = cert["spec"]["secretName"]
issuer: str = cert["spec"]["issuerRef"]["name"]
replicas: int = client.resource("deploy").get("web")["spec"]["replicas"]
new: Certificate = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "x"},
                    "spec": {"secretName": "x", "issuerRef": {"name": "ca"}, "privateKey": {"algorithm": "ECDSA"}}}
wrong: Certificate = {"spec": {"secretName": "x", "issuerRef": {"name": "ca"}, "privateKey": {"algorithm": "DSA"}}}
events = client.resource("configmaps").watch("default")
untyped = client.resource("secrets").get("s")["data"]
'''


def test_generated_stubs_type_check_a_program_and_catch_its_error(
        client: dynkube.Client, cert_manager_crd: None, tmp_path: Path) -> None:
    result = generate_stubs(client, tmp_path, [CERTIFICATES, "deployments", "configmaps"])
    assert set(result.kinds) == {CERTIFICATES, "deployments.apps", "configmaps"} and not result.skipped
    (tmp_path / "program.py").write_text(PROGRAM)
    checked = mypy(tmp_path, "dynkube_stubs", "program.py")
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, checked.stdout + checked.stderr
    assert errors[0].startswith("program.py:11: error:") and "DSA" in errors[0]  # the enum's Literal


def test_typed_objects_are_api_objects_at_run_time(client: dynkube.Client, cert_manager_crd: None,
                                                   namespace: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    generate_stubs(client, tmp_path, [CERTIFICATES], package=f"stubs_{uuid.uuid4().hex[:8]}")
    package = next(p.name for p in tmp_path.iterdir() if p.name.startswith("stubs_"))
    monkeypatch.syspath_prepend(str(tmp_path))
    stubs = importlib.import_module(package)
    typed = stubs.typed(client)
    assert typed is client
    typed.resource(CERTIFICATES).create({"metadata": {"name": "web"}, "spec": {
        "secretName": "web-tls", "issuerRef": {"name": "ca"}}}, namespace)
    cert = typed.resource(CERTIFICATES).get("web", namespace)
    assert type(cert) is dynkube.ApiObject and cert.spec.secretName == "web-tls"
    assert stubs.Certificate.__annotations__["spec"].__forward_arg__ == "NotRequired[CertificateSpec]"  # nested


def test_names_that_are_not_identifiers_are_typed(client: dynkube.Client, tmp_path: Path,
                                                  crd_factory: Callable[..., str]) -> None:
    kind = crd_factory()
    crds = client.resource("customresourcedefinitions")
    name = resolved(client, kind).resource.group_resource
    crd = crds.get(name)
    crd["spec"]["versions"][0]["schema"] = {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
        "type": "object", "required": ["with-dash"], "properties": {
            "with-dash": {"type": "string"}, "class": {"type": "integer"}, "9lives": {"type": "boolean"},
            "x-kubernetes-ish": {"type": "string", "enum": ["a", "b"]}, "list": {"type": "array", "items": {
                "type": "object", "properties": {"str": {"type": "string"}}}}}}}}}
    crds.replace(crd)

    until(lambda: published(client, client.resource(kind).resource.group, "with-dash"), "the new schema")
    generate_stubs(client, tmp_path, [kind])
    (tmp_path / "program.py").write_text(textwrap.dedent(f'''\
        from dynkube_stubs import {kind}
        ok: {kind} = {{"spec": {{"with-dash": "x", "class": 1, "9lives": True, "x-kubernetes-ish": "a",
                               "list": [{{"str": "s"}}]}}}}
        missing: {kind} = {{"spec": {{"class": 1}}}}
        '''))
    checked = mypy(tmp_path, "dynkube_stubs", "program.py")
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith("program.py:4:") and "with-dash" in errors[0], checked.stdout


def tree(root: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(root.rglob("*.py")):
        yield str(path.relative_to(root)), path.read_text()


def test_stubs_from_a_snapshot_are_the_live_ones(client: dynkube.Client, cert_manager_crd: None,
                                                 tmp_path: Path) -> None:
    save_snapshot(client, tmp_path / "c.snap")
    kinds = [CERTIFICATES, "deployments", "gizmos"]
    live = generate_stubs(client, tmp_path / "live", kinds)
    offline = generate_stubs(dynkube.open_snapshot(tmp_path / "c.snap"), tmp_path / "offline", kinds)
    assert live.kinds == offline.kinds
    assert list(tree(tmp_path / "live")) == list(tree(tmp_path / "offline"))


def test_bad_input_is_refused_before_writing(client: dynkube.Client, tmp_path: Path) -> None:
    with pytest.raises(dynkube.InvalidInput, match="invalid package name 'my-stubs'"):
        generate_stubs(client, tmp_path, ["configmaps"], package="my-stubs")
    with pytest.raises(dynkube.ResourceNotFound, match="nosuchkind"):
        generate_stubs(client, tmp_path, ["nosuchkind"])
    assert not list(tmp_path.iterdir())
    (tmp_path / "file").write_text("")
    with pytest.raises(dynkube.InvalidInput, match="cannot write the stubs"):
        generate_stubs(client, tmp_path / "file", ["configmaps"])


def test_the_stubs_command(cli: Callable[..., Any], tmp_path: Path) -> None:
    done = cli("stubs", "--output", str(tmp_path), "deploy", "cm")
    assert done.code == 0, done.err
    assert done.out == f"wrote TypedDicts of 2 kind(s) to {tmp_path / 'dynkube_stubs'}\n"
    assert {p.name for p in (tmp_path / "dynkube_stubs").iterdir()} == {"__init__.py", "apps_v1.py", "core_v1.py",
                                                                         "py.typed"}
    bad = cli("stubs", "--output", str(tmp_path), "--package", "1x", "cm")
    assert bad.code == 1 and bad.err.startswith("error: invalid package name") and bad.err.count("\n") == 1
