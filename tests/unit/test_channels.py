"""The channel protocols of exec, attach and port-forward (dynkube.core.channels), without a server."""

from __future__ import annotations

import json

import pytest

from dynkube import errors
from dynkube.core.channels import (Channel, PortForwardDecoder, close_frame, frame, read_status, resize_frame,
                                   split)


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
