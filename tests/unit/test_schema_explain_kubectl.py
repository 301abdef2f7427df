"""explain text in the corners kubectl's template handles specially: fields without descriptions, an empty
description, empty-string and numeric enum values, and map values that hold objects.

Every expected text is what ``kubectl explain`` (v1.32) printed against kube-apiserver 1.37 for a CRD with
these fields (``tests/integration/test_schema.py`` keeps comparing the two on the live server).
"""

from __future__ import annotations

import pytest

from dynkube import errors
from dynkube.schema.explain import _go_float

from .test_schema_support import crd_manifest_for, crd_store

SCHEMA = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
    "mode": {"type": "string", "enum": ["", "Fast", "Slow"], "description": "Speed."},
    "level": {"type": "integer", "enum": [1, 5, 1000000]},
    "byName": {"type": "object", "additionalProperties": {
        "type": "object", "required": ["port"],
        "properties": {"port": {"type": "integer"}, "host": {"type": "string"}}}},
}}}}

BY_NAME = """\
GROUP:      schema.dynkube.io
KIND:       Probe
VERSION:    v1

FIELD: byName <map[string]Object>


DESCRIPTION:
    <empty>
FIELDS:
  host\t<string>
    <no description>

  port\t<integer> -required-
    <no description>


"""

PORT = """\
GROUP:      schema.dynkube.io
KIND:       Probe
VERSION:    v1

FIELD: port <integer>


DESCRIPTION:
    <empty>

"""

LEVEL = """\
GROUP:      schema.dynkube.io
KIND:       Probe
VERSION:    v1

FIELD: level <integer>
ENUM:
    1
    5
    1e+06

DESCRIPTION:
    <empty>

"""

MODE = """\
GROUP:      schema.dynkube.io
KIND:       Probe
VERSION:    v1

FIELD: mode <string>
ENUM:
    ""
    Fast
    Slow

DESCRIPTION:
    Speed.
    \n
"""


@pytest.fixture(scope="module")
def store():
    return crd_store(crd_manifest_for(SCHEMA, group="schema.dynkube.io", kind="Probe"))


def explain(store, path, **kw):
    return store.explain("schema.dynkube.io", "v1", "Probe", path, **kw).render()


def test_map_of_objects_lists_the_value_fields_and_no_description_placeholders(store):
    assert explain(store, "spec.byName") == BY_NAME


def test_a_path_goes_through_map_values_like_kubectl(store):
    assert explain(store, "spec.byName.port") == PORT


def test_structured_answer_for_a_map_of_objects(store):
    e = store.explain("schema.dynkube.io", "v1", "Probe", "spec.byName")
    assert e.type == "map[string]Object"
    assert e.required == ("port",)
    assert [(f.name, f.type) for f in e.fields] == [("host", "string"), ("port", "integer")]


def test_numeric_enum_values_print_as_go_float64(store):
    assert explain(store, "spec.level") == LEVEL


def test_empty_string_enum_value_prints_as_quotes(store):
    assert explain(store, "spec.mode") == MODE


def test_short_enum_line_quotes_the_empty_string(store):
    text = explain(store, "spec")
    assert "  mode\t<string>\n  enum: \"\", Fast, Slow\n    Speed.\n" in text
    assert "  level\t<integer>\n  enum: 1, 5, 1e+06\n    <no description>\n" in text


def test_below_a_map_of_strings_is_still_not_found():
    store = crd_store(crd_manifest_for({"type": "object", "properties": {"labels": {
        "type": "object", "additionalProperties": {"type": "string"}}}}))
    with pytest.raises(errors.FieldNotFound):
        store.explain("example.com", "v1", "Widget", "labels.foo")


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1"), (0.5, "0.5"), (100.0, "100"), (123456.0, "123456"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
    (-2.5, "-2.5"), (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-5, "1.5e-05"), (0.0, "0"), (1e21, "1e+21"),
])
def test_go_float_formatting(value, text):
    assert _go_float(value) == text
