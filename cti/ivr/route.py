"""The ``inbound`` FastAGI route: identify the caller, run their tier's flow, hand the call on.

``AGI(agi://ctid/inbound,<CTI_CALL_ID>,<DNIS>)`` from ``cti-inbound``. The call is registered
with the tracker at once, so a caller who hangs up in the IVR is recorded as today; the caller
is looked up through the runner's customer port (never blocking, never failing), and the tier's flow
runs (:class:`cti.ivr.runner.FlowRunner`). Then:

* to an agent: the route leaves the ``CTI_*`` variables on the channel — what ctid rebuilds its
  queue from after a restart — and returns; the dialplan moves the caller to ``cti-wait``;
* finished in the IVR: the route hangs the channel up (the flow said goodbye);
* the caller hung up: nothing more to do; the tracker hears the hangup over AMI.
"""
from __future__ import annotations

from typing import Any, Callable

from cti.agi_errors import CHANNEL_GONE
from cti.domain import channel_vars as V
from cti.domain.tiers import TierTable
from cti.ivr.journey import compact_path
from cti.services.calls import Call

SCRIPT = "inbound"


def make_route(*, tracker, runner, book, tiers: TierTable, clock,
               default_skill: str, **_: Any) -> Callable:
    async def inbound(session) -> None:
        env = session.env
        call_id = V.value_of(session.args[0] if session.args else "") or f"cti-{session.uniqueid}"
        dnis = session.args[1] if len(session.args) > 1 else env.get("agi_dnid", "")
        number = env.get("agi_callerid", "")
        # Known from the first moment, so a caller who hangs up in the IVR is recorded too.
        call = tracker.register(Call(
            call_id=call_id, channel=session.channel, uniqueid=session.uniqueid,
            linkedid=session.uniqueid, caller_number=number, dnis=dnis,
            tier=tiers.names[-1], skill=default_skill, created=clock.seconds()))
        caller = await runner.customers.lookup(number)     # never fails: unknown at worst
        tier = tiers[caller.tier] if caller.tier in tiers else tiers[tiers.names[-1]]
        call.customer_id, call.customer_name = caller.customer_id, caller.name
        call.tier, call.language = tier.name, caller.language
        result = await runner.run(session, book.flow_for_tier(tier.name), call, caller)
        call.ivr_path = compact_path(result.steps, result.flow)
        if result.outcome == "hangup":
            return
        if result.outcome == "done":
            try:
                await session.hangup()
            except CHANNEL_GONE:
                pass
            return
        skill = result.skill or default_skill
        call.skill = skill
        arrival = clock.seconds()
        for name, value in (
            (V.TIER, tier.name), (V.SKILL, skill), (V.PRIORITY, tier.rank),
            (V.CUSTOMER_ID, caller.customer_id or ""), (V.LANGUAGE, caller.language),
            (V.IVR_PATH, call.ivr_path), (V.MOH_CLASS, "vip" if tier.vip else ""),
            # last: the dialplan queues the caller only when this is set, so a session cut
            # before the end (ctid stopping: Asterisk reports AGISTATUS=SUCCESS for a FastAGI
            # server that closes) retries "inbound" instead of waiting half described
            (V.ARRIVAL, f"{arrival:.3f}"),
        ):
            await session.set_variable(name, value)
        call.arrival = arrival

    return inbound
