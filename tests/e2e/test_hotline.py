"""End to end: 300 mixed-tier calls through the simulator and ctid, with caller abandons, agents
who do not answer, an AMI disconnect, a ctid restart and a database outage in the middle.

What must hold afterwards:
* every caller was answered or is recorded as abandoned (in the queue or in the IVR); none is
  left waiting, none lost;
* every call has exactly one contact row; every answered call one recording row and exactly
  one screen-pop, to the agent who answered, received before the answer;
* an answered caller's wait counts from their first arrival, across the restart (their place
  in line was kept);
* no Redirect was sent twice for one offer, and no Originate at all;
* the queue_log file is in Asterisk's format, and says who ended each call ctid saw end
  (COMPLETECALLER for the callers who hung up while talking, COMPLETEAGENT otherwise);
* a recording file was started for answered calls only, one each;
* RINGCANCELED only for callers who gave up while an agent rang.

The run is repeated under several seeds: the simulator interleaves the events of different
channels in a seeded random order (each channel's own order kept, as on Asterisk), so every
seed shows ctid other interleavings, e.g. the caller's Hangup before the agent's.
"""
from __future__ import annotations

import re
from collections import Counter

import pytest
import pytest_twisted
from sqlalchemy import create_engine, text
from twisted.internet import reactor, threads

from cti.storage.queue_log import parse_line
from tests.e2e.harness import World, sleep

CALLS = 300
SEEDS = (11, 23, 42)
RATE = 8.0                     # arrivals per second
QUEUE_LOG_LINE = re.compile(r"^\d+\|[^|\n]*\|[^|\n]*\|[^|\n]*\|[A-Z]+\|.*$")


@pytest.fixture
def database(postgres_cluster):
    admin = create_engine(postgres_cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS hotline_e2e"))
        conn.execute(text("CREATE DATABASE hotline_e2e"))
    admin.dispose()
    return postgres_cluster.url_for("hotline_e2e")


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest_twisted.ensureDeferred
async def test_hotline_survives_disconnect_restart_and_outage(tmp_path, database, postgres_cluster, seed):
    world = World(tmp_path, database, seed=seed)
    try:
        first = await world.start_ctid()
        for agent in first.agents.all():
            first.agents.login(agent.agent_id)
        await run_traffic(world, postgres_cluster)
        daemon = world.daemons[-1]
        # The last Hangups reach ctid a little after the simulator ended the channels (the
        # events are interleaved, then cross the AMI socket): wait until ctid has let go of
        # every call, then until its records are in the database.
        deadline = reactor.seconds() + 10.0
        while daemon.tracker.calls() and reactor.seconds() < deadline:
            await sleep(0.1)
        await daemon.outbox.drained()
        await check(world, daemon, tmp_path)
    finally:
        await world.close()
    import threading
    left = [t.name for t in threading.enumerate() if t.name.startswith("PoolThread-ctid-db")]
    assert not left, f"database thread pools left running: {left}"


async def run_traffic(world: World, cluster) -> None:
    start = reactor.seconds()
    world.t0 = start
    world.events_at = {}
    events = {8.0: "disconnect", 16.0: "restart", 24.0: "outage"}
    done: set[str] = set()
    for n in range(CALLS):
        at = start + n / RATE + world.rng.uniform(-0.4, 0.4) / RATE
        if at > reactor.seconds():
            await sleep(at - reactor.seconds())
        for when, what in events.items():
            if what not in done and reactor.seconds() - start >= when:
                done.add(what)
                world.events_at[what] = reactor.seconds() - start
                await disturb(world, what, cluster)
                world.events_at[what + "-done"] = reactor.seconds() - start
        patience = world.rng.uniform(1.0, 4.0) if world.rng.random() < 0.2 else None
        world.place(patience)
    deadline = reactor.seconds() + 90
    while any(not c.channel.hung_up for c in world.calls) and reactor.seconds() < deadline:
        await sleep(0.25)


async def disturb(world: World, what: str, cluster) -> None:
    if what == "disconnect":
        world.drop_ami()
    elif what == "restart":
        await world.stop_ctid()
        await sleep(0.5)
        await world.start_ctid()
    elif what == "outage":
        await threads.deferToThread(cluster.stop)
        world.outage_backlog = world.daemons[-1].outbox.backlog
        await sleep(3.0)
        world.outage_backlog = max(world.outage_backlog, world.daemons[-1].outbox.backlog)
        await threads.deferToThread(cluster.start)


async def check(world: World, daemon, tmp_path) -> None:
    from cti.storage.repositories.history import list_contacts, recordings_for
    import datetime as dt

    calls = world.calls
    assert len(calls) == CALLS
    assert all(c.channel.hung_up for c in calls), ("a caller is still on the line", [(c.name, c.channel.context, c.channel.exten, c.channel.priority, getattr(c.channel, "app", None), c.channel.variables.get("CTI_CALL_ID"), c.placed_at, c.connected_at) for c in calls if not c.channel.hung_up])
    assert world.outage_backlog > 0, "the outage did not hold back any record"
    assert len(world.daemons) == 2 and world.daemons[1].resync.runs >= 1
    assert world.daemons[0].resync.runs >= 2            # the first start, then the reconnect

    span = (dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc))
    contacts = await daemon.db.run(list_contacts, *span)
    by_uniqueid = {}
    for contact in contacts:
        assert contact.uniqueid not in by_uniqueid, f"two contact rows for {contact.call_id}"
        by_uniqueid[contact.uniqueid] = contact
    answered_calls = [c for c in calls if c.name in world.answered]
    assert len(answered_calls) > CALLS * 0.7
    abandoned = 0
    for call in calls:
        contact = by_uniqueid.get(call.uniqueid)
        assert contact is not None, f"no contact row:\n{world.describe(call)}"
        if call.name in world.answered:
            answer = world.answered[call.name]
            agent_id = world.seat_agent[answer.seat]
            assert contact.disposition == "answered" and contact.agent_number == agent_id, \
                f"{contact.call_id} answered by {agent_id} recorded {contact.disposition} " \
                f"with agent {contact.agent_number}:\n{world.describe(call)}"
            recordings = await daemon.db.run(recordings_for, call_id=contact.call_id)
            assert len(recordings) == 1, f"{contact.call_id}: {len(recordings)} recording rows"
            pops = [p for p in world.pops if p[0] == contact.call_id and p[1] == agent_id]
            assert len(pops) == 1, f"{contact.call_id}: {len(pops)} pops to agent {agent_id}"
            assert pops[0][2] <= answer.at, f"{contact.call_id}: pop after the answer"
            assert answer.arrival > 0, world.describe(call)
            # The wait counts from the first arrival, across the restart (never reset). A call
            # answered while the AMI link was down is known answered only at the resync, so
            # its recorded wait may run long by about the length of that outage.
            waited = answer.at - answer.arrival
            assert contact.wait_seconds is not None and \
                waited - 0.5 <= contact.wait_seconds <= waited + 3.0, \
                f"wait {contact.wait_seconds} vs {waited:.2f}:\n{contact}\n{world.describe(call)}"
        else:
            assert contact.disposition in ("abandoned", "ivr-hangup"), \
                f"{contact.call_id} neither answered nor abandoned: {contact.disposition}"
            if contact.disposition == "ivr-hangup" and call.outcome == "self-service":
                continue            # the IVR ended the call (a cancelled line told so, goodbye)
            assert call.abandoned, f"the caller did not give up, ctid let go:\n{world.describe(call)}"
            abandoned += contact.disposition == "abandoned"
    assert abandoned >= 1, "no caller abandoned in the queue: the abandon path went untested"

    redirects = [h for _, name, h in world.actions if name == "Redirect"]
    ids = Counter(h.get("ActionID") for h in redirects)
    assert all(n == 1 for n in ids.values()), "a Redirect was sent twice"
    offers = sum(d.acd.redirects_sent for d in world.daemons)     # offers carried out
    assert len(redirects) <= offers
    assert not [1 for _, name, _ in world.actions if name == "Originate"]
    rona = [p for p in world.pops if world.agent_seat[p[1]] in world.no_answer_seats]
    assert rona, "the no-answer agents were never offered a call"

    lines = (tmp_path / "queue_log").read_text().splitlines()
    assert lines
    events = Counter()
    for line in lines:
        assert QUEUE_LOG_LINE.match(line), line
        events[parse_line(line).event] += 1
    assert events["ENTERQUEUE"] >= len(answered_calls)
    assert events["CONNECT"] == len(answered_calls)
    assert events["RINGNOANSWER"] >= 1
    assert events["ABANDON"] == abandoned
    check_who_ended(world, answered_calls, lines)
    check_recordings(world, answered_calls, by_uniqueid, daemon)
    parsed = [parse_line(line) for line in lines]
    abandoned_ids = {c.uniqueid for c in calls if c.abandoned}
    assert all(p.callid in abandoned_ids for p in parsed if p.event == "RINGCANCELED")


def check_who_ended(world: World, answered_calls, lines) -> None:
    """Who hung up, as the queue_log says, for every answered call whose end ctid saw live (a
    call that ended while the AMI link was down or ctid restarting is settled by the resync,
    which cannot know who hung up)."""
    blind = [(world.t0 + world.events_at[what] - 0.5, world.t0 + world.events_at[what + "-done"] + 5.0)
             for what in ("disconnect", "restart")]
    completes = {}
    for line in lines:
        parsed = parse_line(line)
        if parsed.event.startswith("COMPLETE"):
            completes[parsed.callid] = parsed.event
    checked = {True: 0, False: 0}
    for call in answered_calls:
        start, end = world.answered[call.name].at, call.ended_at
        if any(not (end < a or start > b) for a, b in blind):
            continue
        want = "COMPLETECALLER" if call.hung_up_talking else "COMPLETEAGENT"
        assert completes.get(call.uniqueid) == want, \
            f"{call.uniqueid}: {completes.get(call.uniqueid)}, hangups " \
            f"{world.hangups.get(call.channel.linkedid)}:\n{world.describe(call)}"
        checked[call.hung_up_talking] += 1
    assert checked[True] >= 10 and checked[False] >= 50, checked
    # the interleaving did its job: some agent-ended calls reached AMI with the caller's end
    # (its CTIAfterCall on the way to the survey) before the agent's Hangup
    caller_first = [c for c in answered_calls if not c.hung_up_talking
                    and (world.hangups.get(c.channel.linkedid) or [None])[0] == c.name]
    assert caller_first, "the caller's end never came before the agent's Hangup"


def check_recordings(world: World, answered_calls, by_uniqueid, daemon) -> None:
    """A recording file only for an answered call, one per call: no orphan file."""
    monitor = "/var/spool/asterisk/monitor"
    want = sorted(f"{monitor}/{by_uniqueid[c.uniqueid].call_id}.wav" for c in answered_calls)
    assert sorted(world.recording_files) == want
