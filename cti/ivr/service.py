"""The IVR's use cases: the flow book (load, validate, reload), recording journeys and voice
messages, and reading them back (voice messages for the complaints team, containment).

The flow book holds the flows in force. ``reload`` reads and validates everything again and
swaps the whole set only when all of it is good: a bad file leaves the old flows in force and
the error (file and line) goes back to whoever asked. Database work runs on the storage pool.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Mapping

from twisted.internet import defer

from cti.domain.privacy import mask_number
from cti.ivr import journey as rules
from cti.ivr import model, store

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).parent
SHIPPED_FLOWS = SHIPPED / "flows"
SHIPPED_PROMPTS = SHIPPED / "prompts.yaml"
PROMPTS_FILE = "prompts.yaml"       # in an operator's flows directory: more prompts


class FlowBook:
    """The flows in force and which tier hears which."""

    def __init__(self, *, flows_dir: str | Path | None, tier_names, vip_tiers,
                 chosen: Mapping[str, str], agent_key: str = "0"):
        self._dirs = [SHIPPED_FLOWS] + ([Path(flows_dir)] if flows_dir else [])
        self._tier_names, self._vip = list(tier_names), set(vip_tiers)
        self._chosen = dict(chosen)
        self._agent_key = agent_key
        self.flows: dict[str, model.Flow] = {}
        self.by_tier: dict[str, str] = {}
        self.catalogue = model.PromptCatalogue({})

    def load(self) -> dict[str, Any]:
        """Read and validate every file; swap them in only if all are good.
        :class:`model.FlowErrors` (or ValueError for the tier choice) otherwise."""
        catalogue = self._read_catalogue()
        files: dict[str, Path] = {}
        for directory in self._dirs:
            if not directory.is_dir():
                raise model.FlowErrors([model.FlowError(str(directory), 0,
                                                        "flows directory not found")])
            for path in sorted(directory.glob("*.yaml")):
                if path.name != PROMPTS_FILE:
                    files[path.stem] = path          # an operator's file replaces ours
        flows: dict[str, model.Flow] = {}
        errors: list[model.FlowError] = []
        for name, path in files.items():
            try:
                flows[name] = model.parse_flow(_read(path), str(path), name, catalogue,
                                               agent_key=self._agent_key)
            except model.FlowErrors as exc:
                errors.extend(exc.errors)
        if errors:
            raise model.FlowErrors(errors)
        by_tier = model.flows_for_tiers(self._tier_names, self._vip, self._chosen, flows)
        self.flows, self.by_tier, self.catalogue = flows, by_tier, catalogue
        return self.summary()

    def reload(self) -> dict[str, Any]:
        """Like :meth:`load`; on a fault the flows in force stay, and the fault is raised."""
        try:
            summary = self.load()
        except (model.FlowErrors, ValueError) as exc:
            log.error("IVR flows not reloaded, the flows in force stay: %s", exc)
            raise
        log.info("IVR flows reloaded: %s", ", ".join(sorted(self.flows)))
        return summary

    def get(self, name: str) -> model.Flow:
        return self.flows[name]

    def flow_for_tier(self, tier: str) -> str:
        return self.by_tier.get(tier) or self.by_tier.get("standard") or "standard"

    def summary(self) -> dict[str, Any]:
        return {"flows": {name: {"file": flow.path, "nodes": len(flow.nodes)}
                          for name, flow in sorted(self.flows.items())},
                "tiers": dict(self.by_tier)}

    def _read_catalogue(self) -> model.PromptCatalogue:
        texts: dict[str, dict[str, str]] = {}
        for path in [SHIPPED_PROMPTS] + [d / PROMPTS_FILE for d in self._dirs[1:]]:
            if path.is_file():
                texts.update(model.parse_catalogue(_read(path), str(path)).texts)
        return model.PromptCatalogue(texts)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise model.FlowErrors([model.FlowError(str(path), 0, f"cannot read: {exc}")]) from None


class IVRRecords:
    """Writes journeys and voice messages, reads them back; all on the storage pool."""

    def __init__(self, run_work: Callable[..., defer.Deferred], clock: Callable[[], float],
                 submit: Callable[[Any], None]):
        self._run = run_work           # Database.run: the reads
        self._clock = clock
        self._submit = submit          # the daemon's outbox: the writes, never lost

    def journey(self, call, caller, result, started: float, ended: float) -> None:
        """Record one journey (a FlowRunner's ``on_journey``) through the outbox."""
        self._submit(store.JourneyRecord(
            call_id=call.call_id, flow=result.flow, caller_number=call.caller_number or None,
            customer_id=caller.customer_id, tier=call.tier, outcome=result.outcome,
            skill=result.skill, last_node=result.last_node, self_served=result.self_served,
            contained=rules.is_contained(result.outcome, result.self_served),
            path=rules.compact_path(result.steps, result.flow), steps=list(result.steps),
            started_at=_at(started), ended_at=_at(ended)))

    def voice_message(self, message) -> None:
        fields = asdict(message)
        fields["duration_seconds"] = fields.pop("duration")
        fields["recorded_at"] = _at(fields["recorded_at"])
        log.info("call %s: voice message of %.1f s from %s in %s", message.call_id,
                 message.duration, mask_number(message.caller_number), message.file)
        self._submit(store.VoiceMessageRecord(**fields))

    def voice_messages(self, since: str | None = None, limit: int = 200) -> defer.Deferred:
        return self._run(store.voice_messages, self._since(since), limit)

    def containment(self, since: str | None = None) -> defer.Deferred:
        bound = self._since(since)
        d = self._run(store.journeys_since, bound)
        d.addCallback(lambda rows: {"since": bound.isoformat() if bound else None,
                                    **rules.containment(rows)})
        return d

    def journeys(self, call_id: str) -> defer.Deferred:
        return self._run(store.journeys_of, call_id).addCallback(
            lambda rows: [{**asdict(r), "started_at": r.started_at.isoformat(),
                           "ended_at": r.ended_at.isoformat()} for r in rows])

    def _since(self, since: str | None) -> dt.datetime | None:
        return rules.parse_since(since, _at(self._clock()))


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
