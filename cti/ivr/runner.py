"""The flow interpreter: walks one caller through one flow over their AGI session.

``FlowRunner.run(session, flow_name, call, caller)`` is the one entry point, used by the
``inbound`` route and by anything else that sends a caller into a flow (an agent handing a
caller to a PIN check or a survey). It sets the channel's language to the caller's
(``CHANNEL(language)``: Asterisk then plays ``<lang>/cti/...`` files and says numbers and dates
in that language), runs node after node, and returns a :class:`FlowResult`:

* ``agent``  — the flow (or the agent key, ``0`` by default, in any menu) asks for an agent
  with ``skill``; the caller is still on the line and the caller of ``run`` hands them on;
* ``done``   — the flow ended in the IVR (a hang-up node): the channel is still up, the caller
  of ``run`` ends it;
* ``hangup`` — the caller hung up (or the channel left the AGI) at ``last_node``.

Every step is kept (node, key pressed, timeouts, self-service outcomes; never a PIN) and
handed to the journey recorder when the flow ends, whatever the ending.
"""
from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from twisted.internet import defer

from cti.agi_errors import CHANNEL_GONE, AGICommandFailed
from cti.domain.privacy import mask_number
from cti.ivr import actions
from cti.ivr.model import Flow, Node

log = logging.getLogger(__name__)

#: A caller who wanders this many steps (keys pressed in circles) is handed to an agent.
MAX_STEPS = 200
#: The steps of this many recent calls are kept in memory for their screen-pops.
RECENT_CALLS = 5000
OUTCOMES = ("agent", "hangup", "done")


@dataclass
class FlowResult:
    outcome: str                      # "agent" | "hangup" | "done"
    skill: str | None
    results: dict[str, str]
    steps: list[dict[str, Any]]
    flow: str = ""
    last_node: str | None = None

    @property
    def self_served(self) -> bool:
        """A self-service action succeeded on this journey."""
        return any(s.get("outcome") == "done" and s.get("kind") == "action"
                   and s.get("action") in actions.SELF_SERVICE for s in self.steps)


@dataclass(frozen=True)
class RunnerSettings:
    agent_key: str = "0"              # "" disables 自动转人工
    agent_skill: str = "general"      # the skill the agent key asks for
    default_skill: str = "general"
    tier_skills: Mapping[str, str] = field(default_factory=dict)   # dedicated agents per tier
    timeout_ms: int = 5000            # a menu's wait for a key, unless the node says
    voice_dir: str = "/var/spool/asterisk/ctid-messages"
    voice_format: str = "wav"
    timezone: str = "Asia/Shanghai"


class _Leave(Exception):
    """The flow is over: ``outcome`` and ``skill``."""

    def __init__(self, outcome: str, skill: str | None = None):
        self.outcome, self.skill = outcome, skill


class Journey:
    """One caller's walk through one flow: the session, what was collected, the steps."""

    def __init__(self, runner: "FlowRunner", session, flow: Flow, call, caller):
        self.runner, self.session, self.flow = runner, session, flow
        self.call, self.caller = call, caller
        self.results: dict[str, str] = {}
        self.steps: list[dict[str, Any]] = []
        self.node: str | None = None
        self.started = runner.clock.seconds()

    @property
    def settings(self) -> RunnerSettings:
        return self.runner.settings

    def step(self, **what: Any) -> None:
        at = round(self.runner.clock.seconds() - self.started, 2)
        self.steps.append({"node": self.node, **what, "at": at})

    # -- what the caller hears and keys ---------------------------------------------------------
    async def play(self, prompt: str) -> None:
        try:
            await self.session.stream_file(prompt)
        except AGICommandFailed:     # a missing file (or a hangup: the next command says)
            log.warning("call %s: prompt %s could not be played", self.call.call_id, prompt)

    async def read(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        return await self.session.get_data(prompt, timeout_ms, max_digits)

    async def say(self, say_as: str, value: Any) -> None:
        await actions.say(self, say_as, value)


class FlowRunner:
    def __init__(self, flows: Callable[[str], Flow], customers, settings: RunnerSettings, clock,
                 *, on_journey: Callable[..., Any] | None = None,
                 voice_messages: Callable[..., Any] | None = None):
        """``flows(name)`` is the flow now in force (the flow book's ``get``); ``customers``
        the :class:`cti.ivr.port.CustomerPort`; ``on_journey(call, caller, result, started,
        ended)`` records each journey; ``voice_messages(message)`` stores a recorded one."""
        self.flows = flows
        self.customers = customers
        self.settings = settings
        self.clock = clock
        self.on_journey = on_journey
        self.voice_messages = voice_messages
        self._recent: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def steps_of(self, call_id: str) -> list[dict[str, Any]]:
        """The steps of a recent call's journeys (all of them, in order), for its screen-pop."""
        return list(self._recent.get(call_id, ()))

    def run(self, session, flow_name: str, call, caller) -> defer.Deferred:
        """Deferred[FlowResult]. ``flow_name`` must be loaded (KeyError otherwise)."""
        flow = self.flows(flow_name)
        return defer.ensureDeferred(self._run(Journey(self, session, flow, call, caller)))

    async def _run(self, journey: Journey) -> FlowResult:
        flow, call = journey.flow, journey.call
        outcome, skill = "hangup", None
        try:
            await journey.session.set_variable("CHANNEL(language)", journey.caller.language or "zh")
            name = flow.start
            for _ in range(MAX_STEPS):
                journey.node = name
                node = flow.node(name)
                name = await getattr(self, f"_{node.kind}")(journey, node)
            journey.step(event="too-many-steps")
            log.warning("call %s: %d steps in flow %s, handed to an agent", call.call_id,
                        MAX_STEPS, flow.name)
            outcome, skill = "agent", self.settings.default_skill
        except _Leave as leave:
            outcome, skill = leave.outcome, leave.skill
        except CHANNEL_GONE:
            journey.step(event="hangup")
            outcome = "hangup"
        result = FlowResult(outcome, skill, journey.results, journey.steps, flow.name,
                            journey.node)
        log.info("call %s (%s): flow %s ended %s at %s%s", call.call_id,
                 mask_number(call.caller_number), flow.name, outcome, journey.node,
                 f" for skill {skill}" if skill else "")
        self._recent[call.call_id] = self._recent.pop(call.call_id, []) + journey.steps
        while len(self._recent) > RECENT_CALLS:
            self._recent.popitem(last=False)
        if self.on_journey is not None:
            try:
                self.on_journey(call, journey.caller, result, journey.started, self.clock.seconds())
            except Exception:
                log.exception("call %s: the IVR journey could not be recorded", call.call_id)
        return result

    # -- node kinds: each returns the next node's name or raises _Leave ------------------------------
    async def _play(self, journey: Journey, node: Node) -> str:
        journey.step(kind="play")
        await journey.play(node.get("prompt"))
        return node.get("next")

    async def _menu(self, journey: Journey, node: Node) -> str:
        tries = node.get("tries", 3)
        timeout = node.get("timeout_ms", self.settings.timeout_ms)
        keys = node.get("keys")
        agent_key = self.settings.agent_key
        for _ in range(tries):
            key = await journey.read(node.get("prompt"), timeout, 1)
            if agent_key and key == agent_key:
                journey.step(kind="menu", key=key, event="agent-key")
                raise _Leave("agent", self.settings.agent_skill)
            if key in keys:
                journey.step(kind="menu", key=key)
                return keys[key]
            if key:
                journey.step(kind="menu", key=key, event="invalid")
                retry = node.get("invalid_prompt")
            else:
                journey.step(kind="menu", event="timeout")
                retry = node.get("timeout_prompt")
            if retry:
                await journey.play(retry)
        journey.step(kind="menu", event="default")
        return node.get("default")

    async def _collect(self, journey: Journey, node: Node) -> str:
        tries = node.get("tries", 3)
        timeout = node.get("timeout_ms", self.settings.timeout_ms)
        low, high = node.get("min_length", 1), node.get("max_length")
        pattern = node.get("pattern")
        for _ in range(tries):
            digits = await journey.read(node.get("prompt"), timeout, high)
            valid = low <= len(digits) <= high and (
                pattern is None or re.fullmatch(pattern, digits) is not None)
            journey.step(kind="collect", length=len(digits), valid=valid)
            if valid:
                journey.results[node.get("store")] = digits
                return node.get("next")
            if node.get("invalid_prompt"):
                await journey.play(node.get("invalid_prompt"))
        return node.get("default")

    async def _say(self, journey: Journey, node: Node) -> str:
        journey.step(kind="say")
        if node.get("prompt"):
            await journey.play(node.get("prompt"))
        value = _value_of(node.get("value"), journey)
        if value not in (None, ""):
            await journey.say(node.get("as"), value)
        return node.get("next")

    async def _action(self, journey: Journey, node: Node) -> str:
        name = node.get("action")
        outcome = await actions.ACTIONS[name](journey, node)
        journey.results[name] = outcome
        journey.step(kind="action", action=name, outcome=outcome)
        return (node.get("outcomes") or {}).get(outcome, node.get("next"))

    async def _branch(self, journey: Journey, node: Node) -> str:
        by = node.get("by")
        caller = journey.caller
        if by == "known":
            value = "known" if caller.known else "unknown"
        elif by == "tier" and journey.call is not None:
            value = journey.call.tier.lower()          # the tier the ACD knows the call by
        else:
            value = str(getattr(caller, by, None) or "").lower()
        journey.step(kind="branch", value=value)
        return node.get("cases").get(value, node.get("default"))

    async def _transfer(self, journey: Journey, node: Node) -> str:
        if node.get("prompt"):
            await journey.play(node.get("prompt"))
        if node.get("dedicated"):
            tier = journey.call.tier if journey.call is not None else journey.caller.tier
            skill = self.settings.tier_skills.get(tier) or self.settings.default_skill
        else:
            skill = node.get("skill") or self.settings.default_skill
        journey.step(kind="transfer", skill=skill)
        raise _Leave("agent", skill)

    async def _hangup(self, journey: Journey, node: Node) -> str:
        journey.step(kind="hangup")
        if node.get("prompt"):
            await journey.play(node.get("prompt"))
        raise _Leave("done")


def _value_of(expression: str, journey: Journey) -> Any:
    """``results.<name>``, ``caller.<field>``, or the text itself."""
    source, _, name = expression.partition(".")
    if source == "results" and name:
        return journey.results.get(name)
    if source == "caller" and name:
        return getattr(journey.caller, name, None)
    return expression
