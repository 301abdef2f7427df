"""``get``'s sorting, kind prefixes, ignored names, watch events, output files, client-side columns and
subresources, each beside kubectl on the same objects."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import dynkube

from .test_cli import Run, cli, kubectl, one_error_line  # noqa: F401  (fixtures)


@pytest.fixture
def gizmos(client: dynkube.Client, namespace: str, gizmo_crds: None) -> str:
    """Gizmos whose replicas, sizes and names sort differently; one without replicas."""
    for name, spec in (("b", {"size": "small", "replicas": 10}), ("a", {"size": "large", "replicas": 9}),
                       ("c", {"size": "medium", "replicas": 100}), ("d", {"size": "small"})):
        client.resource("gizmos").create({"metadata": {"name": name}, "spec": spec}, namespace)
    return namespace


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


@pytest.mark.parametrize("path", [".spec.replicas", "{.spec.size}", ".metadata.name"])
def test_sort_by_is_kubectls(cli: Callable[..., Run], kubectl: Callable[..., str], gizmos: str, path: str) -> None:
    for output in (["-o", "name"], []):
        ours = cli("get", "gizmos", "-n", gizmos, "--sort-by", path, *output)
        assert ours.code == 0, ours.err
        assert lines(ours.out) == lines(kubectl("get", "gizmos", "-n", gizmos, "--sort-by", path, *output))


def test_sort_by_a_field_no_object_has(cli: Callable[..., Run], gizmos: str) -> None:
    run = cli("get", "gizmos", "-n", gizmos, "--sort-by", ".spec.nope")
    assert run.code == 1
    assert one_error_line(run) == 'error: couldn\'t find any field with path "{.spec.nope}" in the list of objects'


def test_show_kind_and_ignore_not_found(cli: Callable[..., Run], kubectl: Callable[..., str], gizmos: str) -> None:
    shown = cli("get", "gizmos", "a", "-n", gizmos, "--show-kind")
    assert lines(shown.out) == lines(kubectl("get", "gizmos", "a", "-n", gizmos, "--show-kind"))
    assert shown.out.splitlines()[1].startswith("gizmo.fixtures.dynkube.io/a ")
    ignored = cli("get", "gizmos", "nope", "-n", gizmos, "--ignore-not-found")
    assert (ignored.code, ignored.out, ignored.err) == (0, "", "")
    some = cli("get", "gizmos", "a", "nope", "-n", gizmos, "--ignore-not-found", "-o", "name")
    assert (some.code, some.out) == (0, kubectl("get", "gizmos", "a", "nope", "-n", gizmos, "--ignore-not-found",
                                                "-o", "name"))


def test_output_watch_events(cli: Callable[..., Run], kubectl: Callable[..., str], gizmos: str) -> None:
    argv = ["get", "gizmos", "a", "-n", gizmos, "--watch", "-o", "json", "--output-watch-events",
            "--request-timeout=1s"]
    ours = cli(*argv)
    assert ours.code == 0, ours.err
    first = json.JSONDecoder().raw_decode(ours.out)[0]
    theirs = json.JSONDecoder().raw_decode(kubectl(*argv))[0]
    assert (first["type"], first["object"]["metadata"]["name"]) == (theirs["type"],
                                                                     theirs["object"]["metadata"]["name"]) == \
        ("ADDED", "a")
    assert cli("get", "gizmos", "--output-watch-events").code == 2


def test_output_files_and_jsonpath_as_json(cli: Callable[..., Run], kubectl: Callable[..., str], gizmos: str,
                                           tmp_path: Path) -> None:
    template = tmp_path / "t.jsonpath"
    template.write_text("{range .items[*]}{.metadata.name}={.spec.size}{'\\n'}{end}\n")
    columns = tmp_path / "columns.txt"
    columns.write_text("NAME      SIZE\n.metadata.name   .spec.size\n")
    for output in (f"jsonpath-file={template}", f"custom-columns-file={columns}",
                   "jsonpath-as-json={.items[*].spec.size}"):
        ours = cli("get", "gizmos", "-n", gizmos, "-o", output)
        assert ours.code == 0, ours.err
        assert lines(ours.out) == lines(kubectl("get", "gizmos", "-n", gizmos, "-o", output)), output


def test_server_print_false_is_names_and_ages(cli: Callable[..., Run], kubectl: Callable[..., str],
                                              gizmos: str) -> None:
    ours = cli("get", "gizmos", "-n", gizmos, "--server-print=false")
    theirs = kubectl("get", "gizmos", "-n", gizmos, "--server-print=false")
    assert [line.split()[0] for line in ours.out.splitlines()] == [line.split()[0] for line in theirs.splitlines()]
    assert ours.out.splitlines()[0].split() == theirs.splitlines()[0].split() == ["NAME", "AGE"]


def test_subresources(cli: Callable[..., Run], kubectl: Callable[..., str], client: dynkube.Client,
                      namespace: str) -> None:
    client.resource("deployments").create({"metadata": {"name": "web"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "image": "example.invalid/web:1"}]}}}}, namespace)
    scale = cli("get", "deploy", "web", "-n", namespace, "--subresource=scale", "-o", "json")
    assert scale.code == 0, scale.err
    assert json.loads(scale.out)["kind"] == "Scale" and json.loads(scale.out)["spec"] == {"replicas": 2}
    table = cli("get", "deploy", "web", "-n", namespace, "--subresource=scale")
    assert table.out.splitlines()[0].split() == \
        kubectl("get", "deploy", "web", "-n", namespace, "--subresource=scale").splitlines()[0].split()
    status = cli("get", "ns", namespace, "--subresource=status", "-o", "jsonpath={.status.phase}")
    assert status.out == "Active"
    assert cli("get", "deploy", "--subresource=scale", "-n", namespace).code == 2  # names needed
