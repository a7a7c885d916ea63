"""The IVR applications as Asterisk runs them: Read, Record, Background, WaitExten, Playback
in the caller's language, and the Say applications (app_read.c, app_record.c,
pbx_builtins.c, main/say.c)."""
from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX
from cti.pbxsim.engine.journeys import BargeIn, HangUp, HearPrompt, Journey, Keys, Pause, Speak
from cti.pbxsim.engine.sounds import DEFAULT_SOUNDS

SOUNDS = {**DEFAULT_SOUNDS, "en/menu": 24000, "zh/menu": 40000, "en/enter-pin": 16000,
          "en/thanks": 8000}

DIALPLAN = """
[ivr]
exten => read,1,Answer()
 same => n,Read(PIN,enter-pin,4,,2,3)
 same => n,UserEvent(Read,Status: ${READSTATUS},Value: ${PIN})
exten => readmissing,1,Answer()
 same => n,Read(PIN,no-such-prompt,4)
 same => n,UserEvent(Read,Status: ${READSTATUS},Value: ${PIN})
exten => readskip,1,Read(PIN,enter-pin,4,s)
 same => n,UserEvent(Read,Status: ${READSTATUS},Value: ${PIN})
exten => readterm,1,Answer()
 same => n,Read(PIN,,,t(*))
 same => n,UserEvent(Read,Status: ${READSTATUS},Value: ${PIN})
exten => rec,1,Answer()
 same => n,Record(/tmp/msg-%d.wav,2,30)
 same => n,UserEvent(Rec,Status: ${RECORD_STATUS},File: ${RECORDED_FILE})
exten => recquiet,1,Answer()
 same => n,Record(/tmp/quiet.wav,0,5,q)
 same => n,UserEvent(Rec,Status: ${RECORD_STATUS})
exten => lang,1,Answer()
 same => n,Set(CHANNEL(language)=${ARG_LANG})
 same => n,Playback(menu&no-such-file)
 same => n,UserEvent(Played,Status: ${PLAYBACKSTATUS})
exten => say,1,Answer()
 same => n,SayNumber(1234)
 same => n,SayDigits(42)
 same => n,UserEvent(Said)

[menu]
exten => s,1,Answer()
 same => n,Background(menu)
 same => n,WaitExten(3)
exten => 1,1,UserEvent(Menu,Choice: 1)
 same => n,Hangup()
exten => 21,1,UserEvent(Menu,Choice: 21)
 same => n,Hangup()
exten => 22,1,UserEvent(Menu,Choice: 22)
 same => n,Hangup()
exten => i,1,UserEvent(Menu,Invalid: ${INVALID_EXTEN})
 same => n,Hangup()
exten => t,1,UserEvent(Menu,Choice: timeout)
 same => n,Hangup()
"""


class World:
    def __init__(self):
        self.clock = Clock()
        self.pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=self.clock, seed=1, sounds=SOUNDS,
                       event_latency=0)
        self.events = []
        self.pbx.subscribe(self.events.append)

    def call(self, context, exten, journey=None, variables=None):
        return self.pbx.place_call("13800000001", context, exten, journey=journey,
                                   variables=variables)

    def run(self, seconds):
        for _ in range(int(seconds * 50)):
            self.clock.advance(0.02)

    def user_events(self, name):
        return [m for m in self.events if m.name == "UserEvent" and m["UserEvent"] == name]

    def playbacks(self):
        return [m["Value"] for m in self.events if m.name == "VarSet" and m["Variable"] == "PLAYBACKSTATUS"]


def test_read_collects_digits_after_the_prompt_and_stops_at_max():
    w = World()
    w.call("ivr", "read", Journey("pin", [Keys("1234")]))
    w.run(10)
    (event,) = w.user_events("Read")
    assert (event["Status"], event["Value"]) == ("OK", "1234")


def test_read_barge_in_stops_the_prompt_and_counts_as_first_digit():
    w = World()
    handle = w.call("ivr", "read", Journey("barge", [BargeIn("9876", after=0.5, gap=0.2)]))
    w.run(10)
    (event,) = w.user_events("Read")
    assert (event["Status"], event["Value"]) == ("OK", "9876")
    # the 2 s prompt was cut at 0.5 s: the read ended long before prompt + timeout
    assert w.clock.seconds() > 0 and handle.ended.called


def test_read_times_out_each_attempt_then_reports_timeout():
    w = World()
    handle = w.call("ivr", "read", Journey("silent", []))
    w.run(30)
    (event,) = w.user_events("Read")
    assert (event["Status"], event["Value"]) == ("TIMEOUT", "")
    # two attempts: each the 2 s prompt and the 3 s timeout
    assert handle.ended_at == pytest.approx(10.0, abs=0.2)


def test_read_second_attempt_after_an_empty_first():
    w = World()
    w.call("ivr", "read", Journey("late", [HearPrompt("enter-pin"), HearPrompt("enter-pin"), Keys("55")]))
    w.run(30)
    (event,) = w.user_events("Read")
    # "55" then the 3 s inter-digit timeout: OK is not reported for a timeout with digits
    assert (event["Status"], event["Value"]) == ("TIMEOUT", "55")


def test_read_hash_alone_is_an_empty_ok_and_the_terminator_option_changes_it():
    w = World()
    w.call("ivr", "readterm", Journey("star", [Keys("12*")]))
    w.run(15)
    (event,) = w.user_events("Read")
    assert (event["Status"], event["Value"]) == ("OK", "12")


def test_read_with_a_missing_prompt_is_an_error_and_skip_option_when_not_answered():
    w = World()
    w.call("ivr", "readmissing", Journey("x", [Keys("1")]))
    w.call("ivr", "readskip")
    w.run(15)
    statuses = sorted((e["Status"], e["Value"]) for e in w.user_events("Read"))
    assert statuses == [("ERROR", ""), ("SKIPPED", "")]


def test_read_hangup_sets_readstatus_hangup():
    w = World()
    w.call("ivr", "read", Journey("gone", [HearPrompt("enter-pin"), Pause(0.5), HangUp()]))
    w.run(5)
    statuses = [m["Value"] for m in w.events if m.name == "VarSet" and m["Variable"] == "READSTATUS"]
    assert statuses == ["ERROR", "HANGUP"]


def test_record_ends_on_silence_after_speech_and_keeps_the_file_without_the_silence():
    w = World()
    w.call("ivr", "rec", Journey("msg", [Speak(5.0)]))
    w.run(20)
    (event,) = w.user_events("Rec")
    assert (event["Status"], event["File"]) == ("SILENCE", "/tmp/msg-0")
    # 0.3 s before speaking + 5 s speech + 2 s silence, of which 1 s is kept
    assert w.pbx.recordings["/tmp/msg-0"] == pytest.approx((0.3 + 5.0 + 1.0) * 8000, abs=400)
    # the next recording does not overwrite it (%d)
    w.call("ivr", "rec", Journey("msg2", [Speak(1.0)]))
    w.run(20)
    assert [e["File"] for e in w.user_events("Rec")] == ["/tmp/msg-0", "/tmp/msg-1"]


def test_record_hash_ends_it_with_dtmf_and_max_duration_with_timeout():
    w = World()
    w.call("ivr", "rec", Journey("hash", [Speak(10.0), Pause(3.0), Keys("#", delay=0)]))
    w.call("ivr", "recquiet")
    w.run(40)
    assert sorted(e["Status"] for e in w.user_events("Rec")) == ["DTMF", "TIMEOUT"]
    assert w.pbx.recordings["/tmp/quiet"] == 5 * 8000


def test_record_hangup_reports_hangup_and_drops_the_file():
    w = World()
    w.call("ivr", "rec", Journey("gone", [Speak(2.0), Pause(1.0), HangUp()]))
    w.run(10)
    statuses = [m["Value"] for m in w.events if m.name == "VarSet" and m["Variable"] == "RECORD_STATUS"]
    assert statuses == ["HANGUP"] and w.pbx.recordings == {}


@pytest.mark.parametrize("language, seconds", [("zh", 5.0), ("zh_CN", 5.0), ("en", 3.0), ("fr", 3.0)])
def test_playback_uses_the_channel_language_then_falls_back_to_the_default(language, seconds):
    w = World()
    handle = w.call("ivr", "lang", variables={"ARG_LANG": language})
    w.run(10)
    assert w.playbacks() == ["FAILED"]            # the second file does not exist
    assert handle.ended_at == pytest.approx(seconds, abs=0.05)


def test_say_number_and_digits_play_the_say_c_files():
    w = World()
    played = []
    handle = w.call("ivr", "say")
    handle.channel.media_listener = lambda kind, name: played.append(name)
    w.run(10)
    assert played == ["digits/1", "digits/thousand", "digits/2", "digits/hundred", "digits/30",
                      "digits/4", "digits/4", "digits/2"]
    assert w.user_events("Said")


def test_background_digit_that_is_an_extension_jumps_there_at_once():
    w = World()
    w.call("menu", "s", Journey("one", [BargeIn("1", after=0.2)]))
    w.run(10)
    assert [e["Choice"] for e in w.user_events("Menu")] == ["1"]


def test_background_digit_starting_a_longer_extension_collects_the_rest():
    w = World()
    w.call("menu", "s", Journey("two", [BargeIn("22", after=0.2, gap=1.0)]))
    w.run(10)
    assert [e["Choice"] for e in w.user_events("Menu")] == ["22"]


def test_invalid_digits_go_to_i_with_invalid_exten_and_silence_goes_to_t():
    w = World()
    w.call("menu", "s", Journey("bad", [HearPrompt("menu", to_end=True), Keys("7")]))
    w.call("menu", "s", Journey("quiet", []))
    w.run(12)
    menu = w.user_events("Menu")
    assert sorted(e.get("Invalid") or e.get("Choice") for e in menu) == ["7", "timeout"]


def test_digit_after_the_prompt_is_read_by_waitexten():
    w = World()
    w.call("menu", "s", Journey("after", [HearPrompt("menu", to_end=True), Pause(1.0), Keys("21")]))
    w.run(12)
    assert [e["Choice"] for e in w.user_events("Menu")] == ["21"]
