"""Manifest text to documents, without a server: every document ends with a body or a reason,
values YAML types as dates or binaries become what kubectl makes of them, alias bombs and deep
nesting fail their document quickly, and locations are the file's."""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path

import pytest

import dynkube
from dynkube.manifests import MAX_ALIAS_EXPANSION, parse_documents

CM = "apiVersion: v1\nkind: ConfigMap\n"


def _bomb(levels: int = 9, width: int = 9) -> str:
    rows = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    rows += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return CM + "metadata: {name: bomb}\ndata:\n" + "".join(f"  {row}\n" for row in rows)


def test_values_yaml_types_as_dates_binaries_and_sets_become_kubectl_s_strings_and_maps() -> None:
    [doc] = parse_documents(CM + "metadata: {name: 2024-01-01}\ndata:\n  when: 2001-12-14t21:59:43.10-05:00\n"
                            "  tagged: !!timestamp 2020-01-01\n  raw: !!binary aGVsbG8=\n  tags: !!set {a, b}\n",
                            "dated.yaml")
    assert doc.error is None
    assert doc.body == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "2024-01-01"},
                        "data": {"when": "2001-12-14t21:59:43.10-05:00", "tagged": "2020-01-01", "raw": "hello",
                                 "tags": {"a": None, "b": None}}}


def test_keys_become_strings_and_aliases_independent_copies() -> None:
    [doc] = parse_documents(CM + "metadata: {name: x, labels: &l {1: one, 2.5: yes, null: x}}\ndata: *l\n", "keys.yaml")
    assert doc.body is not None and doc.body["data"] == {"1": "one", "2.5": True, "null": "x"}
    assert doc.body["data"] is not doc.body["metadata"]["labels"]


@pytest.mark.parametrize(("text", "problem"), [
    (CM.replace("ConfigMap", "null") + "metadata: {name: a}\n", "missing apiVersion or kind"),
    (CM.replace("ConfigMap", "7") + "metadata: {name: a}\n", "kind must be a string, not int 7"),
    (CM.replace("ConfigMap", "[a, b]") + "metadata: {name: a}\n", "kind must be a string, not list"),
    ("apiVersion: 1\nkind: ConfigMap\nmetadata: {name: a}\n", "apiVersion must be a string, not int"),
    (CM + "metadata: [a]\n", "metadata must be a mapping, not list"),
    (CM + "metadata: {name: [a]}\n", "metadata.name must be a string, not list"),
    (CM + "metadata: {name: a, namespace: 7}\n", "metadata.namespace must be a string, not int"),
    (CM + "metadata: {name: a}\ndata: {n: .nan}\n", "data.n is nan, which JSON cannot carry"),
    (CM + "metadata: {name: a}\nbinaryData: {b: !!binary 'not base64!'}\n", "invalid base64"),
    (CM + "metadata: {name: a}\ndata: &d {self: *d}\n", "an alias refers to a node that contains it"),
])
def test_a_document_that_cannot_be_an_object_fails_alone_saying_why(text: str, problem: str) -> None:
    first, bad, last = parse_documents(f"{CM}metadata: {{name: before}}\n---\n{text}---\n"
                                       f"{CM}metadata: {{name: after}}\n", "s.yaml")
    assert (first.error, last.error) == (None, None) and last.body["metadata"]["name"] == "after"  # type: ignore
    assert isinstance(bad.error, dynkube.ManifestError) and problem in str(bad.error)
    assert str(bad.error).startswith("s.yaml document 2: ") and bad.error.index == 1
    assert bad.line == 5 and re.search(r"\(line (5|8)(, column \d+)?\)$", str(bad.error))  # 8: YAML's own mark


def test_a_list_of_kinds_that_are_not_strings_fails_each_item() -> None:
    items = parse_documents("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: 7, metadata: {name: a}}\n"
                            "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n", "list.yaml")
    assert ["kind must be a string" in str(d.error) if d.error else d.body["metadata"]["name"]  # type: ignore
            for d in items] == [True, "b"]


def test_an_alias_bomb_fails_its_document_at_once_in_little_memory() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    bomb, after = parse_documents(_bomb() + f"---\n{CM}metadata: {{name: after}}\n", "bomb.yaml")
    assert time.process_time() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB
    assert "excessive aliasing" in str(bomb.error) and f"{MAX_ALIAS_EXPANSION:,}" in str(bomb.error)
    assert after.error is None


def test_aliases_within_the_budget_are_expanded() -> None:
    [doc] = parse_documents(_bomb(levels=3, width=9), "small.yaml")
    assert doc.error is None and len(doc.body["data"]["l2"]) == 9  # type: ignore[index]


@pytest.mark.parametrize("nesting", ["block", "flow"])
def test_nesting_3000_deep_fails_its_document(nesting: str) -> None:
    deep = ("".join("  " * (i + 1) + "a:\n" for i in range(3000)) if nesting == "block"
            else " " + "[" * 3000 + "]" * 3000 + "\n")
    bad, after = parse_documents(f"{CM}metadata: {{name: deep}}\ndata:\n{deep}---\n{CM}metadata: {{name: b}}\n",
                                 "n.yaml")
    assert isinstance(bad.error, dynkube.ManifestError)
    assert re.search(r"invalid YAML: (exceeded maximum nesting depth|nested too deeply)", str(bad.error))
    assert after.error is None


def test_a_leading_separator_does_not_count_as_a_document_and_lines_are_the_file_s() -> None:
    text = ("---\n# Source: chart/templates/a.yaml\n" + CM + "metadata: {name: a}\n"
            "---\n# Source: chart/templates/b.yaml\n" + CM + "metadata: {name: b\ndata: [unclosed\n")
    first, broken = parse_documents(text, "helm.yaml")
    assert (first.index, first.line, broken.index, broken.line) == (0, 3, 1, 8)
    assert str(broken.error).startswith("helm.yaml document 2: invalid YAML: ")
    assert re.search(r"\(line 11, column \d+\)$", str(broken.error))


def test_empty_and_comment_only_documents_are_skipped_and_not_counted() -> None:
    docs = parse_documents(f"# header\n---\n---\n# only a comment\n---\n{CM}metadata: {{name: a}}\n---\n"
                           f"{CM}metadata: {{}}\n", "gaps.yaml")
    assert [(d.index, d.line) for d in docs] == [(0, 6), (1, 10)]
    assert str(docs[1].error) == "gaps.yaml document 2: missing metadata.name (line 10)"


def test_without_libyaml_deep_nesting_fails_its_document_and_dates_stay_strings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from dynkube import manifests

    monkeypatch.delattr(yaml, "CSafeLoader")  # PyYAML built without libyaml
    monkeypatch.setattr(manifests, "_LOADER", None)
    deep = "".join("  " * (i + 1) + "a:\n" for i in range(3000))
    text = f"{CM}metadata: {{name: deep}}\ndata:\n{deep}---\n{CM}metadata: {{name: 2024-01-01}}\n"
    bad, dated = parse_documents(text, "n.yaml")
    assert str(bad.error) == "n.yaml document 1: invalid YAML: nested too deeply (line 1)"
    assert dated.body is not None and dated.body["metadata"]["name"] == "2024-01-01"
    assert manifests._loader_class().__mro__[1] is yaml.SafeLoader


# ---- the apply plan: documents parsed again stage by stage are the documents of the text -------------

MIXED = """# objects first, then their namespace and CRD: the plan reorders
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: ns}
---
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "json"}}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Namespace, metadata: {name: from-list}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: listed}}
---
# only a comment
---
apiVersion: v1
kind: ConfigMap
metadata: {name: broken
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {description: "a * in text, and kind: not top-level"}
---
apiVersion: v1
kind: "Namespace"  # quoted
metadata: {name: ns}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: aliased}
data: {a: &x one, b: *x}
"""


def _shape(docs: list[dynkube.Document]) -> list[tuple[object, ...]]:
    return [(d.source, d.index, d.line, d.body, str(d.error) if d.error else None) for d in docs]


def test_the_apply_plan_yields_the_parsed_documents_namespaces_then_crds_then_the_rest() -> None:
    from dynkube.manifests import _apply_order, _Plan

    plan = _Plan.scan(MIXED, recursive=True)
    staged = [doc for stage in range(3) for doc in plan.documents(stage)]

    assert _shape(staged) == _shape(sorted(parse_documents(MIXED, "<text>"), key=_apply_order))
    assert plan.total == len(staged) == 8
    assert [(d.body or {}).get("kind") for d in staged[:3]] == ["Namespace", "Namespace", "CustomResourceDefinition"]
    assert plan.used == {("example.com", "Widget"), ("", "ConfigMap")}
    assert _shape(plan.remaining(6)) == _shape(staged[6:])


def test_the_apply_plan_reads_files_again_instead_of_keeping_their_documents(tmp_path: Path) -> None:
    from dynkube.manifests import _Plan

    (tmp_path / "a.yaml").write_text(MIXED)
    plan = _Plan.scan(tmp_path, recursive=True)

    assert sum(entry.document is not None for entry in plan.entries) == 2  # the two Namespaces
    (tmp_path / "a.yaml").write_text(MIXED.replace("name: aliased", "name: edited"))
    assert [(d.body or {}).get("metadata", {}).get("name") for d in plan.documents(2)][-1] == "edited"


@pytest.mark.parametrize(("text", "alias"), [
    ("a: *x", True), ("- *x", True), ("[*a, *b]", True), ("{k: *a}", True), ("*a : v", True), ("k:\n  *a", True),
    ("? *a", True), ("description: glob *.txt", False), ('x: "a *b"', False), ("text: |\n  * a bullet", False)])
def test_the_alias_check_runs_where_a_star_may_start_an_alias(text: str, alias: bool) -> None:
    from dynkube.manifests import _may_have_alias

    assert _may_have_alias(text) is alias
