"""The ``inbound`` route: identify the caller, run the tier's IVR, hand the call to the ACD.

``AGI(agi://ctid/inbound,<CTI_CALL_ID>,<DNIS>)`` from ``cti-inbound``. The caller's tier comes from
the customer database (a lookup that never blocks: see :mod:`cti.services.directory`). VIP tiers
skip the menu. The route leaves the ``CTI_*`` variables on the channel — they are what ctid
rebuilds its queue from after a restart — and registers the call with the tracker; the dialplan
then moves the caller to ``cti-wait``.
"""
from __future__ import annotations

from typing import Any, Callable

from cti.domain import channel_vars as V
from cti.domain.ivr import IVRPlan
from cti.domain.tiers import TierTable
from cti.services.calls import Call

SCRIPT = "inbound"


def make_route(*, tracker, directory, tiers: TierTable, ivr: IVRPlan, clock, **_: Any) -> Callable:
    async def inbound(session) -> None:
        env = session.env
        call_id = V.value_of(session.args[0] if session.args else "") or f"cti-{session.uniqueid}"
        dnis = session.args[1] if len(session.args) > 1 else env.get("agi_dnid", "")
        number = env.get("agi_callerid", "")
        # Known from the first moment, so a caller who hangs up in the menu is recorded too.
        call = tracker.register(Call(
            call_id=call_id, channel=session.channel, uniqueid=session.uniqueid,
            linkedid=session.uniqueid, caller_number=number, dnis=dnis,
            tier=tiers.names[-1], skill=ivr.default_skill, created=clock.seconds()))
        caller = await directory.lookup(number)
        tier = tiers[caller.tier] if caller.tier in tiers else tiers[tiers.names[-1]]
        call.customer_id, call.customer_name = caller.customer_id, caller.name
        call.tier, call.language = tier.name, caller.language
        if tier.vip:
            skill, path = ivr.default_skill, "vip"
        else:
            key = await session.get_data(ivr.prompt, ivr.timeout_ms, 1)
            skill, path = ivr.skill_for(key), ivr.path_for(key)
        call.skill, call.ivr_path = skill, path
        arrival = clock.seconds()
        for name, value in (
            (V.TIER, tier.name), (V.SKILL, skill), (V.PRIORITY, tier.rank),
            (V.CUSTOMER_ID, caller.customer_id or ""), (V.LANGUAGE, caller.language),
            (V.IVR_PATH, path), (V.ARRIVAL, f"{arrival:.3f}"),
            (V.MOH_CLASS, "vip" if tier.vip else ""),
        ):
            await session.set_variable(name, value)
        call.arrival = arrival

    return inbound
