"""The ``inbound`` route: the call is known to the tracker from the first moment, the tier's flow
runs, and the caller leaves for ``cti-wait`` with the ``CTI_*`` variables ctid rebuilds its
queue from after a restart — or is hung up after a flow that ended in the IVR."""

from twisted.internet import defer

from cti.domain.routing.config import RoutingConfig
from cti.ivr import route
from cti.ivr.runner import FlowRunner
from cti.ivr.service import FlowBook
from cti.services.calls import CallTracker
from tests.ivr.fakes import ACCOUNT, HANGUP, NUMBER, STANDARD, FakeCustomers, ScriptedChannel
from tests.ivr.test_runner import SETTINGS

TIERS = RoutingConfig.from_mapping({}).tiers


def inbound(keys, profile=STANDARD, **channel_kw):
    channel = ScriptedChannel(keys, **channel_kw)
    channel.session.env.update(agi_arg_1="cti-1800000000.1", agi_arg_2="10010",
                               agi_callerid=profile.number)
    book = FlowBook(flows_dir=None, tier_names=TIERS.names,
                    vip_tiers=[t for t in TIERS.names if TIERS[t].vip], chosen={})
    book.load()
    tracker = CallTracker(channel.clock.seconds)
    runner = FlowRunner(book.get, FakeCustomers([profile], {NUMBER: ACCOUNT}), SETTINGS,
                        channel.clock)
    handler = route.make_route(tracker=tracker, runner=runner, book=book, tiers=TIERS,
                               clock=channel.clock, default_skill="general")
    channel.run(defer.ensureDeferred(handler(channel.session)))
    return channel, tracker.get("cti-1800000000.1")


def test_a_caller_for_an_agent_leaves_with_the_cti_variables():
    channel, call = inbound(["4", "1"])
    assert call is not None and call.skill == "service" and call.ivr_path == "standard:4>1"
    assert {k: v for k, v in channel.variables.items() if k.startswith("CTI_")} == {
        "CTI_TIER": "standard", "CTI_SKILL": "service", "CTI_PRIORITY": str(TIERS["standard"].rank),
        "CTI_CUSTOMER_ID": "42", "CTI_LANG": "zh", "CTI_IVR_PATH": "standard:4>1",
        "CTI_ARRIVAL": f"{call.arrival:.3f}", "CTI_MOH_CLASS": ""}
    assert not any(c[0] == "HANGUP" for c in channel.commands)


def test_a_flow_finished_in_the_ivr_hangs_the_channel_up_and_sets_no_queue_variables():
    channel, call = inbound(["1", ""])
    assert channel.commands[-1] == ("HANGUP",)
    assert "CTI_SKILL" not in channel.variables and call.ivr_path == "standard:1>bill-inquiry=done>t"


def test_a_caller_who_hangs_up_in_the_ivr_stays_with_the_tracker_for_its_hangup_event():
    channel, call = inbound(["4", HANGUP])
    assert call is not None and call.ivr_path == "standard:4>hangup@services"
    assert "CTI_SKILL" not in channel.variables
