"""AMIParser on the bytes a real Asterisk 22 sent, and on bytes no Asterisk should send."""
from __future__ import annotations

import collections
import random

import pytest

from cti.protocol.ami import RAW_LIMIT, AMIParser, Banner, ProtocolError
from cti.protocol.ami_message import Message
from tests.protocol.conftest import AMI_CAPTURES, load_ami_capture


def parse(chunks, expect_banner=True, max_block=1 << 20, bulk=True):
    parser = AMIParser(expect_banner=expect_banner, max_block=max_block, bulk=bulk)
    items = []
    for chunk in chunks:
        items += parser.feed(chunk)
    return items + parser.close()


def one_byte_at_a_time(data: bytes):
    return [data[i:i + 1] for i in range(len(data))]


def messages(items):
    return [item for item in items if isinstance(item, Message)]


def by_action_id(items, action_id):
    found = [m for m in messages(items) if m.kind == "response" and m.action_id == action_id]
    assert len(found) == 1, action_id
    return found[0]


# -- the captures -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", AMI_CAPTURES)
def test_capture_parses_the_same_whole_byte_by_byte_and_in_real_tcp_chunks(name):
    capture = load_ami_capture(name)
    assert b"".join(capture.rx) == capture.server  # the two fixture views agree

    whole = parse([capture.server])
    assert whole == parse(one_byte_at_a_time(capture.server))
    assert whole == parse(capture.rx)
    assert whole == parse(capture.rx, bulk=False)

    assert whole[0] == Banner("Asterisk Call Manager/11.0.0", "11.0.0")
    rest = whole[1:]
    assert rest and all(isinstance(item, Message) for item in rest)
    assert all(m.kind in ("response", "event") for m in rest)
    # One message per terminator in the capture (the stray LF one included).
    assert len(rest) == capture.server.count(b"\r\n\r\n")


@pytest.mark.parametrize("name", AMI_CAPTURES)
def test_client_bytes_parse_as_the_actions_sent_each_answered_once(name):
    capture = load_ami_capture(name)
    actions = parse(capture.tx, expect_banner=False)
    assert actions and all(isinstance(item, Message) for item in actions)
    assert actions == parse(one_byte_at_a_time(b"".join(capture.tx)), expect_banner=False)

    responses = [m for m in messages(parse(capture.rx)) if m.kind == "response"]
    assert sorted(m.action_id for m in actions) == sorted(m.action_id for m in responses)


@pytest.mark.parametrize("name", AMI_CAPTURES)
def test_both_directions_interleaved_parse_as_answers_plus_actions(name):
    capture = load_ami_capture(name)
    both = parse([capture.both])
    received = parse(capture.rx)
    sent = parse(capture.tx, expect_banner=False)
    assert collections.Counter(both) == collections.Counter(received + sent)


def test_login_response_keeps_wire_order():
    items = parse([load_ami_capture("ami-login").server])
    assert items[1] == Message((
        ("Response", "Success"),
        ("ActionID", "login-1"),
        ("Message", "Authentication accepted"),
    ))
    assert [m.name for m in items[1:]] == ["Success", "FullyBooted", "SuccessfulAuth", "Goodbye"]


def test_eventfilter_drops_only_varset_and_newexten():
    filtered = messages(parse(load_ami_capture("ami-eventfilter").rx))
    unfiltered = messages(parse(load_ami_capture("ami-agi-route-call").rx))
    assert (len(filtered), len(unfiltered)) == (65, 119)

    names = collections.Counter(m.name for m in unfiltered)
    assert (names["VarSet"], names["Newexten"]) == (30, 24)
    assert not {"VarSet", "Newexten"} & {m.name for m in filtered}
    assert collections.Counter(m.name for m in filtered) == names - collections.Counter(
        VarSet=30, Newexten=24)


def test_command_output_lines_are_kept_in_order_and_exactly():
    items = parse([load_ami_capture("ami-actions").server])
    queue_show = by_action_id(items, "cmd-queue-show")
    outputs = queue_show.getall("Output")
    assert len(outputs) == 7
    assert outputs[0].startswith("support has 0 calls (max unlimited) in 'rrmemory' strategy")
    assert outputs[1] == "   Members: "  # leading and trailing spaces survive
    assert outputs[2].startswith("      Agent 2002 (Local/2002@agents/n")
    assert outputs[3].startswith("      Agent 2001 (Local/2001@agents/n")
    assert outputs[4:] == ["   No Callers", "", ""]
    names = [k for k, _ in queue_show.headers]
    assert names == ["Response", "ActionID", "Message"] + ["Output"] * 7

    bad = by_action_id(items, "cmd-bad")
    assert bad.name == "Error"
    assert bad.getall("Output") == [
        "No such command 'no such cli command' (type 'core show help no such' for other "
        "possible commands)"]


def test_empty_values_are_empty_strings():
    items = parse([load_ami_capture("ami-actions").server])
    unset = by_action_id(items, "getvar-unset")
    assert unset["Value"] == ""
    assert "Value" in unset


def test_stray_bare_lf_of_pjsip_show_contacts_is_stripped_and_the_stream_goes_on():
    capture = load_ami_capture("ami-pjsip-agent")
    assert capture.server.count(b"No Contacts found\n\r\n\r\n") == 2
    items = parse(capture.rx)
    assert not [i for i in items if isinstance(i, ProtocolError)]
    for action_id in ("contacts-before", "contacts-after"):
        error = by_action_id(items, action_id)
        assert error.headers == (
            ("Response", "Error"), ("ActionID", action_id), ("Message", "No Contacts found"))
    # The very next answers are intact.
    assert by_action_id(items, "extstate-before")["Message"] == "Extension Status"
    assert by_action_id(items, "extstate-after")["Message"] == "Extension Status"


def test_originate_variables_are_repeated_headers_on_the_client_side():
    actions = parse(load_ami_capture("ami-actions").tx, expect_banner=False)
    originate = [m for m in actions if m.action_id == "orig-1"][0]
    assert originate.kind == "action" and originate.name == "Originate"
    assert len(originate.getall("Variable")) == 2
    headerless = [m for m in actions if m.action_id == "no-action-header"][0]
    assert headerless.kind == "unknown"


# -- framing rules ------------------------------------------------------------------------------

def test_several_messages_in_one_read_and_one_split_inside_crlf():
    parser = AMIParser(expect_banner=False)
    first = parser.feed(b"Event: A\r\nX: 1\r\n\r\nEvent: B\r\n\r\nEvent: C\r")
    assert [m.name for m in first] == ["A", "B"]
    assert parser.feed(b"\n\r") == []
    assert parser.feed(b"\n") == [Message((("Event", "C"),))]
    assert parser.buffered == 0


def test_bare_lf_line_ends_are_tolerated():
    items = parse([b"Event: A\nX: 1\n\nEvent: B\r\nY: 2\n\r\nEvent: C\nZ: 3\r\n\n"],
                  expect_banner=False)
    assert items == [
        Message((("Event", "A"), ("X", "1"))),
        Message((("Event", "B"), ("Y", "2"))),
        Message((("Event", "C"), ("Z", "3"))),
    ]


def test_blank_lines_between_blocks_carry_nothing():
    items = parse([b"\r\n\n\r\nEvent: A\r\n\r\n\r\n\r\n\nEvent: B\r\n\r\n"], expect_banner=False)
    assert [m.name for m in items] == ["A", "B"]


def test_colon_without_space_and_colons_inside_values():
    items = parse([b"Event:Tight\r\nUri: sip:6001@127.0.0.1:5070\r\nValue:  two spaces\r\n\r\n"],
                  expect_banner=False)
    assert items[0].headers == (
        ("Event", "Tight"), ("Uri", "sip:6001@127.0.0.1:5070"), ("Value", " two spaces"))


def test_banner_then_message_in_the_same_read():
    parser = AMIParser()
    items = parser.feed(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\n\r\n")
    assert items == [Banner("Asterisk Call Manager/11.0.0", "11.0.0"),
                     Message((("Response", "Success"),))]


def test_banner_split_across_reads_and_without_a_version():
    parser = AMIParser()
    assert parser.feed(b"Asterisk Call Man") == []
    assert parser.feed(b"ager/20.5.2-cert1\r") == []
    assert parser.feed(b"\n") == [Banner("Asterisk Call Manager/20.5.2-cert1", "20.5.2-cert1")]
    assert parse([b"Some other server\n"]) == [Banner("Some other server", None)]


def test_server_side_reads_the_first_line_as_a_header():
    items = parse([b"Action: Ping\r\nActionID: 1\r\n\r\n"], expect_banner=False)
    assert items == [Message((("Action", "Ping"), ("ActionID", "1")))]


def test_utf8_character_split_inside_the_character_is_not_lost():
    block = "Event: Newchannel\r\nCallerIDName: 张三\r\n\r\n".encode()
    start = block.index("张".encode())
    for cut in range(start, start + 6):  # every position inside and around both characters
        parser = AMIParser(expect_banner=False)
        items = parser.feed(block[:cut]) + parser.feed(block[cut:])
        assert items == [Message((("Event", "Newchannel"), ("CallerIDName", "张三")))], cut


def test_invalid_utf8_falls_back_to_latin1_per_header():
    items = parse([b"Event: Newchannel\r\nCallerIDName: Caf\xe9\r\nConnectedLineName: "
                   + "张".encode() + b"\r\n\r\n"], expect_banner=False)
    assert items[0]["CallerIDName"] == "Café"
    assert items[0]["ConnectedLineName"] == "张"


def test_close_reports_an_unfinished_block_and_only_that():
    parser = AMIParser(expect_banner=False)
    assert parser.feed(b"Response: Success\r\nActionID: 7\r\n") == []
    [error] = parser.close()
    assert isinstance(error, ProtocolError) and "ended inside a block" in error.reason
    assert error.raw == b"Response: Success\r\nActionID: 7\r\n"
    assert parser.close() == []

    clean = AMIParser(expect_banner=False)
    clean.feed(b"Event: A\r\n\r\n\r\n")
    assert clean.close() == []


def test_empty_feed_and_bad_limit():
    assert AMIParser().feed(b"") == []
    with pytest.raises(ValueError):
        AMIParser(max_block=0)


# -- garbage ------------------------------------------------------------------------------------

VALID = b"Event: Hangup\r\nChannel: PJSIP/6001-00000001\r\nCause: 16\r\n\r\n"
HANGUP = Message((("Event", "Hangup"), ("Channel", "PJSIP/6001-00000001"), ("Cause", "16")))


def test_line_without_colon_is_a_protocol_error_and_the_next_block_is_read():
    bad = b"Event: Odd\r\nthis line has no colon\r\n\r\n"
    for chunks in ([bad + VALID], one_byte_at_a_time(bad + VALID)):
        items = parse(chunks, expect_banner=False)
        assert len(items) == 2
        error, message = items
        assert isinstance(error, ProtocolError)
        assert "this line has no colon" in error.reason
        assert error.raw == b"Event: Odd\r\nthis line has no colon\r\n"
        assert message == HANGUP


@pytest.mark.parametrize("bad_line", [b": no name", b"two words: value", b"Tab\tName: v"])
def test_header_names_must_be_one_printable_word(bad_line):
    items = parse([b"Event: X\r\n" + bad_line + b"\r\n\r\n" + VALID], expect_banner=False)
    assert isinstance(items[0], ProtocolError) and items[1:] == [HANGUP]


def test_oversize_block_is_reported_once_and_the_parser_resynchronises():
    huge = b"Event: Flood\r\n" + b"Junk: " + b"x" * (2 << 20) + b"\r\n\r\n"
    chunked = [huge[i:i + 65536] for i in range(0, len(huge), 65536)]
    for chunks in ([huge + VALID], chunked + [VALID]):
        parser = AMIParser(expect_banner=False)
        items = []
        for chunk in chunks:
            items += parser.feed(chunk)
            assert parser.buffered <= (1 << 20) + 65536 + 2  # never holds the whole flood
        assert len(items) == 2
        error, message = items
        assert isinstance(error, ProtocolError) and "longer than 1048576" in error.reason
        assert error.raw == huge[:RAW_LIMIT]
        assert message == HANGUP


def test_oversize_boundary_does_not_depend_on_chunking():
    limit = 40
    fits = b"Event: A\r\nX: " + b"y" * (limit - 14) + b"\r\n\r\n"  # block content == limit
    too_big = b"Event: A\r\nX: " + b"y" * (limit - 13) + b"\r\n\r\n"
    assert len(fits.rstrip(b"\r\n")) + 1 == limit  # content incl. the final CR
    stream = fits + too_big + b"Event: Short\r\n\r\n"
    whole = parse([stream], expect_banner=False, max_block=limit)
    assert isinstance(whole[0], Message) and isinstance(whole[1], ProtocolError)
    assert whole[1].raw == too_big[:limit]
    assert whole[2:] == [Message((("Event", "Short"),))]
    for cut in range(1, len(stream)):
        assert parse([stream[:cut], stream[cut:]], expect_banner=False,
                     max_block=limit) == whole, cut
    assert parse(one_byte_at_a_time(stream), expect_banner=False, max_block=limit) == whole


def test_oversize_banner_line():
    items = parse([b"A" * 100 + b"\r\n\r\n" + VALID], max_block=64)
    assert isinstance(items[0], ProtocolError) and "banner" in items[0].reason
    assert items[1:] == [HANGUP]


def test_nul_bytes_and_lone_cr():
    items = parse([b"\x00\x00\x00\r\n\r\n", b"Event: N\r\nData: a\x00b\r\n\r\n",
                   b"Event: C\r\nValue: a\rb\r\n\r\n", b"\r", b"Event: After\r\n\r\n", VALID],
                  expect_banner=False)
    assert isinstance(items[0], ProtocolError)
    assert items[1]["Data"] == "a\x00b"  # kept, as sent
    assert items[2]["Value"] == "a\rb"  # a CR that does not end a line is content
    assert isinstance(items[3], ProtocolError)  # "\rEvent: After" is no header name
    assert items[4:] == [HANGUP]


def test_random_garbage_never_raises_and_valid_messages_after_it_are_read():
    rng = random.Random(20261122)
    for _ in range(50):
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        stream = garbage + b"\r\n\r\n" + VALID + VALID
        cuts = sorted(rng.sample(range(1, len(stream)), 5))
        chunks = [stream[a:b] for a, b in zip([0] + cuts, cuts + [len(stream)])]
        items = parse(chunks, expect_banner=False)
        assert items[-2:] == [HANGUP, HANGUP]
        assert all(isinstance(i, (Message, ProtocolError)) for i in items)
