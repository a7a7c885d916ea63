"""Feature codes: agents on softphones log in, log out, pause and unpause by dialling a code.

``AGI(agi://ctid/agent-feature,<action>[,<digits>])`` from ``cti-agent-features``
(``dialplan/extensions_cti.conf``). The change goes through :class:`AgentService`, the same
use cases as ``ctictl`` and the desktop, so the ACD, queue_log and the desktops see it at
once. Each outcome is told to the agent in a prompt and left on the channel as
``CTI_FEATURE_RESULT`` (for the dialplan, the administrator's log and the tests).

Who is asking:
- **log in** needs the agent number and the PIN, keyed, *and* the agent's own seat: the ACD
  rings the seat an agent row names, so a log-in from another phone would make the agent
  ready with their calls ringing an empty desk. Wrong PINs (or unknown numbers) are counted
  per agent number; too many in a row lock phone log-in for that agent (``PinThrottle``).
- **log out, pause, unpause** are for the agent whose seat is calling: the phone on the desk
  is the proof, as for app_queue's own pause codes; no PIN is asked.

A pause reason is a code from the centre's list (``acd.not_ready_reasons``), keyed as its
number in the list (``*731`` = the first), or chosen from the list read out when no number
was keyed; no key at all takes the first (the default).
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from cti.agi_errors import AGICommandFailed
from cti.domain.privacy import mask_number
from cti.domain.reasons import ReasonList
from cti.services.agents import Agent, AgentError, AgentService

from .model import AGENT_NUMBER, PinLocked, PinThrottle, device_of, reason_for_key

log = logging.getLogger(__name__)

SCRIPT = "agent-feature"
RESULT = "CTI_FEATURE_RESULT"
ACTIONS = ("login", "logout", "pause", "unpause")
DIGIT_TIMEOUT_MS = 6000
PIN_TRIES = 3                 # tries within one call (each wrong one counts towards the lock)


class FeatureCodes:
    def __init__(self, agents: AgentService, reasons: ReasonList, throttle: PinThrottle,
                 check_pin: Callable[[str, str], Awaitable[bool]]):
        self._agents = agents
        self._reasons = reasons
        self._throttle = throttle
        self._check_pin = check_pin      # (agent number, pin) -> Deferred[bool], off the reactor

    async def __call__(self, session) -> None:
        action = session.args[0] if session.args else ""
        keyed = session.args[1] if len(session.args) > 1 else ""
        if action not in ACTIONS:
            log.warning("feature code: unknown action %r from %s", action[:20], session.channel)
            await self._tell(session, "unknown-action", None)
            return
        if action == "login":
            outcome, prompt = await self._login(session, keyed)
        else:
            outcome, prompt = await self._seat_action(session, action, keyed)
        await self._tell(session, outcome, prompt)

    # -- log in ------------------------------------------------------------------------------
    async def _login(self, session, keyed: str) -> tuple[str, str]:
        number = keyed if AGENT_NUMBER.match(keyed or "") else await session.get_data(
            "cti/agent-enter-number", DIGIT_TIMEOUT_MS, 20)
        wrong = False
        for _ in range(PIN_TRIES):
            try:
                self._throttle.check(number)
            except PinLocked as exc:
                log.warning("feature code: phone log-in of agent %s refused, locked %.0f s more",
                            number[:20], exc.wait)
                return "locked", "cti/agent-pin-locked"
            pin = await session.get_data("cti/agent-enter-pin", DIGIT_TIMEOUT_MS, 12)
            if not pin:                          # nothing keyed: no guess, nothing counted
                return ("pin-wrong" if wrong else "no-pin"), "cti/agent-pin-wrong"
            agent = self._agents.find(number)
            if agent is not None and await self._check_pin(number, pin):
                self._throttle.succeeded(number)
                break
            wrong, locked = True, self._throttle.failed(number)
            log.warning("feature code: wrong agent number or PIN for %s from %s%s",
                        number[:20], device_of(session.channel),
                        " (phone log-in now locked)" if locked else "")
            if locked:
                return "locked", "cti/agent-pin-locked"
            await self._play(session, "cti/agent-pin-wrong")
        else:
            return "pin-wrong", "cti/agent-pin-wrong"
        if device_of(session.channel) != agent.endpoint:
            log.warning("feature code: agent %s keyed a right PIN from %s, not their seat %s",
                        number, device_of(session.channel), agent.endpoint)
            return "wrong-phone", "cti/agent-wrong-phone"
        try:
            self._agents.login(number)
        except AgentError:
            return "already-logged-in", "cti/agent-already-in"
        log.info("agent %s logged in by feature code from %s", number, agent.endpoint)
        return "logged-in", "cti/agent-logged-in"

    # -- the agent of this seat ------------------------------------------------------------
    async def _seat_action(self, session, action: str, keyed: str) -> tuple[str, str]:
        agent = self._agent_at(device_of(session.channel))
        if agent is None:
            log.warning("feature code %s from %s: no agent has this seat", action,
                        device_of(session.channel) or mask_number(session.env.get("agi_callerid")))
            return "unknown-phone", "cti/agent-unknown-phone"
        try:
            if action == "logout":
                self._agents.logout(agent.agent_id)
                return "logged-out", "cti/agent-logged-out"
            if action == "unpause":
                self._agents.unpause(agent.agent_id)
                return "unpaused", "cti/agent-unpaused"
            reason = await self._pause_reason(session, keyed)
            if reason is None:
                return "bad-reason", "cti/agent-reason-invalid"
            self._agents.pause(agent.agent_id, reason)
            return f"paused:{reason}", "cti/agent-paused"
        except AgentError as exc:
            log.info("feature code %s for agent %s refused: %s", action, agent.agent_id, exc)
            return "not-now", "cti/agent-not-now"

    async def _pause_reason(self, session, keyed: str) -> str | None:
        reasons = self._reasons.all()
        key = keyed
        if not key:
            key = await self._choose(session, [r.code for r in reasons]) or ""
        if not key:
            return self._reasons.default
        reason = reason_for_key(key, reasons)
        return reason.code if reason else None

    async def _choose(self, session, codes: list[str]) -> str | None:
        """Read the list out ("break, press 1; lunch, press 2 ..."), a key ends it."""
        digits = "0123456789"
        try:
            key = await session.stream_file("cti/agent-pause-menu", digits)
            for number, code in enumerate(codes[:9], start=1):
                for prompt in (f"cti/reason-{code}", "cti/press", f"digits/{number}"):
                    key = key or await session.stream_file(prompt, digits)
                    if key:
                        return key
            return key or await session.wait_for_digit(DIGIT_TIMEOUT_MS)
        except AGICommandFailed:        # a missing recording: take a key without the list
            return await session.wait_for_digit(DIGIT_TIMEOUT_MS)

    def _agent_at(self, device: str) -> Agent | None:
        for agent in self._agents.all():
            if device and agent.endpoint == device:
                return agent
        return None

    # -- telling the outcome ---------------------------------------------------------------
    async def _tell(self, session, outcome: str, prompt: str | None) -> None:
        await session.set_variable(RESULT, outcome)
        if prompt:
            await self._play(session, prompt)

    @staticmethod
    async def _play(session, prompt: str) -> None:
        try:
            await session.stream_file(prompt)
        except AGICommandFailed:
            log.info("prompt %s not played (missing recording)", prompt)
