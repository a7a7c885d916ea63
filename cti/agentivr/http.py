"""The agent side of the IVR's API routes (mounted under ``/api/`` by the composition root).

    POST /api/calls/<call id>/ivr   {"flow": "verify-pin"}   send the caller into a flow and
                                    back (the agent on the call, their supervisor, an admin)
    POST /api/agents/<id>/pin       {"pin": "1234"}          set an agent's phone PIN (admin)
"""
from __future__ import annotations

from typing import Any, Callable

from cti.domain.principal import Principal
from cti.domain.reasons import bilingual
from cti.net.http_api import Route
from cti.services.agents import AgentService
from cti.services.control import ControlError
from cti.storage.db import NotFound

from . import store
from .flows import SendToFlow
from .model import PinThrottle, pin_problem


def routes(*, flows: SendToFlow, agents: AgentService, run_db: Callable[..., Any],
           throttle: PinThrottle) -> list[Route]:
    def send_to_flow(principal: Principal, params: dict[str, str], body: dict[str, Any]):
        return flows.request(principal, params["call_id"], body)

    def set_pin(principal: Principal, params: dict[str, str], body: dict[str, Any]):
        agent_id = params["agent_id"]
        if principal.role != "admin":
            raise ControlError("forbidden", "forbidden", bilingual(
                "只有管理员可以设置座席密码", "only an admin may set an agent's PIN"))
        pin = body.get("pin")
        problem = pin_problem(pin) if isinstance(pin, str) else "'pin' must be a string"
        if problem:
            raise ControlError("invalid", "bad-pin", bilingual("密码不符合要求", problem))
        if agents.find(agent_id) is None:
            raise ControlError("not-found", "unknown-agent", f"no agent {agent_id[:20]!r}")

        def done(_):
            throttle.succeeded(agent_id)            # a new PIN lifts a lock
            return {"agent_id": agent_id, "pin_set": True}

        def missing(failure):
            failure.trap(NotFound)
            raise ControlError("not-found", "unknown-agent", f"no agent {agent_id[:20]!r}")

        return run_db(store.set_pin, agent_id, pin).addCallbacks(done, missing)

    return [Route("POST", "calls/{call_id}/ivr", send_to_flow),
            Route("POST", "agents/{agent_id}/pin", set_pin)]
