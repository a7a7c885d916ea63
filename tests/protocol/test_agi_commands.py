"""AGI command lines: our quoting, the injection guard, and Asterisk's own word splitting."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.agi_errors import AGIArgumentError, AGIError
from cti.protocol.agi import (
    AGI_BUF_LEN, MAX_LINE, AGICommandParser, Command, ProtocolError, Quoted, format_command,
    split_words,
)
from tests.protocol.test_agi_parser import AGI_CAPTURES, load_agi_capture


@pytest.mark.parametrize("words, line", [
    (("ANSWER",), b"ANSWER\n"),
    (("GET", "VARIABLE", "CALLERID(num)"), b"GET VARIABLE CALLERID(num)\n"),
    (("GET", "FULL", "VARIABLE", "${CHANNEL}-${UNIQUEID}"),
     b"GET FULL VARIABLE ${CHANNEL}-${UNIQUEID}\n"),
    (("SET", "VARIABLE", "ACD_TARGET", Quoted("Local/1001@agents")),
     b'SET VARIABLE ACD_TARGET "Local/1001@agents"\n'),
    (("STREAM", "FILE", "beep", ""), b'STREAM FILE beep ""\n'),
    (("VERBOSE", "FastAGI demo says hi", 1), b'VERBOSE "FastAGI demo says hi" 1\n'),
    (("WAIT", "FOR", "DIGIT", 5000), b"WAIT FOR DIGIT 5000\n"),
    (("SET", "VARIABLE", "Q", 'say "hi"'), b'SET VARIABLE Q "say \\"hi\\""\n'),
    (("SET", "VARIABLE", "B", "a\\b"), b'SET VARIABLE B "a\\\\b"\n'),
    (("SET", "VARIABLE", "T", "a\tb"), b'SET VARIABLE T "a\tb"\n'),
    (("VERBOSE", "café", 1), 'VERBOSE café 1\n'.encode()),
])
def test_format_command(words, line):
    assert format_command(*words) == line
    assert split_words(line.decode()[:-1]) == tuple(str(w) for w in words)


@pytest.mark.parametrize("evil", ["x\nHANGUP", "x\r", "a\x00b", "\n"])
def test_newline_cr_and_nul_are_refused(evil):
    with pytest.raises(AGIArgumentError) as caught:
        format_command("SET", "VARIABLE", "X", evil)
    assert isinstance(caught.value, AGIError) and isinstance(caught.value, ValueError)
    assert caught.value.code == "agi.bad-argument"


@pytest.mark.parametrize("words", [(), ("",), ("SET", None), ("SET", b"bytes"), ("SET", True),
                                   ("NOOP",) + ("x",) * 127, ("NOOP", "x" * AGI_BUF_LEN)])
def test_commands_asterisk_could_not_read_are_refused(words):
    with pytest.raises(AGIArgumentError):
        format_command(*words)


@pytest.mark.parametrize("line, words", [
    ('STREAM FILE beep ""', ("STREAM", "FILE", "beep", "")),
    ('  NOOP   a\t b  ', ("NOOP", "a", "b")),
    ('SET VARIABLE X a"b c"d', ("SET", "VARIABLE", "X", "ab cd")),  # quotes toggle mid-word
    ('X "unterminated quote', ("X", "unterminated quote")),
    ('X a\\ b', ("X", "a b")),
    ('X """"', ("X", "")),
    ("", ()),
])
def test_split_words_follows_res_agi_parse_args(line, words):
    assert split_words(line) == words


@pytest.mark.parametrize("name", AGI_CAPTURES)
def test_captured_command_lines_keep_their_words_through_our_quoting(name):
    parser = AGICommandParser()
    commands = [c for chunk in load_agi_capture(name).tx for c in parser.feed(chunk)]
    assert commands and all(isinstance(c, Command) and c.words for c in commands)
    for command in commands:
        again = AGICommandParser().feed(format_command(*command.words))
        assert [c.words for c in again] == [command.words]


def test_command_parser_splits_chunks_and_reports_over_long_lines():
    parser = AGICommandParser()
    assert parser.feed(b"SET VARIABLE X \"a b") == []
    assert parser.feed(b"\"\nANSWER\n\n") == [
        Command(("SET", "VARIABLE", "X", "a b"), b'SET VARIABLE X "a b"\n'),
        Command(("ANSWER",), b"ANSWER\n"),
        Command((), b"\n"),
    ]
    [error] = parser.feed(b"x" * (MAX_LINE + 1))
    assert isinstance(error, ProtocolError)
    assert parser.feed(b"still the long line\nNOOP\n") == [Command(("NOOP",), b"NOOP\n")]


_word = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
                max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(whitelist_categories=("Lu",)), min_size=1, max_size=8),
       st.lists(_word | st.integers(), max_size=10))
def test_fuzz_format_then_split_gives_back_the_words(name, args):
    line = format_command(name, *args)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert split_words(line.decode()[:-1]) == (name, *[str(a) for a in args])
