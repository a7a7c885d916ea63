"""The browser frame envelope: good frames decode, every kind of bad frame gets a stable code."""
import json

import pytest
from hypothesis import given, strategies as st

from cti.protocol.push import FrameError, MAX_FRAME_BYTES, parse_client_frame, server_frame


def frame(**kw):
    return json.dumps({"v": 1, **kw}).encode()


def test_good_frames():
    f = parse_client_frame(frame(type="auth", id="1", data={"token": "t"}))
    assert (f.type, f.id, f.data) == ("auth", "1", {"token": "t"})
    assert parse_client_frame(frame(type="ping")).data == {}


@pytest.mark.parametrize("payload,code", [
    (b"{not json", "bad-json"),
    (b"\xff\xfe", "bad-json"),
    (b"[1,2]", "bad-envelope"),
    (json.dumps({"type": "ping"}).encode(), "bad-version"),
    (frame(type="rm -rf"), "unknown-type"),
    (frame(type="auth", data={}), "missing-field"),
    (frame(type="auth", data=[1]), "bad-envelope"),
    (frame(type="ping", id=5), "bad-envelope"),
    (frame(type="ping", id="x" * 65), "bad-envelope"),
    (b" " * (MAX_FRAME_BYTES + 1), "too-large"),
])
def test_bad_frames_have_stable_codes(payload, code):
    with pytest.raises(FrameError) as err:
        parse_client_frame(payload)
    assert err.value.code == code


def test_binary_refused():
    with pytest.raises(FrameError) as err:
        parse_client_frame(frame(type="ping"), is_binary=True)
    assert err.value.code == "binary"


@given(st.binary(max_size=512))
def test_no_input_escapes_as_anything_but_frame_error(data):
    try:
        parse_client_frame(data)
    except FrameError:
        pass


def test_server_frame_envelope():
    raw = server_frame("screen-pop", {"caller": "张三"}, seq=3, ts=12.34567)
    obj = json.loads(raw)
    assert obj == {"v": 1, "type": "screen-pop", "seq": 3, "ts": 12.346, "data": {"caller": "张三"}}
    with pytest.raises(ValueError):
        server_frame("nonsense", {}, seq=1, ts=0)
