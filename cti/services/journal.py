"""The call journal: ctid's live calls, saved on stop and every few seconds.

The PBX tells a restarted ctid about every caller still on the line, but not about calls that
ended while ctid was down. The journal fills that gap: on the first resync, a journalled call
the PBX no longer has is settled as hung up, so it still gets its contact row (answered,
abandoned or IVR hang-up) and, if answered, its recording row. Its end time is then only known
to within the downtime. A journalled call still on the line is rebuilt from the journal, which
knows more than the channel variables (when it was offered and answered, the customer's name).

A call that ends between two saves is appended at once to a small side file (``<journal>.ended``,
one call id a line), so a crash just after a call ended cannot make the next run record that
call a second time, with a made-up end; each save starts the side file afresh. Likewise a
call that enters the queue is noted at once in ``<journal>.queued``, so the next run knows
its ``ENTERQUEUE`` line is written and does not write a second one for a caller it re-queues.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import fields
from pathlib import Path

from twisted.application import internet, service

from cti.domain.call_state import CallEvent, CallState
from cti.services.calls import Call, CallChange, CallTracker

log = logging.getLogger(__name__)

SAVED = ("call_id", "channel", "uniqueid", "linkedid", "caller_number", "dnis", "customer_id",
         "customer_name", "tier", "skill", "language", "ivr_path", "created", "arrival",
         "agent_id", "agent_channel", "offered_at", "ring_started", "answered_at", "offers")
assert set(SAVED) <= {f.name for f in fields(Call)}


def to_entry(call: Call) -> dict:
    entry = {name: getattr(call, name) for name in SAVED}
    entry["state"] = call.state.value
    return entry


def from_entry(entry: dict) -> tuple[Call, CallState]:
    call = Call(**{name: entry[name] for name in SAVED if name in entry})
    return call, CallState(entry.get("state", CallState.QUEUED.value))


#: The journal's name in ctid's data directory.
JOURNAL_FILE = "ctid-calls.json"


def discard(path: Path) -> bool:
    """Remove a journal and its side files: for a PBX that did not outlive its calls (the
    demo's simulator runs in ctid's own process). True if there was one."""
    found = False
    for name in (path.name, path.name + ".ended", path.name + ".queued"):
        try:
            path.with_name(name).unlink()
            found = True
        except FileNotFoundError:
            pass
    return found


class CallJournal(service.MultiService):
    def __init__(self, tracker: CallTracker, path: Path, clock, *, every: float = 5.0):
        super().__init__()
        self._tracker = tracker
        self._path = path
        self._ended_path = path.with_name(path.name + ".ended")
        self._queued_path = path.with_name(path.name + ".queued")
        self._recovered: dict[str, dict] = {}
        self._recovered_queued: set[str] = set()
        self._noted_queued: set[str] = set()       # noted once: later saves carry the state
        ticker = internet.TimerService(every, self.save)
        ticker.clock = clock
        ticker.setServiceParent(self)

    def startService(self):
        self._recovered = self.load()           # before the first save overwrites the file
        self._recovered_queued = set(_ids(self._queued_path)) | {
            call_id for call_id, entry in self._recovered.items()
            if entry.get("state", CallState.IVR.value) != CallState.IVR.value}
        super().startService()

    def take_recovered(self) -> dict[str, dict]:
        """The previous run's live calls, once (for the first resync)."""
        recovered, self._recovered = self._recovered, {}
        return recovered

    def was_queued(self, call_id: str) -> bool:
        """Whether the previous run saw the call enter the queue (its ENTERQUEUE is written)."""
        return call_id in self._recovered_queued

    def load(self) -> dict[str, dict]:
        """The saved live calls, less those noted as ended since."""
        try:
            entries = json.loads(self._path.read_text(encoding="utf-8"))
            calls = {e["call_id"]: e for e in entries if isinstance(e, dict) and "call_id" in e}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.error("call journal %s unreadable (%s): ignored", self._path, exc)
            return {}
        for call_id in _ids(self._ended_path):
            calls.pop(call_id, None)
        return calls

    def save(self) -> None:
        entries = [to_entry(c) for c in self._tracker.calls()]
        # The previous run's calls, until the first resync has taken them: a run stopped
        # before it (PBX unreachable, a port taken) must not wipe what the next one needs.
        live = {entry["call_id"] for entry in entries}
        for call_id, entry in self._recovered.items():
            if call_id not in live:
                if call_id in self._recovered_queued and (
                        entry.get("state", CallState.IVR.value) == CallState.IVR.value):
                    entry = {**entry, "state": CallState.QUEUED.value}
                entries.append(entry)
        tmp = self._path.with_name(self._path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(entries), encoding="utf-8")
            os.replace(tmp, self._path)
            self._ended_path.write_bytes(b"")          # the snapshot supersedes them
            self._queued_path.write_bytes(b"")
        except OSError as exc:
            log.error("call journal not saved to %s: %s", self._path, exc)

    def call_changed(self, change: CallChange) -> None:
        """A tracker observer: note an ended call, and a call entering the queue, at once."""
        call_id = change.call.call_id
        if change.kind is CallEvent.HANGUP:
            path = self._ended_path
            self._noted_queued.discard(call_id)
        elif change.kind is CallEvent.ENQUEUE and call_id not in self._noted_queued:
            path = self._queued_path
            self._noted_queued.add(call_id)
        else:
            return
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(call_id + "\n")
        except OSError as exc:
            log.error("call journal: %s of %s not noted in %s: %s", change.kind.value,
                      call_id, path, exc)

    def stopService(self):
        self.save()
        return super().stopService()


def _ids(path: Path) -> list[str]:
    """The call ids of a side file, one a line; none if it is missing or unreadable."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").split()
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.error("call journal %s unreadable (%s): ignored", path, exc)
        return []
