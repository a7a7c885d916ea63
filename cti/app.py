"""The composition root: the one place where ctid's objects are built and wired, from config.

``build(config, reactor)`` returns a :class:`Daemon`: a ``MultiService`` to start, plus the
parts tests and the demo look at. Nothing else in the code base creates services or holds
global state. Start-up work that must not touch the reactor thread later (migrations, loading
the agents) happens here, before the reactor runs.
"""
from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.application import internet, service

from cti.agentivr import plugin as agentivr_plugin
from cti.domain.principal import Principal
from cti.ivr import plugin as ivr_plugin
from cti.domain.reasons import ReasonList
from cti.domain.routing import make_router
from cti.domain.routing.config import RoutingConfig
from cti.net.ami_client import AMIClient
from cti.config import ConfigError, data_directory
from cti.customers import plugin as customers_plugin
from cti.net.fastagi import FastAGIFactory, resolve_hosts
from cti.net.http_api import make_site
from cti.net.push_server import PushHub, make_factory
from cti.services import agi_routes
from cti.services.acd import ACDService, AMIConnector
from cti.services.agents import Agent, AgentService
from cti.services.auth import (DatabaseSessions, LoginThrottle, PasswordChecks, SignIn,
                               TokenStore, new_token)
from cti.services.calls import CallTracker
from cti.services.control import ControlPanel
from cti.services.desktops import DesktopGate
from cti.services.journal import JOURNAL_FILE, CallJournal
from cti.services.presence import PresenceStore
from cti.services.records import CallRecords
from cti.services.resync import ChannelLookup, Resync, UnqueuedCalls
from cti.services.screenpop import ScreenPop
from cti.storage import migrations
from cti.storage.outbox import Outbox, database_writer
from cti.storage.queue_log import QueueLogWriter
from cti.storage.repositories.agents import list_agents
from cti.storage.repositories.sessions import live_sessions, login_record
from cti.storage.unit_of_work import Database, run_in_session

log = logging.getLogger(__name__)

TOKEN_FILE = "ctid-api-token"    # the admin token ctid writes in its data directory
MARKER_TIDY_SECONDS = 600.0      # clear the AstDB answered-call markers (see Resync.tidy)


@dataclass
class Daemon:
    service: service.MultiService
    config: dict
    db: Database
    outbox: Outbox
    ami: AMIClient
    tracker: CallTracker
    agents: AgentService
    acd: ACDService
    screenpop: ScreenPop
    records: CallRecords
    resync: Resync
    hub: PushHub
    tokens: TokenStore
    admin_token: str
    servers: dict[str, internet.TCPServer]
    customers: Any = None            # cti.customers.plugin.Customers: the IVR's port and more
    ivr: Any = None                    # the IVR capability (cti.ivr.plugin.IVR)
    agent_ivr: Any = None        # cti.agentivr.plugin.AgentIVR

    def port(self, name: str) -> int:
        """The port a listener got (useful when configured as 0)."""
        return self.servers[name]._port.getHost().port


def build(config: dict[str, Any], reactor) -> Daemon:
    reasons = ReasonList.from_mapping(config["acd"]["not_ready_reasons"])   # checked by load()
    top = service.MultiService()
    var = data_directory(config)
    var.mkdir(parents=True, exist_ok=True)

    # -- storage ---------------------------------------------------------------------------
    db = open_database(config, reactor)
    agents_info = db.run_blocking(list_agents)
    db.setServiceParent(top)
    outbox = Outbox(database_writer(db), Path(config["database"]["spill_file"]), clock=reactor,
                    linger=0.1)  # the records of a few calls per transaction
    outbox.setServiceParent(top)
    qlog_path = config["queue_log"]["file"]
    queue_log = QueueLogWriter(Path(qlog_path) if qlog_path else None, outbox)

    # -- domain and use cases --------------------------------------------------------------
    clock = reactor.seconds
    routing = RoutingConfig.from_mapping(config["acd"]["routing"])
    router = make_router(config["acd"]["policy"], routing, clock)
    tracker = CallTracker(clock)
    checks = PasswordChecks(reactor)     # sign-in work: its own threads, not db.run's

    def run_for_sign_in(work, *args):
        return checks.call(run_in_session, db.sessions, work, *args)
    tokens = TokenStore(clock, lifetime=config["api"]["session_hours"] * 3600,
                        sessions=DatabaseSessions(run_for_sign_in))
    checks.before_stop = tokens.settled  # a sign-out's delete is written before its pool stops
    hub = PushHub(tokens.authenticate, reactor)
    gate = DesktopGate(hub.agent_connected) if config["acd"]["require_desktop"] else None
    agents = AgentService(
        [Agent(a.number, a.name, a.endpoint, team=a.team or "default", group=a.group,
               skills=dict(a.skills) or {"general": 5}) for a in agents_info],
        reactor, wrap_up_seconds=config["acd"]["wrap_up_seconds"],
        **({"hold": gate.hold} if gate else {}))
    _restore_sessions(db, tokens, agents, clock)
    if gate is not None:
        gate.agents = agents
        hub.on_presence = gate.presence
    screenpop = ScreenPop(hub, routing.tiers, clock)

    ami_cfg = config["ami"]
    ami = AMIClient(ami_cfg["host"], ami_cfg["port"], ami_cfg["username"], ami_cfg["secret"],
                    auth=ami_cfg["auth"], action_timeout=ami_cfg["action_timeout"],
                    ping_interval=ami_cfg["ping_interval"], ping_timeout=ami_cfg["ping_timeout"],
                    reactor=reactor)
    connector = AMIConnector(ami.send_action, ready=lambda: ami.connected)
    acd = ACDService(router, tracker, agents, connector, listeners=[screenpop],
                     default_skill=config["ivr"]["default_skill"])
    journal = CallJournal(tracker, var / JOURNAL_FILE, reactor)
    records = CallRecords(outbox.submit, queue_log, acd.position, clock,
                          recordings_dir=config["recordings"]["directory"],
                          entered_before=journal.was_queued)
    presence = PresenceStore(var / "ctid-agents.json")
    tracker.subscribe(agents)
    tracker.subscribe(acd)
    tracker.subscribe(records)
    agents.subscribe(acd)
    agents.subscribe(records)
    agents.subscribe(presence)
    tracker.subscribe(journal)
    resync = Resync(tracker, agents, acd, presence, reactor, journal)
    ami.add_listener({name: tracker.handle for name in tracker.EVENTS})
    ami.add_listener({"Hangup": resync.channel_gone})
    ami.add_resync_hook(resync)
    ami.add_resync_hook(acd.link_ready)          # after the resync: offers held while down
    ami.setServiceParent(top)
    journal.setServiceParent(top)
    ticker = internet.TimerService(1.0, acd.tick)
    ticker.clock = reactor
    ticker.setServiceParent(top)
    tidier = internet.TimerService(MARKER_TIDY_SECONDS, resync.tidy, ami)
    tidier.clock = reactor
    tidier.setServiceParent(top)
    lookup = ChannelLookup(ami, timeout=config["acd"]["channel_check_timeout"])
    unqueued = UnqueuedCalls(tracker, lookup, reactor, after=config["acd"]["unqueued_check_seconds"])
    sweeper = internet.TimerService(config["acd"]["unqueued_check_seconds"] / 2, unqueued.sweep)
    sweeper.clock = reactor
    sweeper.setServiceParent(top)

    # -- listeners -------------------------------------------------------------------------
    customers = customers_plugin.install(config, reactor, db, top)
    ivr = ivr_plugin.build(config, db=db, tracker=tracker, tiers=routing.tiers, reactor=reactor,
                           customers=customers.service, outbox=outbox)
    screenpop.ivr_steps = ivr.runner.steps_of
    routes = agi_routes.build_routes(ivr.agi_routes, tracker=tracker, clock=reactor, acd=acd,
                                     lookup=lookup)
    agent_ivr = agentivr_plugin.wire(config, run_db=db.run, tracker=tracker, agents=agents,
                                     hub=hub, send_action=ami.send_action,
                                     ami_ready=lambda: ami.connected, reasons=reasons,
                                     reactor=reactor, run_pin_check=run_for_sign_in,
                                     run_flow=ivr.run_flow, flows=ivr.flow_names)
    routes.update(agent_ivr.agi_routes)
    agi_factory = FastAGIFactory(routes, header_timeout=config["fastagi"]["header_timeout"],
                                 clock=reactor, allowed_hosts=fastagi_peers(config))
    servers = {
        "fastagi": internet.TCPServer(
            config["fastagi"]["port"],
            agi_factory,
            interface=config["fastagi"]["interface"]),
        "web": internet.TCPServer(config["web"]["port"], make_factory(hub),
                                  interface=config["web"]["interface"]),
    }
    admin_token = _admin_token(config, var)
    tokens_by_admin = {admin_token: Principal("admin", "admin")}

    def authenticate_token(token: str | None) -> Principal | None:
        return tokens_by_admin.get(token or "") or tokens.authenticate(token)

    checks.setServiceParent(top)
    sign_in = SignIn(find_user=lambda user: run_for_sign_in(login_record, user), checks=checks,
                     tokens=tokens, principal_of=lambda info: _principal_of(agents, info),
                     throttle=LoginThrottle(clock,
                                            max_failures=config["api"]["login_max_failures"],
                                            lockout=config["api"]["login_lockout_seconds"]))
    panel = ControlPanel(agents=agents, tracker=tracker, acd=acd, tokens=tokens, clock=clock,
                         sign_in=sign_in,
                         reasons=reasons,
                         health=lambda: {"ami": ami.state.value, "db_backlog": outbox.backlog,
                                         "resyncs": resync.runs},
                         signed_out=hub.recheck_sessions)
    hub.on_frame = lambda principal, frame: panel.desktop_request(principal, frame.type,
                                                                  frame.data)
    site = make_site(panel, authenticate_token,
                     web_config=lambda: {"push_port": servers["web"]._port.getHost().port},
                     request_timeout=config["api"]["request_timeout"],
                     routes=ivr.http_routes + agent_ivr.http_routes)
    servers["api"] = internet.TCPServer(config["api"]["port"], site,
                                        interface=config["api"]["interface"])
    for server in servers.values():
        server.setServiceParent(top)
    top.addService(_Stopper(agents.stop, agent_ivr.stop, agi_factory.close_sessions))
    return Daemon(top, config, db, outbox, ami, tracker, agents, acd, screenpop, records, resync,
                  hub, tokens, admin_token, servers, customers=customers, ivr=ivr,
                  agent_ivr=agent_ivr)


def open_database(config: dict[str, Any], reactor) -> Database:
    """The database of ``config``, created if it is a new SQLite file, migrated to head."""
    url = config["database"]["url"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    db = Database(url, reactor, max_threads=config["database"]["threads"])
    migrations.upgrade(db.engine)
    return db


def fastagi_peers(config: dict[str, Any]) -> frozenset[str]:
    """The addresses allowed to open FastAGI sessions: ``fastagi.allowed_hosts``, by default
    the AMI host (the Asterisk ctid steers) and 127.0.0.1."""
    names = config["fastagi"]["allowed_hosts"] or [config["ami"]["host"], "127.0.0.1"]
    try:
        return resolve_hosts(names)
    except ValueError as exc:
        raise ConfigError(f"'fastagi.allowed_hosts': {exc}") from None


def _teams_of(agents: AgentService, info) -> frozenset[str]:
    """A user's teams: their own agent's, plus those they supervise (``supervised_teams``)."""
    agent = agents.find(info.agent_number) if info.agent_number else None
    return frozenset(info.teams) | ({agent.team} if agent else set())


def _principal_of(agents: AgentService, info) -> Principal:
    return Principal(info.username, info.role, agent_id=info.agent_number,
                     teams=_teams_of(agents, info))


def _restore_sessions(db: Database, tokens: TokenStore, agents: AgentService, clock) -> None:
    """Sessions signed in before a restart stay signed in (the database keeps token hashes)."""
    now = datetime.datetime.fromtimestamp(clock(), datetime.timezone.utc)
    for kept in db.run_blocking(live_sessions, now):
        tokens.restore(kept.token_hash, _principal_of(agents, kept.user),
                       kept.expires_at.timestamp())


def _admin_token(config: dict, var: Path) -> str:
    token = config["api"]["token"]
    if token:
        return token
    token = new_token(24)
    path = var / TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


class _Stopper(service.Service):
    """On stop, first of all: cancel the agents' and the agent side's timers, and hang up the
    open FastAGI sessions (no route runs on for a daemon that is gone)."""

    def __init__(self, *stops):
        self._stops = stops

    def stopService(self):
        for stop in self._stops:
            stop()
        return super().stopService()
