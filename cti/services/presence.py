"""Which agents are logged in, and ready or paused, kept on disk so a ctid restart keeps them.

The PBX knows the callers but not who is logged in to ctid; these small files do. Every login,
logout, pause, unpause, start and end of after-call work appends one line (the agent's new
state, whole) to ``<file>.log`` at once, so a ``kill -9`` loses nothing; reading applies the
lines to the snapshot in ``<file>`` in order. The snapshot is rewritten (temporary file, then
rename) and the log emptied when ctid starts and every :data:`COMPACT_AFTER` lines: a line is
a state, not a step, so applying one twice (a crash between the two) changes nothing. Rewriting
the whole snapshot at each change cost more than anything else ctid wrote per call.
After-call work is stored with the moment it ends, so a restart does not cut wrap-up short.
Reading a missing or broken file gives "nobody logged in" with a log line, never an exception.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from cti.domain.agent_state import AgentEvent, AgentState
from cti.services.agents import Agent

log = logging.getLogger(__name__)

#: Change lines appended before the snapshot is rewritten and the log emptied.
COMPACT_AFTER = 500

PRESENCE_EVENTS = {AgentEvent.LOGIN, AgentEvent.LOGOUT, AgentEvent.PAUSE, AgentEvent.UNPAUSE,
                   AgentEvent.NO_ANSWER, AgentEvent.HANGUP, AgentEvent.WRAP_UP_DONE}


class PresenceStore:
    def __init__(self, path: Path | None):
        self._path = path
        self._log_path = path.with_name(path.name + ".log") if path is not None else None
        self._state: dict[str, dict] = {}
        self._logged = 0

    def load(self) -> dict[str, dict]:
        """The saved states (snapshot, then the change log), and a fresh snapshot of them."""
        if self._path is None:
            return {}
        state: dict[str, dict] = {}
        if self._path.exists():
            try:
                data = json.loads(self._path.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("not a mapping")
                state = {str(k): v for k, v in data.items() if isinstance(v, dict)}
            except (OSError, ValueError) as exc:
                log.error("agent presence file %s unreadable (%s): starting with nobody logged "
                          "in", self._path, exc)
        for agent_id, entry in self._read_log():
            if entry is None:
                state.pop(agent_id, None)
            else:
                state[agent_id] = entry
        self._state = state
        self._compact()
        return dict(self._state)

    def agent_changed(self, agent: Agent, event: AgentEvent) -> None:
        if event not in PRESENCE_EVENTS:
            return
        entry: dict | None
        if agent.state is AgentState.LOGGED_OUT:
            entry = None
        elif agent.state is AgentState.AFTER_CALL_WORK:
            entry = {"state": "after-call-work", "reason": None, "until": agent.wrap_up_until}
        elif agent.state is AgentState.NOT_READY:
            entry = {"state": "not-ready", "reason": agent.reason}
        else:
            entry = {"state": "ready", "reason": None}
        if entry is None:
            self._state.pop(agent.agent_id, None)
        else:
            self._state[agent.agent_id] = entry
        self._append(agent.agent_id, entry)

    def _append(self, agent_id: str, entry: dict | None) -> None:
        if self._log_path is None:
            return
        if self._logged >= COMPACT_AFTER:
            self._compact()
            return
        try:
            with open(self._log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps([agent_id, entry]) + "\n")
            self._logged += 1
        except OSError as exc:
            log.error("agent presence change of %s not saved to %s: %s", agent_id,
                      self._log_path, exc)
            self._compact()

    def _compact(self) -> None:
        """Rewrite the snapshot from memory, then empty the change log."""
        if self._path is None:
            return
        tmp = self._path.with_name(self._path.name + ".tmp")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._state, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self._path)
            self._log_path.write_bytes(b"")
            self._logged = 0
        except OSError as exc:
            log.error("agent presence not saved to %s: %s", self._path, exc)

    def _read_log(self) -> list[tuple[str, dict | None]]:
        """The change lines in order; a torn last line (a crash mid-write) is skipped."""
        try:
            text = self._log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.error("agent presence log %s unreadable (%s): ignored", self._log_path, exc)
            return []
        changes = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                agent_id, entry = json.loads(line)
                if entry is not None and not isinstance(entry, dict):
                    raise ValueError("not a state")
            except (ValueError, TypeError) as exc:
                log.warning("agent presence log %s line %d unreadable (%s): skipped",
                            self._log_path, number, exc)
                continue
            changes.append((str(agent_id), entry))
        return changes
