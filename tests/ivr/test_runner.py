"""The interpreter against a scripted Asterisk channel: what the caller hears and keys, what is
said with Asterisk's say commands, what the customer port is asked, and the steps kept."""
import dataclasses
import datetime as dt
import textwrap
from zoneinfo import ZoneInfo

import pytest

from cti.ivr import model
from cti.ivr.journey import compact_path
from cti.ivr.runner import FlowRunner, RunnerSettings
from cti.ivr.service import FlowBook
from tests.ivr.fakes import (ACCOUNT, HANGUP, NUMBER, STANDARD, VIP, FakeCustomers,
                             ScriptedChannel, call_for)

SETTINGS = RunnerSettings(agent_key="0", agent_skill="general", default_skill="general",
                          tier_skills={"platinum": "vip-platinum"}, timeout_ms=3000,
                          voice_dir="/var/spool/asterisk/ctid-messages")


@pytest.fixture(scope="module")
def book():
    book = FlowBook(flows_dir=None, tier_names=["platinum", "standard"], vip_tiers=["platinum"],
                    chosen={})
    book.load()
    return book


def walk(book, profile, keys, *, customers=None, flow=None, **channel_kw):
    channel = ScriptedChannel(keys, **channel_kw)
    customers = customers or FakeCustomers([profile], {NUMBER: ACCOUNT}, {NUMBER: "2468"})
    journeys, messages = [], []
    runner = FlowRunner(book.get, customers, SETTINGS, channel.clock,
                        on_journey=lambda *a: journeys.append(a), voice_messages=messages.append)
    result = channel.run(runner.run(channel.session, flow or book.flow_for_tier(profile.tier),
                                    call_for(profile), profile))
    return result, channel, customers, journeys, messages


def test_bill_inquiry_says_balance_last_bill_with_due_date_and_last_payment(book):
    result, channel, _, journeys, _ = walk(book, STANDARD, ["1", ""])
    assert channel.commands[0] == ("SET", "VARIABLE", "CHANNEL(language)", "zh")
    noon = lambda d: str(int(dt.datetime(d.year, d.month, d.day, 12,
                                         tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()))
    assert channel.said() == [
        ("NUMBER", "123", ""), ("NUMBER", "4", ""), ("NUMBER", "5", ""),       # 123元4角5分
        ("NUMBER", "88", ""), ("NUMBER", "5", ""),                             # 88元5角
        ("DATETIME", noon(dt.date(2026, 12, 20)), "", "YBd", "Asia/Shanghai"),
        ("NUMBER", "100", ""),
        ("DATETIME", noon(dt.date(2026, 11, 3)), "", "YBd", "Asia/Shanghai"),
    ]
    assert channel.played()[:4] == ["cti/welcome", "cti/bill/balance", "cti/yuan", "cti/jiao"]
    assert channel.prompts()[-2:] == ["cti/bill/after", "cti/goodbye"]
    assert (result.outcome, result.skill, result.self_served) == ("done", None, True)
    assert result.results == {"bill-inquiry": "done"}
    assert compact_path(result.steps, result.flow) == "standard:1>bill-inquiry=done>t"
    assert journeys and journeys[0][2] is result


def test_owing_is_said_as_what_is_owed(book):
    owing = dataclasses.replace(ACCOUNT, balance_fen=-2050, last_bill=None, last_payment=None)
    _, channel, *_ = walk(book, STANDARD, ["1", ""],
                          customers=FakeCustomers([STANDARD], {NUMBER: owing}))
    assert "cti/bill/owing" in channel.played() and "cti/bill/balance" not in channel.played()
    assert channel.said() == [("NUMBER", "20", ""), ("NUMBER", "5", "")]


def test_timeouts_and_invalid_keys_are_retried_with_their_prompts_then_the_default(book):
    result, channel, *_ = walk(book, STANDARD, ["", "7", ""])
    assert channel.prompts() == ["cti/welcome", "cti/menu/main", "cti/no-input", "cti/menu/main",
                                 "cti/invalid", "cti/menu/main", "cti/no-input", "cti/transfer"]
    assert [s.get("event") for s in result.steps if s.get("node") == "main"] == \
        ["timeout", "invalid", "timeout", "default"]
    assert (result.outcome, result.skill) == ("agent", "general")


def test_the_agent_key_reaches_an_agent_from_a_deep_menu(book):
    result, channel, *_ = walk(book, STANDARD, ["4", "2", "0"])
    assert channel.prompts()[-1] == "cti/menu/broadband"
    assert (result.outcome, result.skill, result.last_node) == ("agent", "general", "broadband")
    assert compact_path(result.steps) == "4>2>0"


def test_emergency_suspension_with_a_wrong_then_a_right_pin(book):
    result, channel, customers, *_ = walk(book, STANDARD, ["2", "1", "1111", "2468"])
    assert customers.pins_tried == ["1111", "2468"]
    assert channel.prompts().count("cti/emergency/enter-pin") == 2
    assert channel.played().count("cti/emergency/wrong-pin") == 1
    assert customers.suspended == [(NUMBER, {"reason": "lost-phone", "source": "ivr",
                                             "call_id": "cti-1800000000.1"})]
    assert "cti/emergency/suspended" in channel.played()
    assert result.outcome == "done" and result.results["suspend-line"] == "done"
    assert result.results["pin"] == "verified" and result.self_served
    assert "1111" not in repr(result.steps) and "2468" not in repr(result.steps)


def test_three_wrong_pins_go_to_an_agent_and_nothing_is_suspended(book):
    result, _, customers, *_ = walk(book, STANDARD, ["2", "1", "1", "2", "3"])
    assert customers.suspended == [] and len(customers.pins_tried) == 3
    assert (result.outcome, result.skill) == ("agent", "service")
    assert result.results["suspend-line"] == "pin-failed" and not result.self_served


def test_a_voice_message_is_recorded_with_a_beep_and_stored(book):
    result, channel, _, _, messages = walk(book, STANDARD, ["3"])
    record = [c for c in channel.commands if c[:2] == ("RECORD", "FILE")]
    assert record == [("RECORD", "FILE", "/var/spool/asterisk/ctid-messages/cti-1800000000.1",
                       "wav", "#", "120000", "0", "BEEP", "s=5")]
    assert len(messages) == 1
    message = messages[0]
    assert (message.call_id, message.caller_number, message.customer_id, message.duration) == \
        ("cti-1800000000.1", NUMBER, "42", 4.0)
    assert channel.played()[-2:] == ["cti/complaint/thanks", "cti/goodbye"]
    assert result.outcome == "done"


def test_a_caller_who_hangs_up_after_speaking_leaves_the_message(book):
    result, _, _, _, messages = walk(book, STANDARD, ["3"], recorded=HANGUP)
    assert len(messages) == 1 and messages[0].duration == 6.0
    assert result.outcome == "hangup" and result.self_served


def test_a_caller_hanging_up_mid_menu_leaves_a_journey_with_the_node(book):
    result, _, _, journeys, _ = walk(book, STANDARD, ["4", HANGUP])
    assert (result.outcome, result.last_node) == ("hangup", "services")
    assert result.steps[-1]["event"] == "hangup" and journeys[0][2].last_node == "services"
    assert compact_path(result.steps) == "4>hangup@services"


def test_a_vip_is_greeted_by_name_in_english_then_reaches_the_tiers_dedicated_agents(book):
    result, channel, *_ = walk(book, VIP, ["1"], name_prompts={"cti/names/7"})
    assert channel.commands[0] == ("SET", "VARIABLE", "CHANNEL(language)", "en")
    assert channel.prompts() == ["cti/names/7", "cti/vip/menu"]
    assert (result.outcome, result.skill) == ("agent", "vip-platinum")


def test_a_vip_without_a_recorded_name_hears_the_tiers_greeting(book):
    result, channel, *_ = walk(book, VIP, [""])
    assert channel.prompts() == ["cti/names/7", "cti/vip/platinum", "cti/vip/menu"]
    assert result.results["greet-by-name"] == "tier"
    assert (result.outcome, result.skill) == ("agent", "vip-platinum")   # no key: dedicated


def test_a_suspended_line_is_told_so_and_offered_its_bill(book):
    suspended = dataclasses.replace(STANDARD, status="suspended")
    result, channel, *_ = walk(book, suspended, ["1", ""],
                               customers=FakeCustomers([suspended], {NUMBER: ACCOUNT}))
    assert channel.prompts()[0] == "cti/status/suspended"
    assert "cti/welcome" not in channel.prompts() and result.results["bill-inquiry"] == "done"


def test_an_unknown_caller_asking_for_a_bill_goes_to_a_billing_agent(book):
    unknown = dataclasses.replace(STANDARD, known=False, customer_id=None, status=None)
    result, channel, *_ = walk(book, unknown, ["1"], customers=FakeCustomers([unknown]))
    assert "cti/bill/no-account" in channel.played()
    assert (result.outcome, result.skill) == ("agent", "billing")


def test_collect_validates_retries_and_say_reads_what_was_collected():
    catalogue = model.parse_catalogue(
        "prompts:\n  p/ask: {zh: 请输入}\n  p/bad: {en: wrong}\n  p/ok: {en: ok}\n", "p.yaml")
    flow = model.parse_flow(textwrap.dedent("""\
        start: ask
        nodes:
          ask: {kind: collect, prompt: p/ask, store: account, min_length: 4, max_length: 6,
                pattern: "[1-9][0-9]*", tries: 3, invalid_prompt: p/bad, next: read, default: agent}
          read: {kind: say, as: digits, value: results.account, prompt: p/ok, next: bye}
          agent: {kind: transfer, skill: billing}
          bye: {kind: hangup}
        """), "t.yaml", "t", catalogue)
    channel = ScriptedChannel(["12", "01234", "98765"])
    runner = FlowRunner({"t": flow}.get, FakeCustomers([STANDARD]), SETTINGS, channel.clock)
    result = channel.run(runner.run(channel.session, "t", call_for(STANDARD), STANDARD))
    gets = [c for c in channel.commands if c[:2] == ("GET", "DATA")]
    assert gets == [("GET", "DATA", "p/ask", "3000", "6")] * 3
    assert channel.played() == ["p/bad", "p/bad", "p/ok"]
    assert channel.said() == [("DIGITS", "98765", "")]
    assert result.results == {"account": "98765"} and result.outcome == "done"


def test_a_calls_steps_are_kept_for_its_screen_pop(book):
    channel = ScriptedChannel(["4", "2", "0"])
    runner = FlowRunner(book.get, FakeCustomers([STANDARD]), SETTINGS, channel.clock)
    call = call_for(STANDARD)
    channel.run(runner.run(channel.session, "standard", call, STANDARD))
    steps = runner.steps_of(call.call_id)
    assert [(s["node"], s.get("key")) for s in steps if s.get("kind") == "menu"] == \
        [("main", "4"), ("services", "2"), ("broadband", "0")]
    assert runner.steps_of("another-call") == []


def test_the_screen_pop_carries_the_ivr_steps(book):
    from cti.domain.tiers import TierTable
    from cti.services.agents import Agent
    from cti.services.screenpop import ScreenPop
    from tests.services.test_screenpop import Hub

    channel = ScriptedChannel(["1", "0"])
    runner = FlowRunner(book.get, FakeCustomers([STANDARD], {NUMBER: ACCOUNT}), SETTINGS,
                        channel.clock)
    call = call_for(STANDARD)
    channel.run(runner.run(channel.session, "standard", call, STANDARD))
    hub = Hub()
    pop = ScreenPop(hub, TierTable.from_config(), channel.clock.seconds)
    pop.ivr_steps = runner.steps_of
    pop.offer_made(call, Agent("1001", "A", "PJSIP/6001"))
    steps = hub.frames[0][2]["ivr_steps"]
    assert [(s["node"], s.get("key") or s.get("outcome")) for s in steps[2:4]] == \
        [("main", "1"), ("bill", "done")]
    assert steps[-1]["event"] == "agent-key"


def test_an_empty_message_is_not_stored_and_a_second_try_gets_its_own_file(book):
    result, channel, _, _, messages = walk(book, STANDARD, ["3", "3"], recorded=0.2)
    files = [c[2] for c in channel.commands if c[:2] == ("RECORD", "FILE")]
    assert files == ["/var/spool/asterisk/ctid-messages/cti-1800000000.1",
                     "/var/spool/asterisk/ctid-messages/cti-1800000000.1-2"]
    assert messages == [] and result.results["voice-message"] == "empty"
    assert (result.outcome, result.skill) == ("agent", "general")     # then nothing keyed


def test_an_agent_sends_a_caller_to_verify_their_pin_wrong_then_right(book):
    result, channel, customers, *_ = walk(book, STANDARD, ["1111", "2468"], flow="verify-pin")
    assert customers.pins_tried == ["1111", "2468"] and customers.suspended == []
    assert channel.played().count("cti/emergency/wrong-pin") == 1
    assert channel.played()[-1] == "cti/verify/verified"
    assert (result.outcome, result.results["pin"]) == ("done", "verified")
    assert "1111" not in repr(result.steps) and "2468" not in repr(result.steps)


def test_three_wrong_pins_in_the_verify_flow_go_back_to_the_agent_unverified(book):
    result, channel, customers, *_ = walk(book, STANDARD, ["1", "2", "3"], flow="verify-pin")
    assert len(customers.pins_tried) == 3
    assert channel.played()[-1] == "cti/verify/back"
    assert (result.outcome, result.results["pin"]) == ("done", "failed")
    assert result.results["verify-pin"] == "pin-failed"
