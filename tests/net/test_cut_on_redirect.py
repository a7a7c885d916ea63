"""The AMI link cut exactly as ctid sends a Redirect, through a proxy between ctid's real AMI
client and the simulator: the Redirect delivered but its answer lost, or never delivered.

Agent 1001 takes caller X; the link is cut on X's Redirect and stays down about 3.5 s (under
the 5 s after which the wait route calls an offer stale); meanwhile a platinum caller Y starts
waiting and, through its wait AGI, is in line. After the reconnect the resync settles X, which may free the
agent, and the ACD offers Y at once. What must hold: each offer is carried out by exactly one
Redirect (none repeated, none withdrawn and sent again), both callers are served, and no
RINGNOANSWER is written for an offer that never rang (app_queue writes one only for a member
it rang)."""
from __future__ import annotations

from collections import Counter

import pytest
import pytest_twisted
from twisted.internet import reactor

from cti.pbxsim.engine.callers import place_call
from cti.storage.queue_log import parse_line
from tests.e2e.harness import World, sleep
from tests.net.cut_proxy import DELIVER, DROP, CutProxy, listen

OUTAGE = 3.0            # refused reconnects: the AMI client's attempts at 0.5, 1.5, 3.5 s


async def until(condition, timeout: float) -> bool:
    deadline = reactor.seconds() + timeout
    while not condition() and reactor.seconds() < deadline:
        await sleep(0.05)
    return condition()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [DELIVER, DROP])
@pytest_twisted.ensureDeferred
async def test_a_link_cut_on_a_redirect_never_sends_a_redirect_twice(tmp_path, mode):
    world = World(tmp_path, f"sqlite:///{tmp_path}/ctid.sqlite", agents=2)
    proxy = CutProxy("127.0.0.1", world.ami_port.getHost().port, "Redirect", mode,
                     down_for=OUTAGE)
    port = listen(proxy)
    world.config["ami"]["port"] = port.getHost().port
    world.pbx.globals.update(CTI_MOH_SLICE="1")          # Y's wait AGI runs within the outage
    world.config["acd"]["policy"] = "priority"            # a free agent takes Y before X
    try:
        daemon = await world.start_ctid()
        daemon.agents.login("1001")                       # one VIP agent on duty
        proxy.cut()
        x = place_call(world.pbx, world.numbers["silver"][0], "cti-inbound", "10010")
        assert await until(lambda: proxy.cuts, 10), "no Redirect was sent for X"
        y = place_call(world.pbx, world.numbers["platinum"][0], "cti-inbound", "10010")
        world.calls += [x, y]
        served = await until(lambda: x.name in world.answered and y.name in world.answered
                             and x.channel.hung_up and y.channel.hung_up, 30)
        assert daemon.resync.runs >= 2
        assert served, f"not both served:\n{world.describe(x)}\n{world.describe(y)}"
        redirects = Counter(h.get("Channel") for _, name, h in world.actions if name == "Redirect")
        assert redirects == {x.name: 1, y.name: 1}, redirects
        await daemon.outbox.drained()
        events = [parse_line(line).event
                  for line in (tmp_path / "queue_log").read_text().splitlines()]
        assert "RINGNOANSWER" not in events, events
        assert events.count("CONNECT") == 2 and events.count("ENTERQUEUE") == 2, events
    finally:
        await world.close()
        await port.stopListening()
        for link in proxy.links:
            link.transport.loseConnection()
