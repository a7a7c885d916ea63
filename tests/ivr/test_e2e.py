"""End to end through the PBX simulator running our dialplan and a real ctid: callers of each
kind walk the shipped flows at the same time, keying digits as the simulator asks for them.

What must hold: each tier's greeting (a VIP by name where the file exists, else by tier), the
bill inquiry said from the port's data, an emergency suspension after a wrong then a right
PIN, a voice message stored, a caller hanging up mid-menu leaving a journey at that node,
invalid digits and timeouts ending with an agent, ``0`` from a deep menu reaching an agent —
and the tracker recording every call as before (contacts, CTI_* variables before cti-wait).
"""
from __future__ import annotations

import dataclasses

import pytest
import pytest_twisted
from sqlalchemy import create_engine, text
from twisted.internet import defer

from cti.ivr.service import SHIPPED_PROMPTS
from cti.ivr.model import parse_catalogue
from cti.pbxsim.engine.callers import place_call
from tests.e2e.harness import World, sleep
from tests.ivr.fakes import ACCOUNT, STANDARD, VIP, FakeCustomers

PROMPTS = parse_catalogue(SHIPPED_PROMPTS.read_text(encoding="utf-8"), "prompts.yaml").texts


def caller(number, **changes):
    base = VIP if changes.get("tier") not in (None, "standard") else STANDARD
    return dataclasses.replace(base, number=number, **changes)


PEOPLE = {
    "bill": caller("13800000101", customer_id="101"),
    "emergency": caller("13800000102", customer_id="102"),
    "message": caller("13800000103", customer_id="103"),
    "hangup": caller("13800000104", customer_id="104"),
    "invalid": caller("13800000105", customer_id="105"),
    "deep-zero": caller("13800000106", customer_id="106"),
    "vip-named": caller("13900000201", customer_id="201", tier="platinum", language="en"),
    "vip-tier": caller("13900000202", customer_id="202", tier="gold", language="zh"),
    "suspended": caller("13800000107", customer_id="107", status="suspended"),
}
# what each caller keys, one digit each time the call waits for one
KEYS = {
    "bill": "1",                  # bill, then nothing at the after-bill menu: goodbye
    "emergency": "21" "1111#" "2468#",
    "message": "3#",              # speaks for 0.8 s, then ends with #
    "hangup": "4",                # into the services menu, then hangs up
    "invalid": "77",              # two invalid keys, then a timeout: the default (an agent)
    "deep-zero": "420",           # services > broadband > 0
    "vip-named": "1",
    "vip-tier": "",
    "suspended": "",              # told, then the default: a billing agent
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    cluster = request.getfixturevalue("postgres_cluster")
    admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS ivr_e2e"))
        conn.execute(text("CREATE DATABASE ivr_e2e"))
    admin.dispose()
    return cluster.url_for("ivr_e2e")


def rows(url, query):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(query))]
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest_twisted.ensureDeferred
async def test_callers_walk_the_shipped_flows_end_to_end(tmp_path, database_url):
    world = World(tmp_path, database_url, agents=6, no_answer_seats=())
    world.pbx.sounds.update({name: 2400 for name in PROMPTS})      # 0.3 s each
    world.pbx.sounds["cti/names/201"] = 4000                         # one VIP's own greeting
    commands: dict[str, list[str]] = {}
    world.pbx.subscribe(lambda m: commands.setdefault(m.get("Channel"), []).append(m["Command"])
                        if m.name == "AGIExecStart" else None)
    customers = FakeCustomers(PEOPLE.values(),
                              {p.number: dataclasses.replace(ACCOUNT, number=p.number)
                               for p in PEOPLE.values()},
                              {PEOPLE["emergency"].number: "2468"})
    try:
        daemon = await world.start_ctid()
        daemon.ivr.use_customers(customers)
        for agent in daemon.agents.all():
            daemon.agents.login(agent.agent_id)
        handles = {who: place_call(world.pbx, person.number, "cti-inbound", "10010",
                                   dtmf=KEYS[who], dtmf_delay=0.8 if who == "message" else 0.2,
                                   patience=4.0 if who == "hangup" else 60.0, talk=0.5)
                   for who, person in PEOPLE.items()}
        await defer.DeferredList([h.ended for h in handles.values()])
        await sleep(1.0)                               # journeys and contacts written
        journeys = {r["caller_number"]: r for r in rows(database_url, "SELECT * FROM ivr_journeys")}
        contacts = {r["caller_number"]: r for r in rows(database_url, "SELECT * FROM contacts")}
        messages = rows(database_url, "SELECT * FROM ivr_voice_messages")
    finally:
        await world.close()

    def said(who):
        return [c for c in commands[handles[who].name] if c.startswith(("STREAM FILE", "GET DATA", "SAY", "RECORD"))]

    def outcome(who):
        j = journeys[PEOPLE[who].number]
        return j["outcome"], j["skill"]

    assert set(journeys) == {p.number for p in PEOPLE.values()}
    # every call is on record as before, with its IVR path
    assert set(contacts) == {p.number for p in PEOPLE.values()}

    # bill inquiry: the port's figures said with Asterisk's say commands
    bill = said("bill")
    assert "SAY NUMBER 123 \"\"" in bill and "SAY NUMBER 88 \"\"" in bill
    assert sum(c.startswith("SAY DATETIME") for c in bill) == 2
    assert outcome("bill") == ("done", None) and journeys[PEOPLE["bill"].number]["self_served"]
    assert contacts[PEOPLE["bill"].number]["ivr_path"] == "standard:1>bill-inquiry=done>t"

    # emergency suspension: a wrong PIN, then the right one; the line suspended once
    assert customers.pins_tried.count("1111") == 1 and customers.pins_tried.count("2468") == 1
    assert [n for n, _ in customers.suspended] == [PEOPLE["emergency"].number]
    assert "STREAM FILE cti/emergency/suspended \"\"" in said("emergency")
    assert outcome("emergency") == ("done", None)

    # voice message: recorded with a beep, stored with the caller
    assert any(c.startswith("RECORD FILE ") and "BEEP" in c for c in said("message"))
    assert [(m["caller_number"], m["customer_id"]) for m in messages] == \
        [(PEOPLE["message"].number, "103")]

    # hang-up mid-menu: the journey ends at the node, the contact is the IVR hang-up it was
    assert (journeys[PEOPLE["hangup"].number]["outcome"],
            journeys[PEOPLE["hangup"].number]["last_node"]) == ("hangup", "services")
    assert contacts[PEOPLE["hangup"].number]["disposition"] in ("ivr-hangup", "abandoned")
    assert handles["hangup"].abandoned

    # invalid keys and a timeout, then the main menu's default: an agent, who answered
    main_prompts = [c for c in said("invalid") if "cti/menu/main" in c or "cti/invalid" in c
                    or "cti/no-input" in c]
    assert [c.split()[2] for c in main_prompts] == [
        "cti/menu/main", "cti/invalid", "cti/menu/main", "cti/invalid", "cti/menu/main",
        "cti/no-input"]
    assert outcome("invalid") == ("agent", "general")
    assert handles["invalid"].connected_at is not None

    # 0 from two menus down reaches an agent
    assert outcome("deep-zero") == ("agent", "general")
    assert journeys[PEOPLE["deep-zero"].number]["path"] == "standard:4>2>0"
    assert handles["deep-zero"].connected_at is not None

    # VIPs: by name where the PBX has the file, else by tier; then their dedicated agents
    assert said("vip-named")[0] == "STREAM FILE cti/names/201 \"\""
    assert "cti/vip/platinum" not in " ".join(said("vip-named"))
    assert [c.split()[2] for c in said("vip-tier")[:2]] == ["cti/names/202", "cti/vip/gold"]
    assert outcome("vip-named")[0] == outcome("vip-tier")[0] == "agent"
    assert contacts[PEOPLE["vip-tier"].number]["tier"] == "gold"

    # a suspended line is told so first
    assert said("suspended")[0].split()[2] == "cti/status/suspended"
    assert outcome("suspended") == ("agent", "billing")
