"""A hotline on one machine for end-to-end tests: the PBX simulator running our dialplan, ctid
(started, stopped and started again at will), agents' phones and desktops, and callers.

Everything talks over real loopback sockets: ctid's AMI client to the simulator's AMI server,
the simulator's FastAGI client to ctid, the desktops' WebSockets to ctid. The harness records
what a test needs to judge the run: every AMI action ctid sent, every screen-pop each desktop
received and when, and when each caller was answered and by which seat.
"""
from __future__ import annotations

import json
import random
import socket
from dataclasses import dataclass, field
from pathlib import Path

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import defer, reactor, task

from cti import app, config as cfg, demo
from cti.pbxsim.prompts import shipped_sounds

#: ctid's prompts, each at most 0.3 s long: the IVR is walked as on a real PBX, in test time
SHORT_PROMPTS = shipped_sounds(longest=0.3)
from cti.pbxsim.ami.accounts import parse_manager_conf
from cti.pbxsim.ami.server import AMIServerFactory
from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine.callers import place_call
from cti.pbxsim.engine.pbx import PBX
from cti.pbxsim.engine.phones import PhoneScript, Phones
from cti.services.auth import Principal
from cti.storage.repositories.agents import list_agents


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sleep(seconds: float) -> defer.Deferred:
    return task.deferLater(reactor, seconds, lambda: None)


@dataclass
class Answered:
    at: float
    seat: str
    arrival: float          # CTI_ARRIVAL on the caller's channel when it was answered


class Desktop(WebSocketClientProtocol):
    def onOpen(self):
        self.sendMessage(json.dumps({"v": 1, "type": "auth", "id": "a",
                                     "data": {"token": self.factory.token}}).encode())

    def onMessage(self, payload, isBinary):
        frame = json.loads(payload)
        if frame["type"] == "ack" and not self.factory.ready.called:
            self.factory.ready.callback(self)
        elif frame["type"] == "screen-pop":
            self.factory.world.pops.append(
                (frame["data"]["call_id"], self.factory.agent_id, reactor.seconds()))


@dataclass
class World:
    tmp: Path
    database_url: str
    agents: int = 20
    seed: int = 11
    no_answer_seats: tuple[str, ...] = ("6019", "6020")
    config: dict = field(init=False)
    actions: list = field(default_factory=list)       # (time, action name, headers dict)
    pops: list = field(default_factory=list)          # (call id, agent id, time)
    answered: dict = field(default_factory=dict)      # caller channel -> Answered
    calls: list = field(default_factory=list)         # CallHandle
    daemons: list = field(default_factory=list)
    trace: dict = field(default_factory=dict)
    recording_files: list = field(default_factory=list)   # MIXMONITOR_FILENAME values set
    hangups: dict = field(default_factory=dict)           # linkedid -> channels in AMI order

    def __post_init__(self):
        ports = {k: free_port() for k in ("ami", "agi", "api", "web")}
        self.config = cfg.load(environ={}, overrides=[
            f"database.url={self.database_url}",
            f"database.spill_file={self.tmp}/outbox.jsonl",
            f"queue_log.file={self.tmp}/queue_log",
            f"ami.port={ports['ami']}", "ami.username=ctid", f"ami.secret={demo.DEMO_SECRET}",
            "ami.ping_interval=2", "ami.ping_timeout=2",
            f"fastagi.port={ports['agi']}", f"api.port={ports['api']}", f"web.port={ports['web']}",
            "acd.wrap_up_seconds=0.3", "acd.require_desktop=true", "ivr.timeout_ms=1000",
        ])
        self.rng = random.Random(self.seed)
        db = app.open_database(self.config, reactor)
        self.numbers = demo.seed(db, self.agents, self.rng)
        self.agent_info = db.run_blocking(list_agents)
        db.engine.dispose()
        seats = {a.endpoint.split("/", 1)[1]: a.number for a in self.agent_info}
        self.seat_agent = seats
        self.agent_seat = {agent: seat for seat, agent in seats.items()}
        self.phones = Phones.of({
            seat: PhoneScript(ring_delay=0.25, talk_time=1.2, jitter=0.5,
                              behaviour="no-answer" if seat in self.no_answer_seats else "answer")
            for seat in seats})
        self.pbx = PBX(Dialplan.from_files([demo.DIALPLAN]), reactor=reactor, phones=self.phones,
                       seed=self.seed, sounds=SHORT_PROMPTS,
                       agi_hosts={"127.0.0.1:4573": ("127.0.0.1", ports["agi"])})
        self.pbx.globals.update(CTI_RING_TIMEOUT="1", CTI_MOH_SLICE="3", CTI_INBOUND_RETRY_WAIT="1")
        self.pbx.subscribe(self._pbx_event)
        accounts = parse_manager_conf(demo.manager_conf("ctid", demo.DEMO_SECRET))
        self.ami_server = AMIServerFactory(accounts, self.pbx, reactor)
        self.ami_server.on_action = lambda session, request: self.actions.append(
            (reactor.seconds(), request.name, request.as_dict()))
        self.ami_port = reactor.listenTCP(ports["ami"], self.ami_server, interface="127.0.0.1")
        self.desktops: list = []
        self.arrivals: dict[str, float] = {}      # caller channel -> its last CTI_ARRIVAL

    # -- the PBX side --------------------------------------------------------------------------
    def _pbx_event(self, msg) -> None:
        if msg.name == "VarSet" and msg.get("Variable") == "MIXMONITOR_FILENAME":
            self.recording_files.append(msg["Value"])
        if msg.name == "VarSet" and msg.get("Variable") == "CTI_ARRIVAL":
            # kept from the stream itself: this listener hears events a few ms late (the
            # simulator interleaves channels), when the channel may already be gone
            self.arrivals[msg.get("Channel", "")] = float(msg.get("Value") or 0)
        if msg.name == "Hangup" or (msg.name == "UserEvent"
                                    and msg.get("UserEvent") == "CTIAfterCall"):
            # a caller who goes on after the agent hung up (Dial option g, the survey) ends
            # its part of the call with CTIAfterCall, before its own Hangup
            self.hangups.setdefault(msg.get("Linkedid"), []).append(msg.get("Channel"))
        if msg.name in ("Newexten", "Hangup", "AGIExecEnd", "UserEvent") and msg.get("Channel", "").startswith("PJSIP/trunk"):
            self.trace.setdefault(msg["Channel"], []).append(
                (round(reactor.seconds(), 2), msg.name, msg.get("Context"), msg.get("Priority"),
                 msg.get("Application"), msg.get("ResultCode")))
        if msg.name == "DialEnd" and msg.get("DialStatus") == "ANSWER" and msg.get("Channel"):
            arrival = self.arrivals.get(msg["Channel"], 0.0)
            seat = msg.get("DestChannel", "").split("/", 1)[-1].split("-", 1)[0]
            self.answered[msg["Channel"]] = Answered(reactor.seconds(), seat, arrival)

    def describe(self, handle) -> str:
        """A failed assertion's story of one caller: its dialplan steps against the disturbances."""
        t0 = getattr(self, "t0", 0.0)
        lines = [f"{handle.name} placed at {handle.placed_at - t0:.2f}s, abandoned={handle.abandoned}"]
        lines += [f"  {t - t0:7.2f}s {' '.join(str(x) for x in rest if x is not None)}"
                  for t, *rest in self.trace.get(handle.name, [])]
        lines.append(f"  disturbances: {getattr(self, 'events_at', {})}")
        return "\n".join(lines)

    def place(self, patience: float | None) -> None:
        tier = self.rng.choices(list(demo.TIER_MIX), weights=list(demo.TIER_MIX.values()))[0]
        pool = self.numbers.get(tier) or []
        number = self.rng.choice(pool) if pool and self.rng.random() < 0.9 else \
            f"139{self.rng.randrange(10 ** 8):08d}"
        # a quarter of the callers hang up while talking, before the agent would; every caller
        # asks the IVR for an agent: the agent key (0), service (4 then 1), or a wrong key
        # first (9, the menu again) then the agent key
        talk = self.rng.uniform(0.2, 0.5) if self.rng.random() < 0.25 else None
        self.calls.append(place_call(self.pbx, number, "cti-inbound", "10010", patience=patience,
                                     dtmf=self.rng.choice(["0", "41", "90"]), talk=talk))

    def drop_ami(self) -> None:
        for session in list(self.ami_server.sessions):
            session.transport.abortConnection()

    # -- ctid ------------------------------------------------------------------------------------
    async def start_ctid(self):
        daemon = app.build(self.config, reactor)
        self.daemons.append(daemon)
        daemon.service.startService()
        await self.connect_desktops(daemon)
        await daemon.ami.when_ready()
        return daemon

    async def stop_ctid(self):
        daemon = self.daemons[-1]
        for desktop in self.desktops:
            desktop.sendClose()
        self.desktops = []
        await daemon.service.stopService()

    async def connect_desktops(self, daemon) -> None:
        waits = []
        for info in self.agent_info:
            factory = WebSocketClientFactory(f"ws://127.0.0.1:{daemon.config['web']['port']}/push")
            factory.protocol = Desktop
            factory.world, factory.agent_id = self, info.number
            factory.token = daemon.tokens.issue(Principal(f"agent{info.number}", "agent",
                                                          agent_id=info.number))
            factory.ready = defer.Deferred()
            reactor.connectTCP("127.0.0.1", daemon.config["web"]["port"], factory)
            waits.append(factory.ready)
        self.desktops = await defer.gatherResults(waits)

    async def close(self) -> None:
        if self.daemons and self.daemons[-1].service.running:
            await self.stop_ctid()
        for handle in self.calls:
            if not handle.channel.hung_up:
                self.pbx.hangup(handle.name, 16)
        await self.ami_port.stopListening()
