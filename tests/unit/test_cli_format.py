"""The CLI's pure formatting: tables, ages, JSON/YAML, names, api-resources and tree output,
on discovery documents and objects recorded from the real server (fixtures/)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
import yaml

from dynkube.cli.api_resources import api_resources_lines
from dynkube.cli.apply import apply_line
from dynkube.cli.progress import Progress
from dynkube.cli.tree import tree_document, tree_lines
from dynkube.cli.get import Table, TableOptions, fallback_table, table_grid
from dynkube.cli.printing import (as_list, cell_text, colour_enabled, dump_json, dump_yaml, format_labels,
                                  format_table, human_age, human_duration, object_name, paint, qualified_kind,
                                  without_managed_fields)
from dynkube.core.discovery import parse_aggregated
from dynkube.resources import ResourceMap

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def recorded_map() -> ResourceMap:
    """The resource map of the test server, from its recorded aggregated discovery documents."""
    documents = [json.loads((FIXTURES / "discovery" / "aggregated" / name).read_text()) for name in ("api.json",
                                                                                                     "apis.json")]
    return parse_aggregated(documents)


@pytest.fixture(scope="module")
def configmaps() -> list[dict]:
    """ConfigMaps as the server sent them in a recorded watch stream (non-ASCII data included)."""
    lines = (FIXTURES / "watch" / "configmaps.stream").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["object"] for line in lines if json.loads(line)["type"] == "ADDED"]


# ---- tables ----------------------------------------------------------------------------

def test_columns_are_as_wide_as_their_widest_cell_plus_three() -> None:
    lines = format_table(["NAME", "DATA", "AGE"], [["kube-root-ca.crt", "1", "5m"], ["a", "12", "3d"]])
    assert lines == ["NAME               DATA   AGE",
                     "kube-root-ca.crt   1      5m",
                     "a                  12     3d"]


def test_narrow_columns_are_at_least_six_wide_and_last_column_is_not_padded() -> None:
    assert format_table(["A", "B", "C"], [["x", "y", "zzzzzzzzzz"]]) == ["A     B     C", "x     y     zzzzzzzzzz"]


def test_trailing_blanks_of_empty_last_cells_are_trimmed() -> None:
    assert format_table(["NAME", "SIZE", "REPLICAS"], [["g2", "large", ""]])[1] == "g2     large"


def test_no_header_and_no_rows() -> None:
    assert format_table(None, [["a", "b"]]) == ["a     b"]
    assert format_table(None, []) == []


@pytest.mark.parametrize("value, text", [(None, ""), (True, "true"), (False, "false"), (3, "3"), (2.0, "2"),
                                         (1.5, "1.5"), (["a", "b"], "a,b"), ({"k": 1}, '{"k":1}'), ("x", "x")])
def test_table_cells(value: object, text: str) -> None:
    assert cell_text(value) == text


@pytest.mark.parametrize("seconds, text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (125, "2m5s"), (599, "9m59s"),
    (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"),
    (47 * 3600, "47h"), (48 * 3600, "2d"), (50 * 3600, "2d2h"), (8 * 86400, "8d"), (729 * 86400, "729d"),
    (730 * 86400, "2y"), (731 * 86400, "2y1d"), (9 * 365 * 86400, "9y")])
def test_ages_shorten_like_kubectl(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_age_of_a_recorded_object(configmaps: list[dict]) -> None:
    created = configmaps[0]["metadata"]["creationTimestamp"]
    then = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert human_age(created, then + dt.timedelta(minutes=3, seconds=20)) == "3m20s"
    assert human_age(None) == "<unknown>" and human_age("yesterday") == "<unknown>"


def test_fallback_table_is_name_and_age(configmaps: list[dict]) -> None:
    headers, rows = table_grid(fallback_table(configmaps), TableOptions())
    assert headers == ["NAME", "AGE"]
    assert [r[0] for r in rows] == [c["metadata"]["name"] for c in configmaps]


def test_server_table_with_namespace_kind_prefix_labels_and_wide_columns() -> None:
    table = Table(columns=[{"name": "Name", "format": "name", "priority": 0},
                           {"name": "Cluster-IP", "format": "", "priority": 0},
                           {"name": "Selector", "format": "", "priority": 1}],
                  rows=[{"cells": ["kubernetes", "10.0.0.1", None],
                         "object": {"metadata": {"name": "kubernetes", "namespace": "default",
                                                 "labels": {"provider": "kubernetes", "component": "apiserver"}}}}])
    headers, rows = table_grid(table, TableOptions())
    assert (headers, rows) == (["NAME", "CLUSTER-IP"], [["kubernetes", "10.0.0.1"]])
    options = TableOptions(wide=True, namespace_column=True, kind_prefix="service", show_labels=True,
                           label_columns=("app.kubernetes.io/component", "provider"))
    headers, rows = table_grid(table, options)
    assert headers == ["NAMESPACE", "NAME", "CLUSTER-IP", "SELECTOR", "COMPONENT", "PROVIDER", "LABELS"]
    assert rows == [["default", "service/kubernetes", "10.0.0.1", "", "", "kubernetes",
                     "component=apiserver,provider=kubernetes"]]


def test_labels_column() -> None:
    assert format_labels({}) == "<none>"
    assert format_labels({"b": "2", "a": "1"}) == "a=1,b=2"


# ---- objects ---------------------------------------------------------------------------

def test_names_are_kind_dot_group() -> None:
    assert qualified_kind("v1", "ConfigMap") == "configmap"
    assert qualified_kind("apps/v1", "Deployment") == "deployment.apps"
    assert object_name({"apiVersion": "fixtures.dynkube.io/v1", "kind": "Gizmo", "metadata": {"name": "g"}}) == \
        "gizmo.fixtures.dynkube.io/g"


def test_json_is_indented_by_four_with_sorted_keys(configmaps: list[dict]) -> None:
    text = dump_json(as_list([without_managed_fields(configmaps[0])]))
    assert text.startswith('{\n    "apiVersion": "v1",\n    "items": [\n        {\n            "apiVersion": "v1",')
    assert text.endswith('"kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
    assert "managedFields" not in text and "héllo wörld ✓ 日本語 🚀" in text
    assert json.loads(text)["items"][0]["data"] == configmaps[0]["data"]


def test_json_escapes_html_characters_as_go_does() -> None:
    assert dump_json({"a": "<x&y>\u2028ü"}) == '{\n    "a": "\\u003cx\\u0026y\\u003e\\u2028ü"\n}\n'
    assert json.loads(dump_json({"a": "<x&y>"})) == {"a": "<x&y>"}


def test_managed_fields_are_dropped_without_touching_the_object(configmaps: list[dict]) -> None:
    stripped = without_managed_fields(configmaps[0])
    assert "managedFields" not in stripped["metadata"] and "managedFields" in configmaps[0]["metadata"]


def test_yaml_quotes_like_go(configmaps: list[dict]) -> None:
    text = dump_yaml({"metadata": configmaps[0]["metadata"], "data": {"n": "123", "y": "x", "e": "", "on": "on",
                                                                      "exp": "1e3", "star": "*", "ml": "a\nb\n"}})
    assert '  creationTimestamp: "' in text  # a timestamp stays a string
    assert '"n": "123"' in text and '"y": x' in text and 'e: ""' in text
    assert '"on": "on"' in text and 'exp: "1e3"' in text and "star: '*'" in text and "ml: |\n    a\n    b\n" in text
    assert list(yaml.safe_load(text)["data"]) == sorted(["n", "y", "e", "on", "exp", "star", "ml"])
    assert yaml.safe_load(dump_yaml(configmaps[1]))["data"] == configmaps[1]["data"]


# ---- api-resources and tree, on recorded discovery ---------------------------------------

def test_api_resources_table(recorded_map: ResourceMap) -> None:
    resources = sorted(recorded_map.filter(), key=lambda r: (r.group, r.plural))
    lines = api_resources_lines(resources, None, False)
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert lines[1].split() == ["bindings", "v1", "true", "Binding"]
    gizmos = next(line for line in lines if line.startswith("gizmos "))
    assert gizmos.split() == ["gizmos", "gz", "fixtures.dynkube.io/v1", "true", "Gizmo"]
    starts = {line.index(gizmos.split()[2]) for line in lines if "fixtures.dynkube.io/v1" in line}
    assert len(starts) == 1 and lines[0].index("APIVERSION") in starts  # one column, aligned under its header


def test_api_resources_wide_and_name(recorded_map: ResourceMap) -> None:
    apps = sorted(recorded_map.filter(group="apps"), key=lambda r: r.plural)
    wide = api_resources_lines(apps, "wide", True)
    assert wide[1].split()[-2:] == ["create,delete,deletecollection,get,list,patch,update,watch", "all"]
    assert api_resources_lines(apps, "name", False) == [f"{r.plural}.apps" for r in apps]


def test_tree_groups_core_first_with_versions(recorded_map: ResourceMap) -> None:
    groups = tree_document(recorded_map, recorded_map.filter(), {("fixtures.dynkube.io", "gizmos"): 4})
    assert groups[0]["group"] == "core" and [g["group"] for g in groups[1:]] == sorted(g["group"] for g in groups[1:])
    fixtures = next(g for g in groups if g["group"] == "fixtures.dynkube.io")
    assert fixtures["versions"] == ["v1", "v1beta1"]
    lines = tree_lines(groups)
    start = lines.index("fixtures.dynkube.io (v1; also v1beta1)")
    assert lines[start + 1].split() == ["├──", "clustergizmos", "(cgz)", "ClusterGizmo", "cluster", "-"]
    assert lines[start + 2].split() == ["└──", "gizmos", "(gz)", "Gizmo", "namespaced", "4"]
    assert tree_lines(groups, unicode=False)[start + 2].startswith("`-- gizmos")


# ---- colour, apply lines, progress ------------------------------------------------------

class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert colour_enabled(Terminal()) and not colour_enabled(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_enabled(Terminal())
    assert paint("x", "red", False) == "x" and paint("x", "red", True) == "\x1b[31mx\x1b[0m"


def test_progress_line_only_on_a_terminal() -> None:
    from types import SimpleNamespace

    terminal = Terminal()
    progress = Progress(SimpleNamespace(err=terminal))
    progress.show(3, 10)
    assert terminal.getvalue() == "\r[3/10] applying\x1b[K"
    progress.clear()
    assert terminal.getvalue().endswith("\r\x1b[K")
    progress.show(2, 2)  # finished: nothing more to show
    progress.show(1, 2)  # too few objects to bother
    assert terminal.getvalue().count("applying") == 1
    plain = io.StringIO()
    quiet = Progress(SimpleNamespace(err=plain))
    quiet.show(3, 10)
    quiet.clear()
    assert plain.getvalue() == ""


def test_apply_lines() -> None:
    import dynkube
    from dynkube.manifests import Document

    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    ok = dynkube.ApplyResult(Document("s.yaml", 0, body), "created", object=dynkube.ApiObject(body))
    assert apply_line(ok, False) == (True, "deployment.apps/web created")
    assert apply_line(ok, True) == (True, "deployment.apps/web created (server dry run)")
    error = dynkube.ManifestError("s.yaml document 2: invalid YAML: oops", source="s.yaml", index=1)
    broken = dynkube.ApplyResult(Document("s.yaml", 1, None, error), "failed", error=error)
    assert apply_line(broken, False) == (False, "s.yaml document 2 failed: invalid YAML: oops")
