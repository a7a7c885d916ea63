"""Resynchronisation: after ctid starts and after every AMI reconnect, the PBX is the truth.

One ``Status`` action with ``Variables: CTI_*`` lists every channel with its place in the
dialplan, its bridge and the variables ctid left on it. Then:

* a call ctid tracks whose channel is gone hung up while events were missed;
* one back in ``cti-wait`` while ctid thought it offered was not answered;
* one bridged while ctid thought it offered or ringing was answered;
* a caller channel ctid does not know (ctid restarted) is rebuilt from its ``CTI_*``
  variables with its original arrival time: waiting callers go back in line in their place,
  ringing and connected ones keep their agent.

A call that was answered and ended entirely while ctid could not see it (AMI link down, ctid
restarting) left a marker in AstDB (``cti_answered/<call id>`` = ``<agent>:<end>``, written by
cti-connect's h extension); the resync reads the family with one ``DBGetTree`` so such a call
is recorded as answered, not as abandoned, then clears the family with ``DBDelTree``.

On the first resync after start, agents' presence (who was logged in, ready or paused) is
restored from the presence file; agents found on a call stay unavailable until it ends.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from twisted.internet import defer

from cti.domain import channel_vars as V
from cti.domain.agent_state import AgentState
from cti.domain.call_state import CallState
from cti.net.ami_errors import AMIActionError, AMIError
from cti.services.calls import CTX_AFTER_CALL, call_from_variables
from cti.services.journal import from_entry

log = logging.getLogger(__name__)


@dataclass
class ChannelView:
    name: str
    context: str
    application: str
    bridged: bool
    uniqueid: str
    linkedid: str
    caller_number: str
    variables: dict[str, str] = field(default_factory=dict)


def parse_status(items) -> dict[str, ChannelView]:
    """``Event: Status`` items → channel views keyed by channel name."""
    out: dict[str, ChannelView] = {}
    for msg in items:
        name = msg.get("Channel")
        if not name:
            continue
        variables = {}
        for entry in msg.getall("Variable"):
            key, sep, raw = entry.partition("=")
            value = V.value_of(raw) if sep else None
            if value is not None:               # "NAME=(null)": not set on this channel
                variables[key.strip()] = value
        out[name] = ChannelView(name, msg.get("Context", ""), msg.get("Application", ""),
                                bool(msg.get("BridgeID")), msg.get("Uniqueid", ""),
                                msg.get("Linkedid", ""), msg.get("CallerIDNum", ""), variables)
    return out


@dataclass(frozen=True)
class AnsweredMarker:
    agent_id: str
    ended_at: float


def parse_answered(items) -> dict[str, AnsweredMarker]:
    """``Event: DBGetTreeResponse`` items of the cti_answered family → markers by call id."""
    out: dict[str, AnsweredMarker] = {}
    for msg in items:
        call_id = (msg.get("Key") or "").rstrip("/").rsplit("/", 1)[-1]
        agent, _, ended = (msg.get("Val") or "").partition(":")
        try:
            out[call_id] = AnsweredMarker(agent.strip(), float(ended))
        except ValueError:
            log.warning("resync: AstDB marker %r=%r unreadable: ignored", msg.get("Key"),
                        msg.get("Val"))
    return out


class ChannelLookup:
    """Asks the PBX about one channel (``Status`` with ``Channel:``): what ctid checks before it
    believes what a FastAGI session says about itself. Fires with the channel's view, or None
    when Asterisk has no such channel; fails (:class:`AMIError`) when the PBX cannot be asked
    (link down, no answer within ``timeout``): then nobody knows, and callers must not act."""

    def __init__(self, ami, timeout: float = 2.0):
        self._ami = ami
        self._timeout = timeout

    @defer.inlineCallbacks
    def __call__(self, channel: str):
        try:
            result = yield self._ami.send_action(
                "Status", {"Channel": channel, "Variables": ",".join(V.RESYNC)},
                timeout=self._timeout)
        except AMIActionError as exc:
            if "no such channel" in str(exc).lower():
                return None
            raise
        return parse_status(getattr(result, "items", [])).get(channel)


class UnqueuedCalls:
    """Calls the ``inbound`` route registered that never reached the ACD.

    A call is born when its inbound AGI session starts; a FastAGI client that is no Asterisk
    channel (or a channel whose end ctid missed) would stay in the tracker for ever. From time
    to time each call still in the IVR after ``after`` seconds is checked against the PBX: if
    its channel is gone, or is another channel now, the call never was one ctid can serve and
    is dropped (nothing is recorded: no caller was there). A caller in a long IVR still has its
    channel and stays. When the PBX cannot be asked, nothing is dropped.

    A channel must be found missing twice, a sweep apart: Asterisk answers ``Status`` at once
    but sends ``Hangup`` through its event bus, so "No such channel" can arrive before the
    Hangup of a caller who has just hung up in the IVR; that caller is recorded, not dropped."""

    def __init__(self, tracker, lookup, clock, *, after: float = 60.0):
        self._tracker = tracker
        self._lookup = lookup
        self._clock = clock
        self._after = after
        self._checking: set[str] = set()
        self._missing: set[str] = set()          # found missing once: dropped if again
        self.dropped = 0

    def sweep(self) -> defer.Deferred:
        now = self._clock.seconds()
        self._missing &= {call.call_id for call in self._tracker.calls()}
        checks = [self._check(call).addErrback(self._failed, call)
                  for call in self._tracker.calls()
                  if call.state is CallState.IVR and call.call_id not in self._checking
                  and now - (call.created or now) >= self._after]
        return defer.DeferredList(checks, consumeErrors=True)

    @staticmethod
    def _failed(failure, call) -> None:
        log.error("call %s: channel %s check failed: %s", call.call_id, call.channel,
                  failure.getTraceback())

    @defer.inlineCallbacks
    def _check(self, call):
        self._checking.add(call.call_id)
        try:
            view = yield self._lookup(call.channel)
        except AMIError as exc:
            log.info("call %s: channel %s not checked (%s)", call.call_id, call.channel, exc)
            return
        finally:
            self._checking.discard(call.call_id)
        if self._tracker.get(call.call_id) is not call or call.state is not CallState.IVR:
            return                                   # moved on while the PBX was asked
        if view is not None and view.uniqueid == call.uniqueid:
            self._missing.discard(call.call_id)
            return                                   # a caller still in the IVR
        if call.call_id not in self._missing:
            self._missing.add(call.call_id)          # its Hangup may be on its way
            return
        self._missing.discard(call.call_id)
        log.warning("call %s: channel %s %s after %.0f s in the IVR: dropped, nothing recorded",
                    call.call_id, call.channel, "is another channel now" if view else "does not exist",
                    self._clock.seconds() - call.created)
        self._tracker.forget(call.call_id)
        self.dropped += 1


class Resync:
    def __init__(self, tracker, agents, acd, presence, clock, journal=None):
        self._tracker = tracker
        self._agents = agents
        self._acd = acd
        self._presence = presence
        self._journal = journal                   # CallJournal, read on the first run only
        self._clock = clock                       # IReactorTime
        self._first = True
        self.runs = 0
        self.running = False
        self._gone: set[str] = set()              # uniqueids hung up since the last ask

    @defer.inlineCallbacks
    def __call__(self, ami):
        self.running = True
        self._gone = set()
        try:
            asked = self.versions()           # what ctid had done when it asked for the snapshot
            result = yield ami.send_action("Status", {"Variables": ",".join(V.RESYNC)})
            channels = parse_status(getattr(result, "items", []))
            answered = yield self._read_markers(ami)
            # The snapshot predates the hangups heard since it was asked for: those are gone.
            channels = {name: view for name, view in channels.items()
                        if view.uniqueid not in self._gone}
            self.reconcile(channels, answered, asked)
            if answered:
                yield self.clear_markers(ami)
        finally:
            self.running = False
            self._gone = set()

    def channel_gone(self, message) -> None:
        """An AMI listener for ``Hangup``: a channel that ends while a resync waits for its
        snapshot is gone, whatever the snapshot says (after a restart ctid does not know the
        channel, so its own tracker cannot tell)."""
        if self.running:
            self._gone.add(message.get("Uniqueid", ""))

    def tidy(self, ami) -> None:
        """Clear the markers of calls ctid saw end itself; a timer calls this, never while
        the link is down or a resync (which must read them first) is under way."""
        if ami.connected and not self.running:
            self.clear_markers(ami)

    @defer.inlineCallbacks
    def _read_markers(self, ami):
        try:
            result = yield ami.send_action("DBGetTree", {"Family": V.ASTDB_ANSWERED})
        except AMIError as exc:     # an Asterisk without DBGetTree, no AstDB, a timeout...
            log.warning("resync: answered-call markers unreadable (%s): calls that ended while "
                        "ctid could not see them are recorded from what ctid knew", exc)
            return {}
        return parse_answered(getattr(result, "items", []))

    @defer.inlineCallbacks
    def clear_markers(self, ami):
        """Delete the answered-call markers: after a resync has read them, and from time to
        time while ctid sees every call end itself (they are only needed for calls it missed)."""
        try:
            yield ami.send_action("DBDelTree", {"Family": V.ASTDB_ANSWERED})
        except AMIError as exc:
            if not (isinstance(exc, AMIActionError) and "not found" in str(exc).lower()):
                log.warning("resync: answered-call markers not cleared: %s", exc)

    def versions(self) -> dict[str, tuple]:
        """Where each tracked call stands now: a snapshot of the PBX asked for after this
        moment says nothing about a call whose version has changed since (ctid offered it
        again, or its events moved it on)."""
        return {call.call_id: _version(call) for call in self._tracker.calls()}

    def reconcile(self, channels: dict[str, ChannelView],
                  answered: dict[str, AnsweredMarker] | None = None,
                  asked: dict[str, tuple] | None = None) -> None:
        """Apply one snapshot of the PBX. ``asked``: :meth:`versions` when the snapshot was
        asked for (now, if not given). A call that moved on since — in particular one the ACD
        offered while this very loop freed its agent — is left alone: the snapshot predates
        ctid's own action, and acting on it would withdraw a fresh offer and send a second
        Redirect. Its own events (DialBegin, CTIWait, Hangup) settle it."""
        self.runs += 1
        answered = answered or {}
        asked = self.versions() if asked is None else asked
        busy_agents: set[str] = set()
        wrapping: dict[str, float] = {}                  # agent -> end of their after-call work
        journal = self._journal.take_recovered() if (self._first and self._journal) else {}
        # Callers gone first: the agents this frees are then not offered a caller already gone.
        for call in sorted(self._tracker.calls(), key=lambda c: c.channel in channels):
            if asked.get(call.call_id) != _version(call):
                log.info("resync: call %s moved on since the snapshot was asked for: left to "
                         "its events", call.call_id)
                continue
            view = channels.get(call.channel)
            marker = answered.get(call.call_id)
            if view is None and marker is not None:
                self._tracker.settle_answered(call.call_id, marker.agent_id, marker.ended_at)
            elif view is None:
                self._tracker.settle(call.call_id, "gone")
            elif view.context == V.CTX_WAIT:
                self._tracker.settle(call.call_id, "waiting")
            elif view.context == CTX_AFTER_CALL:
                self._tracker.settle(call.call_id, "after-call")
            elif view.bridged:
                self._tracker.settle(call.call_id, "bridged")
        for view in channels.values():
            call_id = V.value_of(view.variables.get(V.CALL_ID))
            if not call_id or self._tracker.get(call_id) is not None:
                continue
            if call_id in asked:
                # Tracked when the snapshot was asked for, ended since (its Hangup came first):
                # rebuilding it from the older snapshot would queue a caller who is gone.
                log.info("resync: call %s ended since the snapshot was asked for", call_id)
                continue
            if view.context == CTX_AFTER_CALL:
                # past its agent, in the survey: no caller to serve; its journal entry and the
                # answered-call marker written first there record the call (below)
                log.info("resync: call %s is past its agent (survey): not rebuilt", call_id)
                continue
            agent = self._rebuild(call_id, view, journal.pop(call_id, None))
            if agent:
                busy_agents.add(agent)
        for call_id, entry in journal.items():          # ended while ctid was down
            if self._tracker.get(call_id) is None:
                call, state = from_entry(entry)
                marker, ended_at = answered.get(call_id), None
                if marker is not None:                   # answered meanwhile: say so
                    state = CallState.CONNECTED
                    ended_at = call.answered_unseen(marker.agent_id, marker.ended_at)
                    if call.agent_id:
                        wrapping[call.agent_id] = ended_at + self._agents.wrap_up_seconds
                self._tracker.close_unseen(call, state, ended_at)
                log.info("resync: call %s ended while ctid was down (%s)", call_id, state.value)
        if self._first:
            self._first = False
            self._restore_presence(busy_agents, wrapping)
        log.info("resync %d: %d channels, %d calls tracked", self.runs, len(channels),
                 len(self._tracker.calls()))

    def _rebuild(self, call_id: str, view: ChannelView, entry: dict | None) -> str | None:
        v = view.variables
        call = call_from_variables(call_id, view.name, view.uniqueid, view.linkedid,
                                   view.caller_number, v, self._clock.seconds(),
                                   tiers=self._acd.router.config.tiers,
                                   skills=self._acd.skills(),
                                   default_skill=self._acd.default_skill)
        if entry is not None:       # what only ctid knew; the channel's variables are fresher
            known, _ = from_entry(entry)
            call.created = known.created or call.created
            call.customer_name = known.customer_name
            call.offered_at, call.ring_started = known.offered_at, known.ring_started
            call.answered_at, call.offers = known.answered_at, known.offers
        agent_id = v.get(V.AGENT) or None
        agent = self._agents.find(agent_id) if agent_id else None
        if view.context == V.CTX_CONNECT and agent is not None:
            if view.bridged and call.answered_at is not None:     # answered before: recorded
                self._tracker.restore(call, CallState.CONNECTED, agent_id)
                self._agents.restore(agent_id, AgentState.BUSY, call_id=call_id)
            else:
                self._tracker.restore(call, CallState.RINGING, agent_id)
                self._agents.restore(agent_id, AgentState.RINGING, call_id=call_id)
                if view.bridged:                   # answered while ctid was away: say so now
                    self._tracker.settle(call_id, "bridged")
            log.info("resync: call %s rebuilt %s with agent %s", call_id, call.state.value, agent_id)
            return agent_id
        if view.context == V.CTX_FALLBACK:             # app_queue has this caller: hands off
            call.fell_back = True
            self._tracker.restore(call, CallState.FALLBACK)
            return None
        if view.context == V.CTX_INBOUND:
            self._tracker.register(call)                   # still in the IVR: CTIWait will come
            return None
        self._tracker.register(call)
        self._tracker.enqueue(call_id)
        log.info("resync: call %s back in line (waited %.0f s)", call_id,
                 self._clock.seconds() - call.arrival)
        return None

    def _restore_presence(self, busy_agents: set[str], wrapping: dict[str, float]) -> None:
        for agent_id, entry in self._presence.load().items():
            agent = self._agents.find(agent_id)
            if agent is None or agent.state is not AgentState.LOGGED_OUT:
                continue                  # unknown, or already live again: the present wins
            if agent_id in busy_agents:
                self._acd.restore_agent(agent, ready=False)
                continue
            until = wrapping.get(agent_id)
            if entry.get("state") == "after-call-work":
                until = max(until or 0.0, _seconds(entry.get("until")))
            if until is not None and until > self._clock.seconds():
                # Wrap-up interrupted by the restart: what is left of it, then ready.
                self._agents.restore_wrap_up(agent_id, until)
                self._acd.restore_agent(agent, ready=False)
                continue
            ready = entry.get("state") in ("ready", "after-call-work")
            reason = None if ready else (entry.get("reason") or "break")
            held = self._agents.held(agent) if ready else None
            if held:                                   # e.g. the desktop has not reconnected yet
                ready, reason = False, held
            self._agents.restore(agent_id, AgentState.READY if ready else AgentState.NOT_READY,
                                 reason=reason)
            self._acd.restore_agent(agent, ready=ready)


def _seconds(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _version(call) -> tuple:
    return (call.state, call.offers, call.agent_id)
