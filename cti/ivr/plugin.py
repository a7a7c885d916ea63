"""Wires the IVR from config: the flow book (loaded and validated now: a bad flow stops ctid
with its file and line), the interpreter, the records, its AGI route and its API routes.

The composition root calls :func:`build` once and hands ``agi_routes`` to the FastAGI server
and ``http_routes`` to the API. ``customers`` is the customer port
(:class:`cti.ivr.port.CustomerPort`, implemented by :class:`cti.customers.service.CustomerService`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from cti.config import ConfigError
from cti.ivr import http, route
from cti.ivr.model import FlowErrors
from cti.ivr.runner import FlowRunner, RunnerSettings
from cti.ivr.service import FlowBook, IVRRecords


@dataclass
class IVR:
    book: FlowBook
    runner: FlowRunner          # FlowRunner.run(session, flow_name, call, caller): the entry point
    records: IVRRecords
    agi_routes: dict[str, Callable]
    http_routes: list

    def use_customers(self, customers) -> None:
        """Plug the customer port (:class:`cti.ivr.port.CustomerPort`) the route and every
        flow ask from now on."""
        self.runner.customers = customers

    def run_flow(self, session, flow_name: str, call):
        """Deferred[FlowResult]: run ``flow_name`` for a caller sent there by an agent (the
        agent side's entry point); the caller is looked up by calling number first."""
        lookup = self.runner.customers.lookup(call.caller_number)
        return lookup.addCallback(lambda caller: self.runner.run(session, flow_name, call, caller))

    def flow_names(self) -> list[str]:
        return sorted(self.book.flows)


def build(config: dict[str, Any], *, db, tracker, tiers, reactor, customers, outbox) -> IVR:
    cfg = config["ivr"]
    book = FlowBook(flows_dir=cfg["flows_dir"] or None, tier_names=tiers.names,
                    vip_tiers=[t for t in tiers.names if tiers[t].vip], chosen=cfg["flows"],
                    agent_key=cfg["agent_key"])
    try:
        book.load()
    except (FlowErrors, ValueError) as exc:
        raise ConfigError(f"IVR flows: {exc}") from None
    records = IVRRecords(db.run, reactor.seconds, outbox.submit)
    settings = RunnerSettings(
        agent_key=cfg["agent_key"], agent_skill=cfg["agent_skill"] or cfg["default_skill"],
        default_skill=cfg["default_skill"], tier_skills=dict(cfg["tier_skills"]),
        timeout_ms=cfg["timeout_ms"], voice_dir=cfg["voice_messages_dir"],
        voice_format=cfg["voice_format"], timezone=cfg["timezone"])
    runner = FlowRunner(book.get, customers, settings, reactor, on_journey=records.journey,
                        voice_messages=records.voice_message)
    inbound = route.make_route(tracker=tracker, runner=runner, book=book,
                               tiers=tiers, clock=reactor, default_skill=cfg["default_skill"])
    return IVR(book, runner, records, {route.SCRIPT: inbound}, http.routes(book, records))
