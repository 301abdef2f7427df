"""The channel protocols of exec, attach and port-forward (dynkube.core.channels), without a server."""

from __future__ import annotations

import json

import pytest

from dynkube import errors
from dynkube.core.channels import (Channel, ExecOutput, PortForwardDecoder, Protocol, check_closable, chosen_protocol,
                                   close_frame, frame, header_lines, read_status, refused_upgrade, resize_frame, split,
                                   upgrade_url)


def test_messages_start_with_their_channel() -> None:
    assert frame(Channel.STDIN, b"hi") == b"\x00hi"
    assert split(b"\x02oops") == (Channel.STDERR, b"oops")
    assert split(b"\x01") == (Channel.STDOUT, b"")  # the server opens each channel with an empty message
    assert split(b"") == (-1, b"")


def test_v5_closes_stdin_with_the_close_channel() -> None:
    assert close_frame(Channel.STDIN) == b"\xff\x00"


def test_resize_sends_width_and_height_as_json() -> None:
    channel, data = split(resize_frame(120, 40))
    assert channel == Channel.RESIZE and json.loads(data) == {"Width": 120, "Height": 40}


@pytest.mark.parametrize("width, height", [(0, 40), (80, -1), (80, 70000), (True, 40), (80.5, 40)])
def test_resize_refuses_sizes_a_terminal_cannot_have(width: object, height: object) -> None:
    with pytest.raises(errors.InvalidInput, match="terminal"):
        resize_frame(width, height)  # type: ignore[arg-type]


def test_success_is_exit_code_zero() -> None:
    assert read_status(b'{"metadata":{},"status":"Success"}').code == 0


def test_a_non_zero_exit_code_comes_from_the_exit_code_cause() -> None:
    status = {"status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with exit code 3",
              "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    assert read_status(json.dumps(status).encode()).code == 3


def test_any_other_failure_raises_its_typed_error() -> None:
    status = {"status": "Failure", "reason": "InternalError", "code": 500,
              "message": 'exec: "nosuch": executable file not found in $PATH'}
    with pytest.raises(errors.ServerError, match="executable file not found"):
        read_status(json.dumps(status).encode(), url="https://h/api/v1/namespaces/a/pods/p/exec")


def test_a_non_zero_exit_without_its_cause_is_an_error_not_a_guess() -> None:
    status = {"status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated"}
    with pytest.raises(errors.ApiError, match="command terminated"):
        read_status(json.dumps(status).encode())


def test_an_error_channel_without_a_status_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponse, match="no Status"):
        read_status(b"not json")


def test_port_forward_channels_start_with_the_port_then_carry_data() -> None:
    decoder = PortForwardDecoder(8080)
    assert decoder.decode(b"\x00\x90\x1f") == (0, b"")  # 8080 little-endian
    assert decoder.decode(b"\x01\x90\x1f") == (1, b"")
    assert decoder.decode(b"\x00hello") == (0, b"hello")
    assert decoder.decode(b"\x01refused") == (1, b"refused")
    assert decoder.data(b"x") == b"\x00x"


def test_port_forward_refuses_a_channel_that_names_another_port() -> None:
    with pytest.raises(errors.MalformedResponse, match="did not start with the port"):
        PortForwardDecoder(8080).decode(b"\x00\x07\x00")


# ---- what both shells decide alike ------------------------------------------------------------

def test_the_upgrade_url_is_the_request_url_over_ws_with_its_query() -> None:
    assert upgrade_url("https://h:6443/p/exec", {"command": ["a", "b"], "stdin": "true"}) == \
        "wss://h:6443/p/exec?command=a&command=b&stdin=true"
    assert upgrade_url("http://h/p/attach", {}) == "ws://h/p/attach"


def test_header_lines_merge_layers_and_repeat_a_name_for_each_value() -> None:
    lines = header_lines({"User-Agent": "dynkube", "X": "a"}, {"Impersonate-Group": ["g1", "g2"]}, {"X": "b"})
    assert lines == [("User-Agent", "dynkube"), ("X", "b"), ("Impersonate-Group", "g1"), ("Impersonate-Group", "g2")]


def test_a_refused_upgrade_is_the_typed_error_of_its_status() -> None:
    body = json.dumps({"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
                       "message": 'pods "p" is forbidden'}).encode()
    error = refused_upgrade(403, {"Content-Type": "application/json"}, body, "Forbidden", "https://h/p/exec")
    assert isinstance(error, errors.Forbidden) and "forbidden" in str(error)


def test_the_chosen_protocol_must_be_one_offered() -> None:
    assert chosen_protocol("v5.channel.k8s.io", "u") is Protocol.V5
    with pytest.raises(errors.StreamError, match="no channel protocol"):
        chosen_protocol(None, "u")


def test_only_v5_can_end_stdin() -> None:
    check_closable(Protocol.V5, "u")
    with pytest.raises(errors.StreamError, match="cannot close stdin"):
        check_closable(Protocol.V4, "u")


def test_exec_output_keeps_each_channel_and_ends_with_the_exit_code() -> None:
    output = ExecOutput("u")
    for message in (b"\x01", b"\x01out", b"\x02err", b"\x01more", b"\x04ignored"):
        output.received(message)
    assert output.has(Channel.STDERR) and not output.ended
    assert output.take(Channel.STDERR) == b"err" and output.take(Channel.STDERR) == b""
    assert output.take_any() == (Channel.STDOUT, b"out")
    output.received(b'\x03{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":'
                    b'[{"reason":"ExitCode","message":"7"}]}}')
    output.ended_by("connection reset")  # a break after the exit Status changes nothing
    assert output.ended and output.status_received and output.result() == 7 == output.exit_code
    assert output.take(Channel.STDOUT) == b"more"  # kept for its reader after the end


def test_exec_output_without_a_status_is_zero_or_a_dropped_stream() -> None:
    closed = ExecOutput("u")
    closed.ended_by(None)
    assert closed.result() == 0 and not closed.status_received
    dropped = ExecOutput("u")
    dropped.ended_by("no close frame")
    with pytest.raises(errors.StreamError, match="dropped before the command ended"):
        dropped.result()
    with pytest.raises(errors.InvalidInput, match="only stdout and stderr"):
        dropped.check_readable(Channel.STDIN)


def test_port_forward_payload_is_data_and_the_error_channel_raises() -> None:
    decoder = PortForwardDecoder(7)
    assert decoder.payload(b"\x00\x07\x00", "u") == b""  # the data channel's first message: the port
    assert decoder.payload(b"\x00hello", "u") == b"hello"
    assert decoder.payload(b"\x01\x07\x00", "u") == b""
    with pytest.raises(errors.StreamError, match="port 7: nothing listens"):
        decoder.payload(b"\x01nothing listens", "u")
