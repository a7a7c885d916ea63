"""Action handlers against a fake engine: exact reply shapes, error texts and engine calls.

The conformance tests check the same replies against the captures with the real engine;
these pin the handler logic on its own, including cases no capture has.
"""
from __future__ import annotations

from twisted.internet import defer

from .ami_helpers import Client, FakePBX, Result, make_factory

CHAN = "Local/103@callers-00000000;1"


def logged_in(pbx: FakePBX | None = None):
    factory, clock = make_factory(pbx=pbx)
    client = Client(factory)
    client.login(Events="off")
    client.read()
    return client, clock


def reply(client: Client, name: str, **headers: str):
    client.action(name, ActionID="x", **headers)
    return client.read()


def test_getvar_cases() -> None:
    pbx = FakePBX(None)
    pbx.add(CHAN, variables={"FOO": "bar"})
    client, _ = logged_in(pbx)
    [ok] = reply(client, "Getvar", Channel=CHAN, Variable="FOO")
    assert ok.headers == (("Response", "Success"), ("ActionID", "x"), ("Variable", "FOO"),
                          ("Value", "bar"))
    assert reply(client, "Getvar", Channel=CHAN, Variable="NOPE")[0]["Value"] == ""
    assert reply(client, "Getvar", Variable="AGI_HOST")[0]["Value"] == "127.0.0.1:4573"
    [missing] = reply(client, "Getvar", Channel="Local/none-00000000;1", Variable="FOO")
    assert missing.headers == (("Response", "Error"), ("ActionID", "x"),
                               ("Message", "No such channel"))
    assert reply(client, "Getvar", Channel=CHAN)[0]["Message"] == "No variable specified"


def test_setvar_sets_and_reports_refusals() -> None:
    pbx = FakePBX(None)
    chan = pbx.add(CHAN)
    client, _ = logged_in(pbx)
    [ok] = reply(client, "Setvar", Channel=CHAN, Variable="RIG_VAR", Value="123")
    assert ok.headers == (("Response", "Success"), ("ActionID", "x"), ("Message", "Variable Set"))
    assert chan.variables["RIG_VAR"] == "123"
    assert reply(client, "Setvar", Variable="G", Value="1")[0]["Message"] == "Variable Set"
    assert pbx.globals["G"] == "1"
    assert reply(client, "Setvar", Variable="READONLY()", Value="1")[0]["Message"] == \
        "Variable not set"
    assert reply(client, "Setvar", Channel="nope", Variable="A")[0]["Message"] == "No such channel"


def test_core_show_channels_list_shape() -> None:
    pbx = FakePBX(None)
    pbx.add(CHAN)
    client, clock = logged_in(pbx)
    clock.advance(3725)
    start, item, done = reply(client, "CoreShowChannels")
    assert start.headers == (("Response", "Success"), ("ActionID", "x"), ("EventList", "start"),
                             ("Message", "Channels will follow"))
    assert item.headers == (
        ("Event", "CoreShowChannel"), ("ActionID", "x"), ("Channel", CHAN),
        ("Uniqueid", "1795360169.0"), ("Application", "MusicOnHold"),
        ("ApplicationData", "default,60"), ("Duration", "01:02:05"), ("BridgeId", ""))
    assert done.headers == (("Event", "CoreShowChannelsComplete"), ("ActionID", "x"),
                            ("EventList", "Complete"), ("ListItems", "1"))


def test_status_item_has_privilege_call_and_actionid_last() -> None:
    pbx = FakePBX(None)
    pbx.add(CHAN, variables={"A": "1"})
    client, clock = logged_in(pbx)
    clock.advance(1)
    start, item, done = reply(client, "Status", Channel=CHAN, Variables="A,B")
    assert start["Message"] == "Channel status will follow" and start["EventList"] == "start"
    names = [k for k, _ in item.headers]
    assert names[:2] == ["Event", "Privilege"] and item["Privilege"] == "Call"
    assert names[-3:] == ["Variable", "Variable", "ActionID"]
    assert item.getall("Variable") == ["A=1", "B=(null)"]
    assert item["Seconds"] == "1" and item["Type"] == "Local" and item["Nativeformats"] == "(slin)"
    assert done.headers == (("Event", "StatusComplete"), ("ActionID", "x"),
                            ("EventList", "Complete"), ("ListItems", "1"), ("Items", "1"))
    assert reply(client, "Status", Channel="nope")[0]["Message"] == "No such channel"


def test_hangup_cases_and_cause() -> None:
    pbx = FakePBX(None)
    pbx.add(CHAN)
    pbx.add("Local/2@x-00000001;1")
    client, _ = logged_in(pbx)
    assert reply(client, "Hangup", Channel=CHAN, Cause="17")[0]["Message"] == "Channel Hungup"
    assert reply(client, "Hangup", Channel=CHAN)[0]["Message"] == "No such channel"
    assert reply(client, "Hangup")[0]["Message"] == "No channel specified"
    reply(client, "Hangup", Channel="Local/2@x-00000001;1", Cause="bogus")
    assert pbx.calls == [("hangup", CHAN, 17), ("hangup", "Local/2@x-00000001;1", 16)]


def test_hangup_by_regex_lists_the_channels() -> None:
    pbx = FakePBX(None)
    pbx.add("Local/1@a-00000000;1")
    pbx.add("Local/2@b-00000000;1")
    client, _ = logged_in(pbx)
    start, item, done = reply(client, "Hangup", Channel="/@a-/")
    assert start["EventList"] == "start"
    assert item.headers == (("Event", "ChannelHungup"), ("Channel", "Local/1@a-00000000;1"),
                            ("ActionID", "x"))
    assert done["ListItems"] == "1" and list(pbx.chans) == ["Local/2@b-00000000;1"]


def test_redirect_single_dual_and_errors() -> None:
    pbx = FakePBX(None)
    pbx.add(CHAN)
    pbx.add("Local/1001@agents-00000001;1")
    client, _ = logged_in(pbx)
    assert reply(client, "Redirect", Channel=CHAN, Context="hotline", Exten="10090",
                 Priority="2")[0]["Message"] == "Redirect successful"
    assert reply(client, "Redirect", Channel=CHAN, ExtraChannel="Local/1001@agents-00000001;1",
                 Context="cti-hold", Exten="caller", Priority="1", ExtraContext="cti-hold",
                 ExtraExten="agent", ExtraPriority="1")[0]["Message"] == "Dual Redirect successful"
    assert pbx.calls[1][5] == {"extra_channel": "Local/1001@agents-00000001;1",
                               "extra_context": "cti-hold", "extra_exten": "agent",
                               "extra_priority": 1}
    assert reply(client, "Redirect", Channel="Local/nonexistent-00000000;1", Context="c",
                 Exten="s", Priority="1")[0]["Message"] == \
        "Channel does not exist: Local/nonexistent-00000000;1"
    assert reply(client, "Redirect", Channel=CHAN, ExtraChannel="gone", Context="c", Exten="s",
                 Priority="1")[0]["Message"] == "ExtraChannel does not exist: gone"
    assert reply(client, "Redirect", Channel=CHAN, Exten="s",
                 Priority="1")[0]["Message"] == "Context not specified"
    assert reply(client, "Redirect", Channel=CHAN, Context="c", Exten="s",
                 Priority="0")[0]["Message"] == "Priority is invalid"


def test_mixmonitor_start_stop_and_second_stop() -> None:
    pbx = FakePBX(None)
    pbx.add(CHAN)
    client, _ = logged_in(pbx)
    [start] = reply(client, "MixMonitor", Channel=CHAN, File="a.wav", Options="")
    assert start.headers == (("Response", "Success"), ("ActionID", "x"))
    [stop] = reply(client, "StopMixMonitor", Channel=CHAN)
    assert stop.headers == (("Response", "Success"), ("ActionID", "x"))
    assert reply(client, "StopMixMonitor", Channel=CHAN)[0]["Message"] == \
        "Could not stop monitoring channel"
    assert reply(client, "MixMonitor", Channel="nope")[0]["Message"] == "No such channel"


def test_async_originate_success_and_failure_responses() -> None:
    pbx = FakePBX(None)
    factory, _ = make_factory(pbx=pbx)
    client = Client(factory)
    client.login()
    client.read()
    pbx.originate_outcome = pending = defer.Deferred()
    client.action("Originate", ActionID="o1", Channel="Local/103@callers", Context="hotline",
                  Exten="10090", Priority="1", CallerID='"Test Caller" <5551000>',
                  Variable="FOO=bar", Async="true")
    assert [m.name for m in client.read()] == ["Success", "Newchannel"]
    pending.callback(Result(True, 4, CHAN, "1795360169.0"))
    [answered] = client.read()
    assert answered.headers == (
        ("Event", "OriginateResponse"), ("Privilege", "call,all"), ("ActionID", "o1"),
        ("Response", "Success"), ("Channel", CHAN), ("Context", "hotline"),
        ("Exten", "10090"), ("Reason", "4"), ("Uniqueid", "1795360169.0"),
        ("CallerIDNum", "5551000"), ("CallerIDName", "Test Caller"))
    kwargs = pbx.calls[0][2]
    assert kwargs["variables"] == [("FOO", "bar")] and kwargs["timeout_ms"] == 30000
    pbx.originate_outcome = Result(False, 5, "Local/4001@agents-00000002;1", None)
    client.action("Originate", ActionID="o2", Channel="Local/4001@agents",
                  Application="Wait", Data="1", Async="yes")
    busy = client.read()[-1]
    assert busy.headers == (
        ("Event", "OriginateResponse"), ("Privilege", "call,all"), ("ActionID", "o2"),
        ("Response", "Failure"), ("Channel", "Local/4001@agents"), ("Application", "Wait"),
        ("Data", "1"), ("Reason", "5"), ("Uniqueid", "<unknown>"),
        ("CallerIDNum", "<unknown>"), ("CallerIDName", "<unknown>"))


def test_sync_originate_waits_for_the_outcome() -> None:
    pbx = FakePBX(None)
    client, _ = logged_in(pbx)
    pbx.originate_outcome = Result(False, 1, "Local/9999@nowhere", None)
    assert reply(client, "Originate", Channel="Local/9999@nowhere", Application="Wait",
                 Data="1")[0]["Message"] == "Originate failed"
    pbx.originate_outcome = Result(True, 4, "Local/1@x-00000000;1", "1.0")
    assert reply(client, "Originate", Channel="Local/1@x", Application="Wait",
                 Data="1")[0]["Message"] == "Originate successfully queued"
    pbx.originate_outcome = defer.fail(RuntimeError("engine broke"))
    assert reply(client, "Originate", Channel="Local/1@x", Application="Wait",
                 Data="1")[0]["Message"] == "Originate failed"


def test_originate_request_checks() -> None:
    client, _ = logged_in(FakePBX(None))
    assert reply(client, "Originate")[0]["Message"] == "Channel not specified"
    assert reply(client, "Originate", Channel="nochannel", Application="Wait")[0]["Message"] == \
        "Invalid channel"
    assert reply(client, "Originate", Channel="Local/1@x", Exten="1")[0]["Message"] == \
        "Originate with 'Exten' requires 'Context' and 'Priority'"
    assert reply(client, "Originate", Channel="Local/1@x", Timeout="soon",
                 Application="Wait")[0]["Message"] == "Invalid timeout"


def test_command_output_lines() -> None:
    client, _ = logged_in(FakePBX(None))
    [ok] = reply(client, "Command", Command="core show version")
    assert ok.headers == (("Response", "Success"), ("ActionID", "x"),
                          ("Message", "Command output follows"),
                          ("Output", "Asterisk 22.10.1 built by test"))
    [bad] = reply(client, "Command", Command="no such cli command")
    assert bad["Response"] == "Error" and bad["Message"] == "Command output follows"
    assert reply(client, "Command")[0]["Message"] == "No command provided"


def test_core_settings_and_status_shapes() -> None:
    client, _ = logged_in(FakePBX(None))
    [settings] = reply(client, "CoreSettings")
    assert [k for k, _ in settings.headers][2:5] == ["AMIversion", "AsteriskVersion", "SystemName"]
    assert settings["CoreMaxLoadAvg"] == "0.000000" and settings["CoreCDRenabled"] == "Yes"
    [status] = reply(client, "CoreStatus")
    assert status["CoreCurrentCalls"] == "0"


def test_missing_action_id_means_no_actionid_header() -> None:
    client, _ = logged_in(FakePBX(None))
    client.action("Ping")
    [pong] = client.read()
    assert [k for k, _ in pong.headers] == ["Response", "Ping", "Timestamp"]
