"""Fakes for the IVR tests: a scripted Asterisk channel behind a real AGISession, and a customer
port with a few lines."""
from __future__ import annotations

import datetime as dt

from twisted.internet import defer
from twisted.internet.task import Clock

from cti.ivr.port import AccountSummary, BillSummary, CallerProfile, PaymentSummary
from cti.net.fastagi import AGISession
from cti.protocol.agi import AGIServerParser, Environment, split_words
from cti.services.calls import Call

HANGUP = "HANGUP"          # in a caller's script: the caller hangs up at this point


class ScriptedChannel:
    """Answers each AGI command as Asterisk does for one channel. ``keys`` is what the caller
    does at each prompt that waits for input (GET DATA): digits, "" (nothing: timeout) or
    HANGUP. ``sounds``: files the PBX has (others fail as missing); ``recorded``: seconds a
    RECORD FILE lasts (or HANGUP)."""

    def __init__(self, keys=(), *, sounds=None, recorded=4.0, name_prompts=()):
        self.clock = Clock()
        self.clock.advance(1_800_000_000)
        self.keys = list(keys)
        self.sounds = sounds
        self.name_prompts = set(name_prompts)
        self.recorded = recorded
        self.commands: list[tuple[str, ...]] = []
        self.variables: dict[str, str] = {}
        self.gone = False
        self._parser = AGIServerParser()
        self._parser.feed(b"\n")                     # past the environment
        env = Environment(agi_network_script="inbound", agi_uniqueid="1800000000.1",
                          agi_channel="PJSIP/trunk-00000001", agi_callerid="13800000001")
        self.session = AGISession(env, self._write, self.clock)

    # -- what the test reads -------------------------------------------------------------------
    def played(self) -> list[str]:
        return [c[2] for c in self.commands if c[:2] == ("STREAM", "FILE")]

    def prompts(self) -> list[str]:
        """Every prompt the caller heard or was asked with, in order (plays and GET DATA)."""
        return [c[2] for c in self.commands
                if c[:2] in (("STREAM", "FILE"), ("GET", "DATA"))]

    def said(self) -> list[tuple[str, ...]]:
        return [c[1:] for c in self.commands if c[0] == "SAY"]

    def run(self, deferred: defer.Deferred):
        """Pump the fake clock until ``deferred`` fires; its result."""
        for _ in range(100_000):
            if deferred.called:
                break
            self.clock.advance(0.05)
        out = []
        deferred.addBoth(out.append)
        assert out, "the flow never ended"
        if isinstance(out[0], Exception) or hasattr(out[0], "raiseException"):
            out[0].raiseException()
        return out[0]

    # -- Asterisk's side ---------------------------------------------------------------------------
    def _write(self, line: bytes) -> None:
        words = split_words(line.decode().rstrip("\n"))
        self.commands.append(words)
        self.clock.callLater(0.01, self._answer, words)

    def _answer(self, words) -> None:
        reply, then_hangup = self._reply(words)
        for item in self._parser.feed(reply.encode() + b"\n"):
            self.session.reply_received(item)
        if then_hangup:
            self.gone = True
            self.session.hangup_received()

    def _reply(self, words) -> tuple[str, bool]:
        verb = " ".join(words[:2]).upper()
        if self.gone and verb not in ("GET VARIABLE", "SET VARIABLE"):
            return "511 Command Not Permitted on a dead channel or intercept routine", False
        if verb == "SET VARIABLE":
            self.variables[words[2]] = words[3]
            return "200 result=1", False
        if verb == "STREAM FILE":
            name = words[2]
            exists = (name in self.name_prompts if name.startswith("cti/names/")
                      else self.sounds is None or name in self.sounds)
            return ("200 result=0 endpos=8000" if exists else "200 result=-1 endpos=0"), False
        if verb == "GET DATA":
            key = self.keys.pop(0) if self.keys else ""
            if key == HANGUP:
                return "200 result=-1", True
            return (f"200 result={key}" if key else "200 result= (timeout)"), False
        if words[0] == "SAY":
            return "200 result=0", False
        if verb == "RECORD FILE":
            if self.recorded == HANGUP:
                return f"200 result=-1 (hangup) endpos={int(6 * 8000)}", True
            return f"200 result=1 (timeout) endpos={int(self.recorded * 8000)}", False
        if words[0] == "HANGUP":
            return "200 result=1", True
        return "200 result=0", False


class FakeCustomers:
    """The customer port over a few lines; records what was asked of it."""

    def __init__(self, profiles=(), accounts=None, pins=None):
        self.profiles = {p.number: p for p in profiles}
        self.accounts = dict(accounts or {})
        self.pins = dict(pins or {})
        self.pins_tried: list[str] = []
        self.suspended: list[tuple[str, dict]] = []

    def lookup(self, number):
        return defer.succeed(self.profiles.get(number) or CallerProfile(number=number, known=False))

    def account(self, number):
        return defer.succeed(self.accounts.get(number))

    def verify_pin(self, number, pin):
        self.pins_tried.append(pin)
        return defer.succeed(self.pins.get(number) == pin)

    def suspend_line(self, number, *, reason, source="ivr", call_id=None):
        self.suspended.append((number, {"reason": reason, "source": source, "call_id": call_id}))
        return defer.succeed("suspended")


NUMBER = "13800000001"
VIP_NUMBER = "13900000009"
STANDARD = CallerProfile(number=NUMBER, known=True, customer_id="42", name="李雷", tier="standard",
                         language="zh", status="normal")
VIP = CallerProfile(number=VIP_NUMBER, known=True, customer_id="7", name="韩梅梅",
                    tier="platinum", language="en", status="normal")
ACCOUNT = AccountSummary(
    number=NUMBER, balance_fen=12345, balance_at=None,
    last_bill=BillSummary("2026-11", 8850, dt.date(2026, 12, 20), False),
    last_payment=PaymentSummary(10000, dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.timezone.utc),
                                "wechat"),
    status="normal")


def call_for(profile, tier=None) -> Call:
    return Call(call_id="cti-1800000000.1", channel="PJSIP/trunk-00000001",
                uniqueid="1800000000.1", linkedid="1800000000.1",
                caller_number=profile.number, tier=tier or profile.tier)
