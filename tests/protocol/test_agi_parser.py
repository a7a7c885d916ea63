"""The sans-IO AGI parser against the bytes a real Asterisk 22 sent, whole, byte by byte, in
the real TCP chunks, and against garbage."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.protocol.agi import (
    DEAD_CHANNEL, INVALID_COMMAND, MAX_LINE, AGIServerParser, Environment, HangupNotice,
    ProtocolError, Result, encode_environment, encode_result, encode_usage,
)
from tests.conftest import CAPTURES

AGI_CAPTURES = sorted(p.name[: -len(".server.txt")] for p in CAPTURES.glob("agi-session*.server.txt"))


@dataclass(frozen=True)
class AGICapture:
    """One recorded FastAGI session: Asterisk's bytes, and every chunk of both directions."""

    name: str
    server: bytes
    chunks: tuple[tuple[str, bytes], ...]  # ("rx" | "tx", bytes) in the order they happened

    @property
    def rx(self) -> list[bytes]:
        return [data for direction, data in self.chunks if direction == "rx"]

    @property
    def tx(self) -> list[bytes]:
        return [data for direction, data in self.chunks if direction == "tx"]


@lru_cache(maxsize=None)
def load_agi_capture(name: str) -> AGICapture:
    chunks = []
    for line in (CAPTURES / f"{name}.jsonl").read_text().splitlines():
        entry = json.loads(line)
        chunks.append((entry["dir"], entry["data"].encode("latin-1")))
    return AGICapture(name, (CAPTURES / f"{name}.server.txt").read_bytes(), tuple(chunks))


def parse(*chunks: bytes) -> list:
    parser = AGIServerParser()
    return [item for chunk in chunks for item in parser.feed(chunk)]


def test_every_agi_capture_is_here():
    assert AGI_CAPTURES == ["agi-session", "agi-session-hangup", "agi-session-inbound",
                            "agi-session-redirected", "agi-session-route"]


@pytest.mark.parametrize("name", AGI_CAPTURES)
def test_capture_whole_bytewise_and_in_tcp_chunks_give_the_same_items(name):
    capture = load_agi_capture(name)
    whole = parse(capture.server)
    assert parse(*[capture.server[i:i + 1] for i in range(len(capture.server))]) == whole
    assert parse(*capture.rx) == whole
    assert b"".join(capture.rx) == capture.server


@pytest.mark.parametrize("name", AGI_CAPTURES)
def test_capture_has_one_environment_then_one_reply_per_command(name):
    capture = load_agi_capture(name)
    items = parse(capture.server)
    assert isinstance(items[0], Environment)
    assert not [i for i in items if isinstance(i, ProtocolError)]
    replies = [i for i in items if isinstance(i, Result)]
    commands = b"".join(capture.tx).count(b"\n")
    assert len(replies) == commands
    assert isinstance(items[-1], HangupNotice)  # Asterisk's HANGUP when the session ends


@pytest.mark.parametrize("name", AGI_CAPTURES)
def test_the_asterisk_side_encoders_rebuild_the_captured_bytes(name):
    capture = load_agi_capture(name)
    rebuilt = b""
    for item in parse(capture.server):
        if isinstance(item, Environment):
            rebuilt += encode_environment(item)
        elif isinstance(item, HangupNotice):
            rebuilt += b"HANGUP\n"
        elif item.code == 200:
            rebuilt += encode_result(item.result, item.data, item.endpos)
        elif item.code == 520:
            rebuilt += encode_usage(item.data)
        else:
            rebuilt += {510: INVALID_COMMAND, 511: DEAD_CHANNEL}[item.code]
    assert rebuilt == capture.server


def test_environment_of_the_demo_session():
    env = parse(load_agi_capture("agi-session").server)[0]
    assert env.network_script == "demo"
    assert env.args == ["arg one", "arg2"]
    assert env.uniqueid == "1795360239.18"
    assert env.channel == "Local/102@callers-00000009;1"
    assert env["agi_accountcode"] == ""  # "agi_accountcode: " with nothing after the space
    assert env["agi_request"] == "agi://127.0.0.1:4573/demo"
    assert list(env)[:2] == ["agi_network", "agi_network_script"]  # wire order kept


def test_demo_session_replies():
    items = parse(load_agi_capture("agi-session").server)
    replies = [i for i in items if isinstance(i, Result)]
    answer, channel, unset = replies[0], replies[1], replies[2]
    assert (answer.code, answer.result, answer.data) == (200, "0", None)
    assert channel.data == "Local/102@callers-00000009;1"
    assert (unset.result, unset.data) == ("0", None)  # unset variable: no parentheses
    stream_ok, stream_missing = replies[7], replies[8]
    assert (stream_ok.result, stream_ok.endpos) == ("0", 3404)
    assert (stream_missing.result, stream_missing.number, stream_missing.endpos) == ("-1", -1, 0)
    record = next(r for r in replies if r.data == "timeout")
    assert (record.result, record.endpos) == ("1", 0)
    assert [r.number for r in replies if r.number == -2] == [-2]  # EXEC NoSuchApplication


def test_510_and_520_multiline_usage_are_one_reply_each():
    replies = [i for i in parse(load_agi_capture("agi-session").server) if isinstance(i, Result)]
    unknown = [r for r in replies if r.code == 510]
    usages = [r for r in replies if r.code == 520]
    assert [r.data for r in unknown] == ["Invalid or unknown command"]
    assert len(usages) == 2
    first = usages[0]
    assert first.data.startswith("Returns <literal>0</literal> if <replaceable>variablename")
    # the usage text quotes a result line: it must stay usage text, not become a reply
    assert first.data.endswith("Example return code: 200 result=1 (testvariable)")
    assert first.raw.startswith(b"520-Invalid command syntax.  Proper usage follows:\n")
    assert first.raw.endswith(b"520 End of proper usage.\n")
    assert usages[1].data == "Sets a variable to the current channel."


def test_get_data_without_input_is_an_empty_result_with_timeout():
    replies = [i for i in parse(load_agi_capture("agi-session-hangup").server) if isinstance(i, Result)]
    timeout = replies[2]
    assert (timeout.code, timeout.result, timeout.data, timeout.number) == (200, "", "timeout", None)


@pytest.mark.parametrize("name", ["agi-session-hangup", "agi-session-redirected"])
def test_hangup_notice_follows_minus_one_then_511s(name):
    items = parse(load_agi_capture(name).server)[1:]
    first_hangup = next(n for n, i in enumerate(items) if isinstance(i, HangupNotice))
    assert items[first_hangup - 1].result == "-1"
    after = [i for i in items[first_hangup + 1:] if isinstance(i, Result)]
    assert 511 in [r.code for r in after]
    assert all(r.data == "Command Not Permitted on a dead channel or intercept routine"
               for r in after if r.code == 511)
    assert 200 in [r.code for r in after]  # some commands still work on the dead channel
    assert sum(isinstance(i, HangupNotice) for i in items) == 2


def test_crlf_line_endings_are_tolerated():
    assert parse(b"agi_network_script: x\r\n\r\n200 result=1 (v)\r\nHANGUP\r\n") == [
        Environment(agi_network_script="x"),
        Result(200, "1", "v", None, b"200 result=1 (v)\r\n"),
        HangupNotice(b"HANGUP\r\n"),
    ]


@pytest.mark.parametrize("line, result, data, endpos", [
    (b"200 result=1 (a (b) c)", "1", "a (b) c", None),          # parentheses inside a value
    (b"200 result=1 (x endpos=5)", "1", "x endpos=5", None),    # endpos= inside a value
    (b"200 result=1 (timeout) endpos=0", "1", "timeout", 0),
    (b"200 result=0 endpos=-1", "0", None, -1),
    (b"200 result=1 ()", "1", "", None),                        # variable set to ""
    (b"200 result=1 (speech) endpos=7 results=0 ", "1", None, 7),  # extra fields: raw keeps them
    (b"200 result=", "", None, None),
])
def test_200_reply_forms(line, result, data, endpos):
    [env, reply] = parse(b"\n" + line + b"\n")
    assert env == {}
    assert (reply.code, reply.result, reply.data, reply.endpos) == (200, result, data, endpos)
    assert reply.raw == line + b"\n"


def test_single_line_520_and_other_codes_are_replies():
    items = parse(b"\n520 Invalid command syntax.  Proper usage not available.\n"
                  b"503 something new\n")[1:]
    assert [(i.code, i.data) for i in items] == [
        (520, "Invalid command syntax.  Proper usage not available."), (503, "something new")]


@pytest.mark.parametrize("garbage", [
    b"hello there\n", b"\n", b"200 okay\n", b"20 result=1\n", b"HANGUP now\n", b"999\n",
    b"\xff\xfe\x00garbage\n",
])
def test_malformed_reply_lines_become_items_and_parsing_goes_on(garbage):
    items = parse(b"agi_network_script: x\n\n", garbage, b"200 result=1\n")
    assert isinstance(items[0], Environment)
    assert isinstance(items[1], ProtocolError) and items[1].raw == garbage
    assert items[2] == Result(200, "1", None, None, b"200 result=1\n")


def test_malformed_environment_line_is_reported_and_the_rest_kept():
    items = parse(b"agi_network_script: x\nnot agi\nagi_bad line\nagi_arg_1: y\n\n")
    assert [type(i) for i in items] == [ProtocolError, ProtocolError, Environment]
    assert items[2] == {"agi_network_script": "x", "agi_arg_1": "y"}


def test_over_long_line_is_reported_once_and_skipped_however_it_arrives():
    long_line = b"2" * (MAX_LINE + 10) + b"\n"
    data = b"\n" + long_line + b"200 result=1\n"
    whole = parse(data)
    assert [type(i) for i in whole] == [Environment, ProtocolError, Result]
    assert len(whole[1].raw) == MAX_LINE
    assert parse(*[data[i:i + 1000] for i in range(0, len(data), 1000)]) == whole
    assert parse(*[data[i:i + 1] for i in range(0, len(data), 1)]) == whole


def test_a_usage_block_is_complete_only_at_its_end_line():
    parser = AGIServerParser()
    assert parser.feed(b"\n520-Invalid command syntax.  Proper usage follows:\nUsage: X\n") == [{}]
    [usage] = parser.feed(b"520 End of proper usage.\n")
    assert (usage.code, usage.data) == (520, "Usage: X")


# -- fuzzing --------------------------------------------------------------------------------------
def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0), max_size=20))
def test_fuzz_arbitrary_bytes_never_raise_and_chunking_does_not_matter(data, cuts):
    whole = parse(data)
    assert parse(*_split(data, cuts)) == whole
    assert all(isinstance(i, (Environment, Result, HangupNotice, ProtocolError)) for i in whole)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([
    b"agi_network_script: x\n", b"\n", b"200 result=1 (v)\n", b"HANGUP\n", b"511 dead\n",
    b"520-Invalid command syntax.  Proper usage follows:\n", b"520 End of proper usage.\n",
    b"junk\n", b"200 result= (timeout)\n", b"\r\n", b"\xc3",
]), max_size=40), st.lists(st.integers(min_value=0), max_size=20))
def test_fuzz_agi_like_streams_are_chunking_invariant(lines, cuts):
    data = b"".join(lines)
    assert parse(*_split(data, cuts)) == parse(data)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(AGI_CAPTURES), st.lists(st.integers(min_value=0), max_size=30))
def test_fuzz_real_captures_are_chunking_invariant(name, cuts):
    server = load_agi_capture(name).server
    assert parse(*_split(server, cuts)) == parse(server)
