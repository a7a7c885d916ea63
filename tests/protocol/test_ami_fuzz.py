"""Property tests: feed never raises, and how the bytes are chunked never changes what comes out."""
from __future__ import annotations

from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.protocol.ami import AMIParser, Banner, ProtocolError
from cti.protocol.ami_message import Message
from tests.protocol.conftest import AMI_CAPTURES, load_ami_capture

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(chunks, **options):
    parser = AMIParser(**options)
    items = []
    for chunk in chunks:
        items += parser.feed(chunk)
    return items + parser.close()


def split(data: bytes, cuts) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


@lru_cache(maxsize=None)
def whole_feed(name: str):
    return parse([load_ami_capture(name).server])


# AMI-ish bytes: header-like pieces, line ends of every kind, and anything else.
_PIECES = st.one_of(
    st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\n\r\n", b": ", b":", b"Event: X", b"Output: ",
                     b"Asterisk Call Manager/11.0.0\r\n", "张".encode(), b"\xe5", b"\x00"]),
    st.binary(max_size=40),
)
AMI_ISH = st.lists(_PIECES, max_size=40).map(b"".join)


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), AMI_ISH),
       cuts=st.lists(st.integers(min_value=0), max_size=30),
       expect_banner=st.booleans(),
       max_block=st.sampled_from([8, 64, 1 << 20]))
def test_arbitrary_bytes_never_raise_and_chunking_does_not_matter(data, cuts, expect_banner,
                                                                    max_block):
    options = dict(expect_banner=expect_banner, max_block=max_block)
    whole = parse([data], **options)
    assert all(isinstance(i, (Banner, Message, ProtocolError)) for i in whole)
    assert sum(isinstance(i, Banner) for i in whole) <= 1
    assert parse(split(data, cuts), **options) == whole


@FUZZ
@given(name=st.sampled_from(AMI_CAPTURES), cuts=st.lists(st.integers(min_value=0), max_size=200))
def test_real_captures_give_the_same_messages_however_chunked(name, cuts):
    data = load_ami_capture(name).server
    assert parse(split(data, cuts)) == whole_feed(name)


@FUZZ
@given(name=st.sampled_from(AMI_CAPTURES), garbage=st.binary(min_size=1, max_size=300),
       cuts=st.lists(st.integers(min_value=0), max_size=50))
def test_garbage_in_front_of_a_capture_costs_at_most_the_block_it_lands_in(name, garbage, cuts):
    data = load_ami_capture(name).server
    banner_end = data.index(b"\n") + 1
    stream = data[:banner_end] + garbage + b"\r\n\r\n" + data[banner_end:]
    items = parse(split(stream, cuts))
    expected = whole_feed(name)
    assert items[0] == expected[0]
    assert items[-(len(expected) - 1):] == expected[1:]


_NAME = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters=":"),
                min_size=1, max_size=20)
_VALUE = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                 max_size=60)


@FUZZ
@given(blocks=st.lists(st.lists(st.tuples(_NAME, _VALUE), min_size=1, max_size=8), max_size=6),
       cuts=st.lists(st.integers(min_value=0), max_size=20))
def test_encoded_messages_read_back_exactly(blocks, cuts):
    sent = [Message.of(headers) for headers in blocks]
    wire = b"".join(message.encode() for message in sent)
    assert parse(split(wire, cuts), expect_banner=False) == sent


_TERMINATORS = st.sampled_from([b"\r\n\r\n", b"\n\n", b"\n\r\n", b"\r\n\n", b"\n\r\n\r\n"])


@FUZZ
@given(sizes=st.lists(st.integers(min_value=-3, max_value=3), min_size=1, max_size=6),
       ends=st.lists(_TERMINATORS, min_size=6, max_size=6),
       cuts=st.lists(st.integers(min_value=0), max_size=12),
       max_block=st.integers(min_value=6, max_value=40))
def test_blocks_at_the_size_limit_are_judged_the_same_however_chunked(sizes, ends, cuts,
                                                                      max_block):
    blocks = [b"E: " + b"x" * max(max_block + delta - 3, 0) for delta in sizes]
    data = b"".join(block + end for block, end in zip(blocks, ends))
    options = dict(expect_banner=False, max_block=max_block)
    whole = parse([data], **options)
    assert len(whole) == len(blocks)
    for block, end, item in zip(blocks, ends, whole):
        size = len(block) + end.startswith(b"\r")  # bytes before the block's last LF
        assert isinstance(item, ProtocolError) == (size > max_block)
    assert parse(split(data, cuts), **options) == whole


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), AMI_ISH),
       cuts=st.lists(st.integers(min_value=0), max_size=10),
       max_block=st.sampled_from([16, 1 << 20]))
def test_bulk_read_equals_block_by_block_read(data, cuts, max_block):
    chunks = split(data, cuts)
    assert parse(chunks, expect_banner=False, max_block=max_block) == parse(
        chunks, expect_banner=False, max_block=max_block, bulk=False)
