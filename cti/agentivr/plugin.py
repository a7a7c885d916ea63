"""Wires the agent side of the IVR from ``config["agentivr"]`` into the daemon.

``cti/app.py`` calls :func:`wire` once with the core's services and gets an
:class:`AgentIVR`: its FastAGI routes (to add to the FastAGI factory's table), its HTTP
routes (to hand to ``make_site``) and the parts tests look at. The flow runner of the IVR
capability is passed in as ``run_flow(session, flow_name, call) -> Deferred[result]`` (a
result has ``outcome`` and ``results``), and ``flows()`` lists the flow names it knows;
without a runner, sending a caller into a flow is refused.

Settings (``cti/config.py`` holds the defaults and checks them)::

    agentivr:
      hold_seconds: 60          # how long an agent is held for a caller they sent into a flow
      pin_max_failures: 3       # wrong PINs in a row before an agent's phone log-in locks
      pin_lockout_seconds: 300
      survey: {enabled: false, tiers: [], skills: []}   # empty list: every tier / skill
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from cti.domain.reasons import ReasonList

from . import features, flows as flows_mod, http, store, survey as survey_mod
from .features import FeatureCodes
from .flows import SendToFlow
from .model import PinThrottle, SurveyPolicy
from .survey import Survey

@dataclass
class AgentIVR:
    agi_routes: dict[str, Callable]
    http_routes: list
    features: FeatureCodes
    survey: Survey
    flows: SendToFlow
    throttle: PinThrottle

    def stop(self) -> None:
        self.flows.stop()


def wire(config: Mapping[str, Any], *, run_db: Callable[..., Any], tracker, agents, hub,
         send_action: Callable[..., Any], ami_ready: Callable[[], bool], reasons: ReasonList,
         reactor, run_pin_check: Callable[..., Any] | None = None,
         run_flow: Callable[..., Any] | None = None,
         flows: Callable[[], Iterable[str]] | None = None) -> AgentIVR:
    """``run_db(work, *args)``: a unit of work on the storage pool; ``run_pin_check``: the
    same on the sign-in's own pool (a PIN check is a scrypt, kept off the call path's
    threads as sign-in's are, ADR 0007); without it, ``run_db``."""
    cfg = config["agentivr"]
    throttle = PinThrottle(reactor.seconds, max_failures=cfg["pin_max_failures"],
                           lockout=cfg["pin_lockout_seconds"])
    check = run_pin_check or run_db
    codes = FeatureCodes(agents, reasons, throttle,
                         lambda number, pin: check(store.check_pin, number, pin))
    s = cfg["survey"]
    policy = SurveyPolicy(bool(s["enabled"]), frozenset(s["tiers"]), frozenset(s["skills"]))
    survey = Survey(tracker, policy, reactor,
                    lambda call_id, score: run_db(store.save_survey_score, call_id, score))
    sender = SendToFlow(tracker=tracker, agents=agents, send_action=send_action,
                        ami_ready=ami_ready, push=hub.send_to_agent, clock=reactor,
                        hold_seconds=cfg["hold_seconds"], run_flow=run_flow, flows=flows)
    tracker.subscribe(survey)
    tracker.subscribe(sender)
    return AgentIVR(
        agi_routes={features.SCRIPT: codes, survey_mod.SCRIPT: survey,
                    flows_mod.SCRIPT: sender},
        http_routes=http.routes(flows=sender, agents=agents, run_db=run_db, throttle=throttle),
        features=codes, survey=survey, flows=sender, throttle=throttle)
