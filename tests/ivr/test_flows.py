"""Flows as data: the shipped flows load, and each kind of fault is refused with its file and line."""
import textwrap

import pytest

from cti.ivr import model
from cti.ivr.service import SHIPPED_PROMPTS, FlowBook

CATALOGUE = model.parse_catalogue(SHIPPED_PROMPTS.read_text(encoding="utf-8"), "prompts.yaml")
TIERS = ["platinum", "gold", "standard"]
VIP = ["platinum", "gold"]

GOOD = """\
start: main
nodes:
  main:
    kind: menu
    prompt: cti/menu/main
    keys: {"1": bill, "2": agent}
    default: agent
  bill: {kind: action, action: bill-inquiry, next: bye}
  agent: {kind: transfer, skill: billing}
  bye: {kind: hangup, prompt: cti/goodbye}
"""


def parse(text, agent_key="0"):
    return model.parse_flow(textwrap.dedent(text), "flows/test.yaml", "test", CATALOGUE,
                            agent_key=agent_key)


def refused(text, **kw):
    with pytest.raises(model.FlowErrors) as caught:
        parse(text, **kw)
    return caught.value.errors


def test_the_shipped_flows_and_catalogue_load_and_each_tier_gets_its_flow():
    book = FlowBook(flows_dir=None, tier_names=TIERS, vip_tiers=VIP, chosen={})
    summary = book.load()
    assert set(summary["flows"]) == {"standard", "vip", "verify-pin"}
    assert summary["tiers"] == {"platinum": "vip", "gold": "vip", "standard": "standard"}
    assert book.get("standard").start == "line-status"


def test_every_prompt_of_the_catalogue_has_chinese_and_english():
    assert CATALOGUE.texts
    assert all(texts.get("zh") and texts.get("en") for texts in CATALOGUE.texts.values())


def test_a_good_flow_parses_into_nodes():
    flow = parse(GOOD)
    assert flow.start == "main" and flow.node("main").get("keys") == {"1": "bill", "2": "agent"}
    assert flow.node("bill").successors() == ["bye"]


@pytest.mark.parametrize("text, line, words", [
    (GOOD.replace("next: bye}", "next: goodbye}"), 8, "'goodbye', which is no node"),
    (GOOD + "  lost: {kind: hangup}\n", 11, "'lost' is unreachable"),
    (GOOD.replace('keys: {"1": bill, "2": agent}', 'keys: {"1": bill, "1": agent}'), 6,
     "'1' mapped twice"),
    (GOOD.replace('keys: {"1": bill, "2": agent}', 'keys: {"1": bill, "0": agent}'), 6,
     "'0' mapped twice: it is already the agent key"),
    (GOOD.replace("cti/goodbye", "cti/nowhere"), 10, "'cti/nowhere' is provided by no language"),
    (GOOD.replace("kind: transfer", "kind: teleport"), 9, "kind 'teleport' is not one of"),
    (GOOD.replace("skill: billing", "skil: billing"), 9, "unknown field 'skil'"),
    (GOOD.replace("kind: menu", "kind: menu\n    tries: three"), 5, "'tries' must be a whole number"),
    (GOOD.replace("action: bill-inquiry", "action: pay-for-me"), 8, "action 'pay-for-me' is not"),
    (GOOD.replace("bill-inquiry, next: bye}", "voice-message, max_seconds: 900,\n         next: bye}"),
     8, "'max_seconds' must be at most 300"),
    (GOOD.replace("next: bye}", "next: bye, outcomes: {paid: bye}}"), 8, "has no outcome 'paid'"),
    (GOOD.replace("    default: agent\n", ""), 3, "a menu node needs 'default'"),
    (GOOD.replace("start: main", "start: nowhere"), 1, "'start:' must name a node"),
    ("start: main\nnodes:\n  main: {kind: menu, prompt: cti/menu/main, keys: [1, 2]}\n", 3,
     "'keys' must be a mapping"),
    ("start: a\nnodes:\n  a: {kind: play, prompt: cti/welcome\n", 4, "not valid YAML"),
])
def test_each_fault_is_named_with_its_line(text, line, words):
    errors = refused(text)
    assert any(e.line == line and words in e.message for e in errors), \
        [str(e) for e in errors]
    assert all(str(e).startswith("flows/test.yaml:") for e in errors)


def test_a_loop_with_no_exit_is_refused_at_each_node_of_it():
    text = """\
    start: main
    nodes:
      main:
        kind: menu
        prompt: cti/menu/main
        keys: {"1": info, "2": agent}
        default: agent
      info: {kind: play, prompt: cti/welcome, next: more}
      more: {kind: play, prompt: cti/goodbye, next: info}
      agent: {kind: transfer, skill: general}
    """
    errors = refused(text)
    assert {(e.line, e.message.split("'")[1]) for e in errors
            if "loop with no exit" in e.message} == {(8, "info"), (9, "more")}


def test_a_menu_that_loops_back_with_a_way_out_is_fine():
    text = GOOD.replace('keys: {"1": bill, "2": agent}', 'keys: {"1": bill, "2": agent, "9": main}')
    assert parse(text).node("main").get("keys")["9"] == "main"


def test_with_the_agent_key_off_0_may_be_mapped():
    text = GOOD.replace('"2": agent', '"0": agent')
    assert parse(text, agent_key="").node("main").get("keys")["0"] == "agent"


def test_a_catalogue_prompt_with_no_text_in_any_language_does_not_provide_it():
    catalogue = model.parse_catalogue("prompts:\n  cti/a: {zh: '', en: ''}\n  cti/b: {en: hi}\n",
                                      "p.yaml")
    assert not catalogue.provides("cti/a") and catalogue.provides("cti/b")
    with pytest.raises(model.FlowErrors) as caught:
        model.parse_catalogue("prompts:\n  cti/a: {zh: 你好, fr: salut}\n", "p.yaml")
    assert str(caught.value).startswith("p.yaml:2:") and "'fr'" in str(caught.value)


def test_an_operator_directory_replaces_a_shipped_flow_and_adds_prompts(tmp_path):
    (tmp_path / "prompts.yaml").write_text("prompts:\n  acme/hello: {zh: 您好, en: Hello}\n",
                                           encoding="utf-8")
    (tmp_path / "standard.yaml").write_text(
        "start: hi\nnodes:\n  hi: {kind: play, prompt: acme/hello, next: agent}\n"
        "  agent: {kind: transfer, skill: general}\n", encoding="utf-8")
    book = FlowBook(flows_dir=tmp_path, tier_names=TIERS, vip_tiers=VIP, chosen={})
    book.load()
    assert book.get("standard").start == "hi" and book.get("vip").start == "greet"


def test_a_bad_reload_keeps_the_flows_in_force_and_names_file_and_line(tmp_path):
    (tmp_path / "extra.yaml").write_text(GOOD, encoding="utf-8")
    book = FlowBook(flows_dir=tmp_path, tier_names=TIERS, vip_tiers=VIP,
                    chosen={"gold": "extra"})
    book.load()
    before = book.get("extra")
    (tmp_path / "extra.yaml").write_text(GOOD.replace("next: bye}", "next: nope}"),
                                         encoding="utf-8")
    with pytest.raises(model.FlowErrors) as caught:
        book.reload()
    assert str(caught.value).startswith(f"{tmp_path / 'extra.yaml'}:8:")
    assert book.get("extra") is before and book.flow_for_tier("gold") == "extra"
    (tmp_path / "extra.yaml").write_text(GOOD.replace("skill: billing", "skill: service"),
                                         encoding="utf-8")
    book.reload()
    assert book.get("extra").node("agent").get("skill") == "service"


def test_a_tier_sent_to_a_flow_that_does_not_exist_is_refused():
    book = FlowBook(flows_dir=None, tier_names=TIERS, vip_tiers=VIP, chosen={"gold": "golden"})
    with pytest.raises(ValueError, match="'golden', which is not loaded"):
        book.load()
