"""The post-call satisfaction survey (满意度调查): 1 to 5, after the agent hangs up.

``cti-connect`` dials the agent with option ``g``: when the *agent* hangs up, the caller goes
on to ``cti-survey``, which runs ``AGI(agi://ctid/survey,<CTI_CALL_ID>)``. A caller who hangs
up first is simply gone: nobody is surveyed who did not stay. ctid decides whether this call
is surveyed (``agentivr.survey``: on or off, for which tiers and skills), plays the question,
takes one key (two tries) and puts the score on the call's contact.

The route serves only calls this ctid saw end on the agent's side (it observes the tracker),
and only on the channel of that call: a FastAGI session naming another call id scores nothing.
The tracker may hear of the agent's hangup a moment after the caller reaches the survey (AMI
and FastAGI are two connections), so the route waits a little for it.

The contact row is written through the outage buffer; the score is an update of that row,
retried for a while if the row is not there yet (and logged, not lost silently, if it never
comes).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from twisted.internet import task

from cti.agi_errors import AGICommandFailed
from cti.domain.call_state import CallEvent, CallState
from cti.services.calls import CallChange, CallTracker

from .model import SurveyPolicy, survey_score

log = logging.getLogger(__name__)

SCRIPT = "survey"
SCORE = "CTI_SURVEY_SCORE"       # left on the channel: the score, "none" or "skipped"
ASK_TIMEOUT_MS = 6000
TRIES = 2
WAIT_FOR_END = 3.0               # seconds the route waits for the tracker to see the end
SAVE_RETRIES = 10
SAVE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Surveyable:
    call_id: str
    uniqueid: str
    agent_id: str | None
    tier: str
    skill: str


class Survey:
    def __init__(self, tracker: CallTracker, policy: SurveyPolicy, clock,
                 save: Callable[[str, int], Any]):
        self._tracker = tracker
        self.policy = policy
        self._clock = clock                   # IReactorTime
        self._save = save                     # (call id, score) -> Deferred[bool]
        self._ended: OrderedDict[str, Surveyable] = OrderedDict()
        self.scores: dict[str, int] = {}      # the latest scores given, by call id (bounded)

    # -- CallObserver ----------------------------------------------------------------------
    def call_changed(self, change: CallChange) -> None:
        call = change.call
        if (change.kind is CallEvent.HANGUP and call.state is CallState.ENDED
                and call.answered_at is not None and call.ended_by == "agent"):
            self._ended[call.call_id] = Surveyable(call.call_id, call.uniqueid, change.agent_id,
                                                   call.tier, call.skill)
            while len(self._ended) > 1000:
                self._ended.popitem(last=False)

    # -- the route ---------------------------------------------------------------------------
    async def __call__(self, session) -> None:
        call_id = session.args[0] if session.args else ""
        if not self.policy.enabled:               # the common case: no survey, no waiting
            await session.set_variable(SCORE, "skipped")
            return
        ended = await self._ended_call(call_id, session.uniqueid)
        if ended is None or not self.policy.wants(ended.tier, ended.skill):
            await session.set_variable(SCORE, "skipped")
            return
        self._ended.pop(call_id, None)            # one survey per call
        score = None
        for _ in range(TRIES):
            key = await session.get_data("cti/survey-ask", ASK_TIMEOUT_MS, 1)
            score = survey_score(key)
            if score is not None or not key:
                break
            await self._play(session, "cti/survey-invalid")
        await session.set_variable(SCORE, score if score is not None else "none")
        if score is None:
            log.info("call %s: survey not answered", call_id)
            return
        log.info("call %s: survey score %d (agent %s)", call_id, score, ended.agent_id)
        self.scores[call_id] = score
        if len(self.scores) > 1000:
            self.scores.pop(next(iter(self.scores)))
        self._store(call_id, score, SAVE_RETRIES)
        await self._play(session, "cti/survey-thanks")

    async def _ended_call(self, call_id: str, uniqueid: str | None) -> Surveyable | None:
        waited = 0.0
        while True:
            ended = self._ended.get(call_id)
            if ended is not None:
                return ended if ended.uniqueid == uniqueid else None
            live = self._tracker.get(call_id)
            if (live is None or live.uniqueid != uniqueid or live.state is not CallState.CONNECTED
                    or waited >= WAIT_FOR_END):
                if live is None:
                    log.info("survey for %s: no call this ctid saw end by the agent", call_id[:64])
                return None
            await task.deferLater(self._clock, 0.1, lambda: None)
            waited += 0.1

    def _store(self, call_id: str, score: int, tries_left: int) -> None:
        def saved(found: bool) -> None:
            if found:
                return
            if tries_left <= 1:
                log.error("call %s: survey score %d not stored: no contact row", call_id, score)
                return
            self._clock.callLater(SAVE_RETRY_SECONDS, self._store, call_id, score, tries_left - 1)

        def failed(failure) -> None:
            log.error("call %s: survey score %d not stored: %s", call_id, score,
                      failure.getErrorMessage())
            if tries_left > 1:
                self._clock.callLater(SAVE_RETRY_SECONDS, self._store, call_id, score,
                                      tries_left - 1)

        self._save(call_id, score).addCallbacks(saved, failed)

    @staticmethod
    async def _play(session, prompt: str) -> None:
        try:
            await session.stream_file(prompt)
        except AGICommandFailed:
            log.info("prompt %s not played (missing recording)", prompt)
