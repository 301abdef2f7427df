"""The incremental watch decoder on real recorded streams (fixtures/watch/, made by
scripts/record_watch.py): any split of the bytes into chunks gives the same events."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.core import jsondecode
from dynkube.errors import Gone, WatchError, api_error_from_status
from dynkube.resources import Resource
from dynkube.watch import EventType, JSONStreamDecoder, WatchEvent, decode_event

pytestmark = pytest.mark.usefixtures("json_decoder")  # every reader under both decoders

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "watch"
STREAM = (FIXTURES / "configmaps.stream").read_bytes()
EXPECTED = [json.loads(line) for line in STREAM.splitlines()]


def decode(chunks: list[bytes]) -> list[object]:
    decoder = JSONStreamDecoder()
    values = [value for chunk in chunks for value in decoder.feed(chunk)]
    assert not decoder.incomplete
    return values


def split_at(data: bytes, offsets: list[int]) -> list[bytes]:
    bounds = [0, *sorted(offsets), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def test_recording_holds_multibyte_text_and_merged_events() -> None:
    sizes = json.loads((FIXTURES / "configmaps.chunks.json").read_text())
    assert "日本語 🚀".encode() in STREAM
    assert len(sizes) < len(EXPECTED)  # the server merged some events into one piece


def test_chunks_as_the_server_sent_them() -> None:
    sizes = json.loads((FIXTURES / "configmaps.chunks.json").read_text())
    offsets = [sum(sizes[:i]) for i in range(1, len(sizes))]
    assert decode(split_at(STREAM, offsets)) == EXPECTED


def test_whole_stream_in_one_chunk() -> None:
    assert decode([STREAM]) == EXPECTED


def test_one_byte_at_a_time() -> None:
    assert decode([STREAM[i:i + 1] for i in range(len(STREAM))]) == EXPECTED


def test_every_split_into_two_chunks() -> None:
    for offset in range(1, len(STREAM)):
        assert decode(split_at(STREAM, [offset])) == EXPECTED, f"split at byte {offset}"


def test_random_splits_inside_and_across_events() -> None:
    rng = random.Random(6)
    for _ in range(300):
        offsets = rng.sample(range(1, len(STREAM)), rng.randint(1, 40))
        assert decode(split_at(STREAM, offsets)) == EXPECTED


def test_a_piece_larger_than_one_parse_is_parsed_in_runs_of_lines() -> None:
    repeats = jsondecode.FAST_UP_TO * 3 // len(STREAM) + 1
    assert decode([STREAM * repeats]) == EXPECTED * repeats


def test_a_line_longer_than_one_parse_is_parsed_alone() -> None:
    long_line = json.dumps({"type": "ADDED", "object": {"metadata": {"name": "big"},
                                                         "data": {"k": "x" * jsondecode.FAST_UP_TO}}}).encode()
    stream = STREAM + long_line + b"\n" + STREAM
    assert decode([stream]) == [*EXPECTED, json.loads(long_line), *EXPECTED]


def test_events_without_newlines_between_them() -> None:
    assert decode([b"".join(STREAM.splitlines())]) == EXPECTED


def test_blank_lines_and_values_spread_over_lines() -> None:
    pretty = "\n\n".join(json.dumps(e, indent=2, ensure_ascii=False) for e in EXPECTED).encode() + b"\n"
    rng = random.Random(7)
    for _ in range(50):
        assert decode(split_at(pretty, rng.sample(range(1, len(pretty)), 8))) == EXPECTED


def test_cut_inside_a_multibyte_character_waits_for_the_rest() -> None:
    position = STREAM.index("🚀".encode()) + 2
    decoder = JSONStreamDecoder()
    list(decoder.feed(STREAM[:position]))
    assert decoder.incomplete
    list(decoder.feed(STREAM[position:]))
    assert not decoder.incomplete


def test_stream_cut_mid_event_is_incomplete() -> None:
    decoder = JSONStreamDecoder()
    first_end = STREAM.index(b"\n") + 1
    assert list(decoder.feed(STREAM[:first_end + 10])) == EXPECTED[:1]
    assert decoder.incomplete


@pytest.mark.parametrize("garbage", [b"<html>oops</html>\n", b'{"type": "ADDED", "object": {]}\n',
                                     b'{"type": "ADDED", "object": {"a": tru}\n'])
def test_malformed_value_raises_instead_of_buffering_forever(garbage: bytes) -> None:
    decoder = JSONStreamDecoder()
    with pytest.raises(WatchError):
        list(decoder.feed(STREAM[:STREAM.index(b"\n") + 1] + garbage + STREAM))


@pytest.mark.parametrize("cut", [0, 1])
def test_bytes_that_are_not_utf8_raise(cut: int) -> None:
    first_end = STREAM.index(b"\n") + 1
    bad = STREAM[:first_end] + b'{"type": "ADDED", "object": {"a": "\xff\xfe"}}\n' + STREAM[first_end:]
    decoder = JSONStreamDecoder()
    pieces = [bad] if not cut else [bad[:first_end + 40], bad[first_end + 40:]]
    with pytest.raises(WatchError, match="not UTF-8"):
        for piece in pieces:
            list(decoder.feed(piece))


def test_events_are_typed_with_wrapped_objects() -> None:
    events = [decode_event(doc) for doc in EXPECTED]
    assert [e.type for e in events[:5]] == [EventType.ADDED] * 4 + [EventType.BOOKMARK]
    assert events[4].is_initial_events_end and not events[-1].is_initial_events_end
    assert [e.type for e in events[5:9]] == [EventType.ADDED, EventType.MODIFIED, EventType.DELETED, EventType.DELETED]
    assert events[5].object.metadata.name == "during"
    assert events[5].resource_version == EXPECTED[5]["object"]["metadata"]["resourceVersion"]


def test_recorded_410_error_event_maps_to_gone() -> None:
    (document,) = decode([(FIXTURES / "gone.stream").read_bytes()])
    event = decode_event(document)
    assert event.type is EventType.ERROR
    error = api_error_from_status(dict(event.object))
    assert isinstance(error, Gone) and error.code == 410


@pytest.mark.parametrize("document", [{"type": "SOMETHING", "object": {}}, {"object": {}}, ["ADDED"],
                                      {"type": "ADDED", "object": "text"}])
def test_values_that_are_not_events_raise(document: object) -> None:
    with pytest.raises(WatchError):
        decode_event(document)


def test_watch_event_unpacks_like_a_pair() -> None:
    kind, obj = WatchEvent(EventType.ADDED, dynkube.ApiObject({"metadata": {"resourceVersion": "7"}}))
    assert kind is EventType.ADDED and obj.metadata.resourceVersion == "7"


# ---- input checks happen before any request: the "server" below does not exist --------------

@pytest.fixture
def offline() -> dynkube.Client:
    return dynkube.Client(dynkube.Config(server="https://127.0.0.1:9"), cache_dir=False)


def _resource(client: dynkube.Client, verbs: set[str], namespaced: bool = True) -> dynkube.ResourceClient:
    resource = Resource(group="", version="v1", kind="ConfigMap", plural="configmaps", singular="configmap",
                        namespaced=namespaced, verbs=frozenset(verbs))
    return dynkube.ResourceClient(client, resource)


@pytest.mark.parametrize("kwargs", [
    {"resource_version": 5}, {"label_selector": ["a=b"]}, {"field_selector": 3}, {"timeout_seconds": 0},
    {"timeout_seconds": "10"}, {"timeout_seconds": True}, {"resume": True, "label_selector": 1},
    {"send_initial_events": True, "allow_bookmarks": False}, {"namespace": "a", "all_namespaces": True},
])
def test_bad_watch_arguments_fail_before_any_request(offline: dynkube.Client, kwargs: dict[str, Any]) -> None:
    with pytest.raises(dynkube.InvalidInput):
        _resource(offline, {"list", "watch"}).watch(**{"namespace": "ns", **kwargs})


def test_resuming_without_a_resource_version_needs_the_list_verb(offline: dynkube.Client) -> None:
    with pytest.raises(dynkube.InvalidInput, match="does not support 'list'"):
        _resource(offline, {"watch"}).watch("ns", resume=True)  # it lists first


def test_resource_without_watch_verb_is_refused(offline: dynkube.Client) -> None:
    with pytest.raises(dynkube.InvalidInput, match="does not support 'watch'"):
        _resource(offline, {"list", "get"}).watch("ns")


def test_namespace_given_for_a_cluster_scoped_resource_is_refused(offline: dynkube.Client) -> None:
    with pytest.raises(dynkube.InvalidInput, match="cluster-scoped"):
        _resource(offline, {"watch"}, namespaced=False).watch("ns")


def test_a_valid_watch_sends_nothing_until_iterated(offline: dynkube.Client) -> None:
    watch = _resource(offline, {"watch"}).watch("ns", label_selector={"app": "x"}, resource_version="12",
                                               resume=True)
    assert watch.resource_version == "12"
    watch.stop()
    assert list(watch) == []  # stopped before the first request: nothing was sent


@pytest.mark.parametrize("idle_timeout", [0, -1.5, "90", True])
def test_bad_idle_timeouts_fail_before_any_request(offline: dynkube.Client, idle_timeout: Any) -> None:
    with pytest.raises(dynkube.InvalidInput, match="idle_timeout"):
        _resource(offline, {"list", "watch"}).watch("ns", resource_version="1", resume=True,
              idle_timeout=idle_timeout)
