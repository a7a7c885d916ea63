"""The AGI commands an IVR uses, answered as res_agi.c does: STREAM FILE (escape digits,
offset, endpos), GET OPTION, CONTROL STREAM FILE, GET DATA (timeouts, '#', barge-in),
WAIT FOR DIGIT, RECORD FILE (beep, silence, timeout, dtmf, hangup), SAY NUMBER/DIGITS."""
from __future__ import annotations

import re

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX
from cti.pbxsim.engine.journeys import BargeIn, HangUp, Journey, Keys, Pause, Speak
from cti.pbxsim.engine.sounds import DEFAULT_SOUNDS

DIALPLAN = """
[in]
exten => s,1,Answer()
 same => n,AGI(agi://ctid/ivr)
 same => n,UserEvent(After,Status: ${AGISTATUS})
"""
SOUNDS = {**DEFAULT_SOUNDS, "en/menu": 16000, "zh/menu": 24000}


class World:
    def __init__(self, journey=None, language=None):
        self.clock = Clock()
        self.pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=self.clock, seed=5, sounds=SOUNDS,
                       agi_hosts={"ctid": ("127.0.0.1", 4573)}, agi_connector=self.connect,
                       event_latency=0)
        self.events = []
        self.pbx.subscribe(self.events.append)
        self.handle = self.pbx.place_call("13800000002", "in", "s", journey=journey or Journey("x"))
        if language:
            self.handle.channel.language = language
        self.clock.advance(0)
        self.transport.clear()

    def connect(self, host, port, proto):
        self.transport = StringTransport()
        proto.makeConnection(self.transport)
        self.proto = proto
        return defer.succeed(proto)

    def send(self, line: str, run: float = 30.0) -> str:
        """Send one command and advance time until it answers (or ``run`` seconds pass)."""
        self.transport.clear()
        self.start = self.clock.seconds()
        self.proto.dataReceived(line.encode() + b"\n")
        for _ in range(int(run * 50)):
            if self.transport.value():
                break
            self.clock.advance(0.02)
        self.took = self.clock.seconds() - self.start
        return self.transport.value().decode()

    def var(self, name):
        return self.handle.channel.variables.get(name)


def test_stream_file_plays_to_the_end_and_reports_its_length():
    w = World()
    assert w.send('STREAM FILE menu ""') == "200 result=0 endpos=16000\n"
    assert w.took == pytest.approx(2.0, abs=0.03) and w.var("PLAYBACKSTATUS") == "SUCCESS"


def test_stream_file_uses_the_language_directory():
    w = World(language="zh")
    assert w.send('STREAM FILE menu ""') == "200 result=0 endpos=24000\n"


def test_stream_file_escape_digit_stops_it_where_it_was_and_other_digits_do_not():
    w = World(Journey("b", [BargeIn("51", after=0.5, gap=0.5)]))
    line = w.send("STREAM FILE menu 12")
    # 5 is not an escape digit: ignored; 1 arrives 1.0 s in
    assert line == "200 result=49 endpos=8000\n"
    assert w.var("PLAYBACKSTATUS") == "FAILED"


def test_stream_file_offset_missing_file_and_usage():
    w = World()
    assert w.send('STREAM FILE menu "" 12000') == "200 result=0 endpos=16000\n"
    assert w.took == pytest.approx(0.5, abs=0.03)
    assert w.send('STREAM FILE nope "" 400') == "200 result=-1 endpos=400\n"
    assert w.send("STREAM FILE menu").startswith("520-Invalid command syntax.")


def test_stream_file_cut_by_a_hangup_answers_minus_one_with_the_position():
    w = World(Journey("h", [Pause(1.0), HangUp()]))
    line = w.send('STREAM FILE menu ""')
    assert line.startswith("200 result=-1 endpos=8000\n") and "HANGUP\n" in line


def test_get_option_waits_for_an_escape_digit_after_the_file():
    w = World(Journey("k", [Keys("3", delay=0.5)]))
    assert w.send("GET OPTION menu 123 2000") == "200 result=51 endpos=16000\n"
    w2 = World(Journey("k", [Keys("9", delay=0.5)]))
    assert w2.send("GET OPTION menu 123 2000") == "200 result=0 endpos=16000\n"
    assert w2.took == pytest.approx(2.5, abs=0.05)


def test_control_stream_file_reports_milliseconds_and_cplaybackstatus():
    w = World(Journey("s", [BargeIn("#", after=1.5)]))
    assert w.send('CONTROL STREAM FILE menu "#"') == "200 result=35 endpos=1500\n"
    assert (w.var("CPLAYBACKSTATUS"), w.var("CPLAYBACKSTOPKEY"), w.var("CPLAYBACKOFFSET")) == \
        ("USERSTOPPED", "#", "1500")
    w2 = World()
    assert w2.send('CONTROL STREAM FILE menu ""') == "200 result=0 endpos=2000\n"
    assert w2.var("CPLAYBACKSTATUS") == "SUCCESS"


def test_get_data_collects_digits_after_the_prompt_up_to_max():
    w = World(Journey("k", [Keys("5555", gap=0.3)]))
    assert w.send("GET DATA menu 3000 4") == "200 result=5555\n"


def test_get_data_barge_in_counts_the_digit_that_stopped_the_prompt():
    w = World(Journey("b", [BargeIn("12#", after=0.4, gap=0.2)]))
    assert w.send("GET DATA menu 3000 8") == "200 result=12\n"
    assert w.took == pytest.approx(0.8, abs=0.05)


def test_get_data_timeout_returns_what_was_typed_with_timeout():
    w = World(Journey("k", [Keys("12")]))
    assert w.send("GET DATA menu 3000 8") == "200 result=12 (timeout)\n"
    assert World().send("GET DATA menu 2000") == "200 result= (timeout)\n"


def test_get_data_default_timeouts_are_ten_then_five_seconds():
    w = World()
    w.send("GET DATA menu")
    assert w.took == pytest.approx(2.0 + 10.0, abs=0.05)
    w2 = World(Journey("k", [Keys("4")]))
    assert w2.send("GET DATA menu") == "200 result=4 (timeout)\n"
    assert w2.took == pytest.approx(2.0 + 0.2 + 5.0, abs=0.05)


def test_get_data_bare_hash_and_missing_prompt():
    w = World(Journey("k", [Keys("#")]))
    assert w.send("GET DATA menu 3000") == "200 result=\n"
    assert w.send("GET DATA no-such-file 3000") == "200 result=-1\n"


def test_wait_for_digit():
    w = World(Journey("k", [Pause(1.0), Keys("7", delay=0)]))
    assert w.send("WAIT FOR DIGIT 5000") == "200 result=55\n"
    assert w.send("WAIT FOR DIGIT 1000") == "200 result=0\n"
    assert w.send("WAIT FOR DIGIT").startswith("520-")


def test_record_file_beep_speech_then_silence():
    w = World(Journey("r", [Speak(4.0)]))
    line = w.send("RECORD FILE /tmp/voicemsg wav # 20000 BEEP s=2")
    left, endpos = (int(x) for x in re.fullmatch(r"200 result=(\d+) \(timeout\) endpos=(\d+)\n", line).groups())
    # beep, then 0.3 s + 4 s speech + 2 s silence; 1 s of the silence is cut from the file
    heard_ms = 20000 - left
    assert heard_ms == pytest.approx((0.3 + 4.0 + 2.0) * 1000, abs=60)
    assert w.took == pytest.approx(3404 / 8000 + heard_ms / 1000, abs=0.03)
    assert endpos == (heard_ms - 1000) * 8 == w.pbx.recordings["/tmp/voicemsg"]


def test_record_file_escape_digit_and_max_time():
    w = World(Journey("r", [Speak(2.0), Pause(2.3), Keys("#", delay=0)]))
    assert w.send("RECORD FILE /tmp/m1 wav # 20000") == f"200 result=35 (dtmf) endpos={(2600 - 200) * 8}\n"
    w2 = World()
    assert w2.send("RECORD FILE /tmp/m2 wav # 1500") == "200 result=1 (timeout) endpos=12000\n"


def test_record_file_hangup():
    w = World(Journey("r", [Speak(1.0), Pause(1.0), HangUp()]))
    line = w.send("RECORD FILE /tmp/m3 wav # 20000")
    assert line.startswith("200 result=-1 (hangup) endpos=10400\n")


def test_say_number_in_the_channel_language_and_escape_digits():
    w = World(language="zh")
    played = []
    w.handle.channel.media_listener = lambda kind, name: played.append(name)
    assert w.send('SAY NUMBER 10086 ""') == "200 result=0\n"
    assert played == ["digits/1", "digits/wan", "digits/0", "digits/80", "digits/6"]
    w2 = World(Journey("b", [BargeIn("2", after=0.1)]))
    assert w2.send("SAY DIGITS 123456 2") == "200 result=50\n"
    assert w2.send("SAY DIGITS abc 2").startswith("520-")
