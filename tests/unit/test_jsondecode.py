"""jsondecode.loads gives json.loads's results, values and errors alike, whichever decoder is installed."""

from __future__ import annotations

import gc
import importlib.util
import json
import math
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dynkube.core import jsondecode

pytestmark = pytest.mark.usefixtures("json_decoder")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

SAME_AS_JSON = [
    b'{"a": 18446744073709551615, "b": -9223372036854775808}',  # the ends of the 64-bit ranges
    b'{"a": 18446744073709551616}',  # beyond 64 bits: orjson would make it a float
    b'{"a": -9223372036854775809}',
    b'[123456789012345678901234567890, 1.5]',
    b'{"a": 1e400, "b": -1e400, "c": 1e-400}',  # infinities and an underflow
    b'{"a": NaN, "b": Infinity, "c": -Infinity}',  # json reads these; orjson does not
    b'{"a": 1.0, "b": -0.0, "c": 1E2, "d": 0.1, "e": 5e-324, "f": 1.7976931348623157e308, "g": 2}',
    b'{"a": 1, "b": 2, "a": 3}',  # duplicate keys: the last value, in the first key's place
    b'\xef\xbb\xbf{"a": 1}',  # a UTF-8 byte-order mark
    '{"a": "\u00e9\u4e2d\U0001f600"}'.encode(),
    '{"a": "x"}'.encode("utf-16"),
    '{"a": "x"}'.encode("utf-32-le"),
    b'{"a": "\\ud800"}',  # an escaped lone surrogate
    b'  {"a": [true, false, null, "", {}]}  \n',
    b'"text"', b'12', b'null',
    b'[' * 900 + b']' * 900,
    b'[' * 5000 + b']' * 5000,  # deeper than either reads
]
INVALID = [b'', b'{"a": 1', b'[1, 2,]', b'{"a": "\xff"}', b'{"a": "\x01"}', b'{"a": 1} x', b'<html>', b'\xff\xfe\x00']


def outcome(data: bytes | str, decode: Any) -> tuple[str, Any]:
    """What decoding ``data`` gives, comparable: the value's repr (types and NaN included) or the error."""
    try:
        return "value", _typed(decode(data))
    except (ValueError, RecursionError) as exc:
        return "error", (type(exc), str(exc))


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return ("dict", [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


@pytest.mark.parametrize("data", SAME_AS_JSON + INVALID, ids=lambda d: repr(d[:30]))
def test_bytes_decode_as_json_loads_decodes_them(data: bytes) -> None:
    assert outcome(data, jsondecode.loads) == outcome(data, json.loads)


@pytest.mark.parametrize("text", ['{"a": 18446744073709551616}', '{"a": "\ud800"}', '{"a": NaN}', '{"a": 1', '[1]'])
def test_text_decodes_as_json_loads_decodes_it(text: str) -> None:
    assert outcome(text, jsondecode.loads) == outcome(text, json.loads)


def recorded_documents() -> Iterator[Path]:
    return (p for p in sorted(FIXTURES.rglob("*.json")) if p.stat().st_size)


def test_every_recorded_server_answer_decodes_as_json_loads_decodes_it() -> None:
    documents = list(recorded_documents())
    assert len(documents) > 10
    for path in documents:
        data = path.read_bytes()
        assert outcome(data, jsondecode.loads) == outcome(data, json.loads), path


def big_list() -> bytes:
    items = [{"metadata": {"name": f"cm-{i}", "labels": {"a": "b"}}, "data": {"k": "v" * 50}} for i in range(2000)]
    return json.dumps({"kind": "ConfigMapList", "items": items}).encode()


def test_a_large_document_is_decoded_with_the_collector_paused_and_leaves_it_on() -> None:
    data = big_list()
    assert len(data) >= jsondecode.PAUSE_FROM
    collections_before = sum(s["collections"] for s in gc.get_stats())
    assert jsondecode.loads(data)["items"][1999]["metadata"]["name"] == "cm-1999"
    assert sum(s["collections"] for s in gc.get_stats()) == collections_before
    assert gc.isenabled()


def _peak(decode: Any, data: bytes) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        decode(data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_document_beyond_fast_up_to_peaks_no_higher_than_json_loads() -> None:
    items = [{"metadata": {"name": f"cm-{i}", "labels": {"a": "b"}}, "data": {"k": "v" * 300}} for i in range(2000)]
    data = json.dumps({"kind": "ConfigMapList", "items": items}).encode()
    assert len(data) > jsondecode.FAST_UP_TO
    assert jsondecode.loads(data) == json.loads(data)
    assert _peak(jsondecode.loads, data) <= 1.2 * _peak(json.loads, data)  # orjson's buffer would be ~10x


def test_a_collector_turned_off_by_the_program_stays_off() -> None:
    gc.disable()
    try:
        jsondecode.loads(big_list())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_back_on_after_a_large_document_that_is_not_json() -> None:
    with pytest.raises(ValueError):
        jsondecode.loads(big_list()[:-1])
    assert gc.isenabled()


def test_orjson_is_taken_up_only_after_enough_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNKUBE_JSON")
    jsondecode.choose()
    page = big_list()
    jsondecode.loads(page)
    assert jsondecode.decoder() == "json"  # one page is not FAST_FROM
    for _ in range(jsondecode.FAST_FROM // len(page)):
        jsondecode.loads(page)
    assert jsondecode.decoder() == ("orjson" if importlib.util.find_spec("orjson") else "json")


def test_stdlib_in_the_environment_keeps_orjson_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNKUBE_JSON", "stdlib")
    jsondecode.choose()
    page = big_list()
    for _ in range(jsondecode.FAST_FROM // len(page) + 1):
        jsondecode.loads(page)
    assert jsondecode.decoder() == "json"


def test_a_long_paged_list_takes_orjson_up_from_its_second_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNKUBE_JSON")
    jsondecode.choose()
    page = big_list()
    jsondecode.expect(len(page))  # one more page of this size to come: not FAST_FROM
    assert jsondecode.decoder() == "json"
    jsondecode.expect(jsondecode.FAST_FROM)
    assert jsondecode.decoder() == ("orjson" if importlib.util.find_spec("orjson") else "json")


def test_a_list_page_says_how_much_is_still_to_come(monkeypatch: pytest.MonkeyPatch) -> None:
    from dynkube.core.calls import read_list
    from dynkube.core.http import Response

    expected: list[int] = []
    monkeypatch.setattr(jsondecode, "expect", expected.append)
    items = [{"metadata": {"name": f"cm-{i}"}, "data": {"k": "v" * 8000}} for i in range(10)]  # 80 KB

    def page(metadata: dict[str, Any]) -> Response:
        document = {"kind": "ConfigMapList", "metadata": metadata, "items": items}
        return Response(200, content=json.dumps(document).encode())

    counted, uncounted = page({"continue": "c", "remainingItemCount": 1000}), page({"continue": "c"})
    read_list(counted)
    read_list(uncounted)
    read_list(page({}))  # the last page: nothing more to come
    items[:] = items * 4  # 320 KB: beyond FAST_UP_TO, so json decodes it and what follows
    read_list(page({"continue": "c", "remainingItemCount": 1000}))
    items[:] = items[:1]
    read_list(page({"continue": "c", "remainingItemCount": 1000}))  # a small probe (limit=1): no expectation
    assert expected == [len(counted.content) * 100, len(uncounted.content)]
