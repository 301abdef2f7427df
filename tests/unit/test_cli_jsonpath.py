"""``-o jsonpath`` templates and ``-o custom-columns`` on objects recorded from the real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynkube.cli.jsonpath import JSONPathError, Template, evaluate, parse_path
from dynkube.cli.printing import as_list, custom_column_row, custom_columns, format_table

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def cms() -> dict:
    """A v1 List of the ConfigMaps of a recorded watch stream (as ``get -o json`` would print it)."""
    lines = (FIXTURES / "watch" / "configmaps.stream").read_text(encoding="utf-8").splitlines()
    items = {}
    for line in lines:
        event = json.loads(line)
        if event["type"] == "BOOKMARK":
            continue
        items[event["object"]["metadata"]["name"]] = event["object"]
    return as_list(list(items.values()))


@pytest.fixture(scope="module")
def names(cms: dict) -> list[str]:
    return [item["metadata"]["name"] for item in cms["items"]]


def render(template: str, data: object) -> str:
    return Template(template).render(data)


def test_field_path_on_one_object(cms: dict) -> None:
    first = cms["items"][0]
    assert render("{.metadata.name}", first) == first["metadata"]["name"]
    assert render("{.metadata.namespace}", first).startswith("record-watch-")


def test_wildcard_joins_values_with_spaces(cms: dict, names: list[str]) -> None:
    assert render("{.items[*].metadata.name}", cms) == " ".join(names)


def test_range_with_literals(cms: dict, names: list[str]) -> None:
    text = render('{range .items[*]}{.metadata.name}{"\\t"}{.kind}{"\\n"}{end}', cms)
    assert text == "".join(f"{n}\tConfigMap\n" for n in names)


def test_text_around_actions_is_kept(cms: dict, names: list[str]) -> None:
    assert render("first={.items[0].metadata.name};", cms) == f"first={names[0]};"


def test_indexes_negative_indexes_and_slices(cms: dict, names: list[str]) -> None:
    assert render("{.items[-1].metadata.name}", cms) == names[-1]
    assert render("{.items[0:2].metadata.name}", cms) == " ".join(names[:2])
    assert render("{.items[::2].metadata.name}", cms) == " ".join(names[::2])
    assert render("{.items[99].metadata.name}", cms) == ""


def test_maps_and_lists_print_as_compact_json(cms: dict) -> None:
    first = cms["items"][0]
    assert json.loads(render("{.data}", first)) == first["data"]
    assert render("{.data}", first) == json.dumps(first["data"], separators=(",", ":"), ensure_ascii=False)
    assert render("{.metadata.managedFields[0].manager}", first) == "dynkube"


def test_filters(cms: dict, names: list[str]) -> None:
    assert render(f'{{.items[?(@.metadata.name=="{names[1]}")].metadata.resourceVersion}}', cms) == \
        cms["items"][1]["metadata"]["resourceVersion"]
    assert render(f"{{.items[?(@.metadata.name!='{names[0]}')].metadata.name}}", cms) == " ".join(names[1:])
    assert render("{.items[?(@.data.text)].metadata.name}", cms) == " ".join(
        n for n, i in zip(names, cms["items"]) if (i.get("data") or {}).get("text"))
    version = int(cms["items"][2]["metadata"]["resourceVersion"])
    assert evaluate(parse_path(f".items[?(@.metadata.generation>{version})]"), cms) == []


def test_recursive_descent_and_star(cms: dict) -> None:
    first = cms["items"][0]
    assert render("{..manager}", first) == " ".join(m["manager"] for m in first["metadata"]["managedFields"])
    assert render("{.metadata.labels.*}", {"metadata": {"labels": {"a": "1", "b": "2"}}}) == "1 2"


def test_keys_with_dots_and_slashes() -> None:
    obj = {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}}
    assert render("{.metadata.labels.app\\.kubernetes\\.io/name}", obj) == "web"
    assert render("{.metadata.labels['app.kubernetes.io/name']}", obj) == "web"


def test_missing_keys_print_nothing(cms: dict) -> None:
    assert render("{.metadata.nope.deeper}", cms["items"][0]) == ""
    assert render("{.spec}", {"spec": None}) == ""


def test_nested_ranges(cms: dict) -> None:
    first = cms["items"][0]
    text = render("{range .items[0:1]}{range .metadata.managedFields[*]}{.operation}/{.manager}{end}{end}", cms)
    assert text == "".join(f"{m['operation']}/{m['manager']}" for m in first["metadata"]["managedFields"])


@pytest.mark.parametrize("template, problem", [
    ("{.items[0,1]}", "unions"), ("{.items['a','b']}", "unions"), ("{range .items[*]}{.x}", "without {end}"),
    ("{end}", "without {range}"), ("{.items[?(@.a==1 && @.b==2)]}", "&&"), ("{.items[", "unclosed"),
    ("{.a", "unclosed"), ("{.items[x]}", "bad index")])
def test_unsupported_or_broken_templates_say_why(template: str, problem: str) -> None:
    with pytest.raises(JSONPathError, match=problem.replace("{", r"\{").replace("[", r"\[")):
        Template(template)


def test_custom_columns(cms: dict, names: list[str]) -> None:
    columns = custom_columns("NAME:.metadata.name,RV:{.metadata.resourceVersion},MANAGERS:.metadata.managedFields[*]"
                             ".manager,MISSING:.spec.nope")
    assert [h for h, _ in columns] == ["NAME", "RV", "MANAGERS", "MISSING"]
    rows = [custom_column_row(columns, item) for item in cms["items"]]
    assert rows[0] == [names[0], cms["items"][0]["metadata"]["resourceVersion"], "dynkube", "<none>"]
    lines = format_table([h for h, _ in columns], rows)
    assert lines[0].split() == ["NAME", "RV", "MANAGERS", "MISSING"]
    assert len({line.index(r[1]) for line, r in zip(lines[1:], rows)}) == 1


@pytest.mark.parametrize("spec", ["", "NAME", "NAME:", ":.metadata.name"])
def test_bad_custom_columns(spec: str) -> None:
    with pytest.raises(ValueError):
        custom_columns(spec)
