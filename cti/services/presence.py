"""Which agents are logged in, and ready or paused, kept on disk so a ctid restart keeps them.

The PBX knows the callers but not who is logged in to ctid; this small file does. It is
rewritten (write to a temporary file, then rename) on every login, logout, pause and unpause.
After-call work is stored with the moment it ends, so a restart does not cut wrap-up short. Reading a missing or broken file gives "nobody logged in"
with a log line, never an exception.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from cti.domain.agent_state import AgentEvent, AgentState
from cti.services.agents import Agent

log = logging.getLogger(__name__)

PRESENCE_EVENTS = {AgentEvent.LOGIN, AgentEvent.LOGOUT, AgentEvent.PAUSE, AgentEvent.UNPAUSE,
                   AgentEvent.NO_ANSWER, AgentEvent.HANGUP, AgentEvent.WRAP_UP_DONE}


class PresenceStore:
    def __init__(self, path: Path | None):
        self._path = path
        self._state: dict[str, dict] = {}

    def load(self) -> dict[str, dict]:
        if self._path is None or not self._path.exists():
            return {}
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a mapping")
        except (OSError, ValueError) as exc:
            log.error("agent presence file %s unreadable (%s): starting with nobody logged in",
                      self._path, exc)
            return {}
        self._state = {str(k): v for k, v in data.items() if isinstance(v, dict)}
        return dict(self._state)

    def agent_changed(self, agent: Agent, event: AgentEvent) -> None:
        if event not in PRESENCE_EVENTS:
            return
        if agent.state is AgentState.LOGGED_OUT:
            self._state.pop(agent.agent_id, None)
        elif agent.state is AgentState.AFTER_CALL_WORK:
            self._state[agent.agent_id] = {"state": "after-call-work", "reason": None,
                                           "until": agent.wrap_up_until}
        elif agent.state is AgentState.NOT_READY:
            self._state[agent.agent_id] = {"state": "not-ready", "reason": agent.reason}
        else:
            self._state[agent.agent_id] = {"state": "ready", "reason": None}
        self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        tmp = self._path.with_name(self._path.name + ".tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._state, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self._path)
        except OSError as exc:
            log.error("agent presence not saved to %s: %s", self._path, exc)
