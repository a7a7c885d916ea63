"""The AGI application as a FastAGI client: environment, result lines, HANGUP and 511."""
from __future__ import annotations

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine import PBX
from cti.pbxsim.engine.agi_client import parse_agi_url, parse_command_args

DIALPLAN = """
[globals]
AGI_HOST = ctid
[callers]
exten => 100,1,Answer()
 same => n,Wait(60)
[t]
exten => s,1,AGI(agi://${AGI_HOST}/route?x=1,first arg,2)
 same => n,UserEvent(After,Status: ${AGISTATUS})
 same => n,Wait(100)
exten => moved,1,UserEvent(Moved,Status: ${AGISTATUS})
 same => n,Wait(100)
"""


class AGIWorld:
    def __init__(self, refuse: bool = False):
        self.clock = Clock()
        self.connections = []
        self.refuse = refuse
        self.pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=self.clock, seed=3,
                       agi_hosts={"ctid": ("127.0.0.1", 14573)}, agi_connector=self.connect,
                       event_latency=0)     # events read right after each AGI command
        self.events = []
        self.pbx.subscribe(self.events.append)
        self.pbx.originate("Local/100@callers", context="t", exten="s", priority=1,
                           callerid='"Agi Test" <5550002>')
        self.clock.advance(0)
        self.chan = next(c for c in self.pbx.channels() if c.name.endswith(";1"))

    def connect(self, host, port, proto):
        self.address = (host, port)
        if self.refuse:
            return defer.fail(ConnectionRefusedError())
        self.transport = StringTransport()
        proto.makeConnection(self.transport)
        self.proto = proto
        return defer.succeed(proto)

    def send(self, line: str) -> str:
        self.transport.clear()
        self.proto.dataReceived(line.encode() + b"\n")
        self.clock.advance(0)
        return self.transport.value().decode()

    def close(self) -> str:
        self.transport.clear()
        self.proto.readConnectionLost()
        self.clock.advance(0)
        return self.transport.value().decode()

    def user_events(self):
        return [(m["UserEvent"], m.get("Status")) for m in self.events if m.name == "UserEvent"]


def test_environment_block_in_asterisk_order_with_args_and_mapped_host():
    world = AGIWorld()
    assert world.address == ("127.0.0.1", 14573)
    env = world.transport.value().decode()
    assert env.endswith("\n\n")
    keys = [line.split(":")[0] for line in env.strip().split("\n")]
    assert keys == ["agi_network", "agi_network_script", "agi_request", "agi_channel", "agi_language",
                    "agi_type", "agi_uniqueid", "agi_version", "agi_callerid", "agi_calleridname",
                    "agi_callingpres", "agi_callingani2", "agi_callington", "agi_callingtns", "agi_dnid",
                    "agi_rdnis", "agi_context", "agi_extension", "agi_priority", "agi_enhanced",
                    "agi_accountcode", "agi_threadid", "agi_arg_1", "agi_arg_2"]
    assert "agi_network_script: route?x=1\n" in env and "agi_request: agi://ctid/route?x=1\n" in env
    assert "agi_arg_1: first arg\nagi_arg_2: 2\n" in env and "agi_type: Local\n" in env


def test_results_unknown_usage_and_session_end():
    world = AGIWorld()
    assert world.send("GET VARIABLE CALLERID(name)") == "200 result=1 (Agi Test)\n"
    assert world.send("GET VARIABLE NOPE") == "200 result=0\n"
    assert world.send('SET VARIABLE FOO "a b"') == "200 result=1\n"
    assert world.send("GET FULL VARIABLE ${FOO}-${CALLERID(num)}") == "200 result=1 (a b-5550002)\n"
    assert world.send("CHANNEL STATUS") == "200 result=6\n"
    assert world.send("STREAM FILE no-such-file \"\"") == "200 result=-1 endpos=0\n"
    assert world.send("FOO BAR") == "510 Invalid or unknown command\n"
    usage = world.send("SET VARIABLE")
    assert usage.startswith("520-Invalid command syntax.  Proper usage follows:\n")
    assert usage.endswith("\n520 End of proper usage.\n")
    assert world.send("DATABASE PUT fam key 42") == "200 result=1\n"
    assert world.send("DATABASE GET fam key") == "200 result=1 (42)\n"
    assert world.send("EXEC NoSuchApplication foo") == "200 result=-2\n"
    ends = {m["Command"]: (m["ResultCode"], m["Result"]) for m in world.events if m.name == "AGIExecEnd"}
    assert ends["STREAM FILE no-such-file \"\""] == ("-1", "Failure")
    assert ends["SET VARIABLE"] == ("520", "Usage")
    assert ends["EXEC NoSuchApplication foo"] == ("200", "Unknown Result")
    assert world.close() == "HANGUP\n" and world.transport.disconnecting
    assert ("After", "SUCCESS") in world.user_events()


def test_hangup_during_a_pending_command_then_511_and_hangup_again():
    world = AGIWorld()
    assert world.send("WAIT FOR DIGIT 5000") == ""
    world.transport.clear()
    world.pbx.hangup(world.chan.name.replace(";1", ";2"), 16)      # the handset hangs up
    world.clock.advance(0)
    assert world.transport.value() == b"200 result=-1\nHANGUP\n"
    assert world.send("ANSWER") == "511 Command Not Permitted on a dead channel or intercept routine\n"
    assert world.send("GET VARIABLE FOO") == "200 result=0\n"
    assert world.send("VERBOSE \"still here\" 1") == "200 result=1\n"
    assert world.send("HANGUP").startswith("511 ")
    assert world.close() == "HANGUP\n"
    status = [m["Value"] for m in world.events if m.name == "VarSet" and m["Variable"] == "AGISTATUS"]
    assert status == ["HANGUP"] and world.pbx.channels() == []
    end = next(m for m in world.events if m.name == "AGIExecEnd" and m["Command"] == "WAIT FOR DIGIT 5000")
    assert (end["ResultCode"], end["Result"]) == ("-1", "Failure")


def test_redirect_during_a_pending_command_looks_like_a_hangup_on_the_wire_only():
    world = AGIWorld()
    world.send("WAIT FOR DIGIT 5000")
    world.transport.clear()
    world.pbx.redirect(world.chan.name, "t", "moved", 1)
    world.clock.advance(0)
    assert world.transport.value() == b"200 result=-1\nHANGUP\n"
    assert world.send("CHANNEL STATUS").startswith("511 ")
    assert world.close() == "HANGUP\n"
    own = [m.name for m in world.events if m.get("Channel") == world.chan.name]
    assert "SoftHangupRequest" not in own and "HangupRequest" not in own
    assert world.user_events() == [("Moved", "HANGUP")]
    assert world.pbx.find_channel(world.chan.name) is not None


def test_hangup_while_no_command_is_pending_sends_hangup_at_once():
    world = AGIWorld()
    world.transport.clear()
    world.pbx.hangup(world.chan.name, 16)
    world.clock.advance(0)
    assert world.transport.value() == b"HANGUP\n"


def test_agisighup_no_turns_the_hangup_lines_off():
    world = AGIWorld()
    world.send("SET VARIABLE AGISIGHUP no")
    world.send("WAIT FOR DIGIT 5000")
    world.transport.clear()
    world.pbx.hangup(world.chan.name, 16)
    world.clock.advance(0)
    assert world.transport.value() == b"200 result=-1\n"
    assert world.close() == ""


def test_wait_for_digit_times_out_and_reads_dtmf_as_ascii():
    world = AGIWorld()
    world.send("WAIT FOR DIGIT 1000")
    world.transport.clear()
    world.clock.advance(1)
    assert world.transport.value() == b"200 result=0\n"
    world.send("WAIT FOR DIGIT -1")
    world.transport.clear()
    world.pbx.send_dtmf(world.chan.local_peer, "5")
    assert world.transport.value() == b"200 result=53\n"


def test_unreachable_server_is_agistatus_failure():
    world = AGIWorld(refuse=True)
    world.clock.advance(0)
    assert ("After", "FAILURE") in world.user_events()


def test_garbage_lines_get_answers_not_crashes():
    world = AGIWorld()
    assert world.send('SET VARIABLE "unbalanced') .startswith("520-")
    assert world.send("\x00\x01\xff") == "510 Invalid or unknown command\n"
    assert world.send("") == "510 Invalid or unknown command\n"
    world.proto.dataReceived(b"X" * 70000)
    assert world.transport.disconnecting


def test_url_and_argument_parsing():
    assert parse_agi_url("agi://127.0.0.1:4573/route") == ("127.0.0.1", 4573, "route")
    assert parse_agi_url("agi://ctid/inbound?a=b") == ("ctid", 4573, "inbound?a=b")
    assert parse_command_args('SET VARIABLE X "a \\"q\\" b"') == ["SET", "VARIABLE", "X", 'a "q" b']
