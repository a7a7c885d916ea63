"""EventListCollector on the real answers of Asterisk 22, and on orders the captures do not show."""
from __future__ import annotations

import pytest

from cti.protocol.ami import AMIParser
from cti.protocol.ami_lists import ActionResult, EventListCollector
from cti.protocol.ami_message import Message
from tests.protocol.conftest import AMI_CAPTURES, load_ami_capture


def stream(name):
    """The messages Asterisk sent in capture ``name`` (banner left out)."""
    parser = AMIParser()
    items = []
    for chunk in load_ami_capture(name).rx:
        items += parser.feed(chunk)
    return [item for item in items if isinstance(item, Message)]


def collect(messages):
    collector = EventListCollector()
    out = []
    for message in messages:
        out += collector.feed(message)
    return collector, out


def results(out):
    found = {}
    for item in out:
        if isinstance(item, ActionResult):
            assert item.action_id not in found
            found[item.action_id] = item
    return found


@pytest.fixture(scope="module")
def actions():
    return collect(stream("ami-actions"))


@pytest.fixture(scope="module")
def pjsip():
    return collect(stream("ami-pjsip-agent"))


@pytest.mark.parametrize("name", AMI_CAPTURES)
def test_every_message_comes_out_once_and_every_list_closes(name):
    messages = stream(name)
    collector, out = collect(messages)
    assert collector.open_lists == ()
    seen = []
    for item in out:
        if isinstance(item, ActionResult):
            assert item.finished
            seen += [item.response, *item.items] + ([item.complete] if item.complete else [])
            if item.is_list:
                assert len(item.items) == item.announced_items
                assert all(e.action_id == item.action_id for e in item.items)
        else:
            assert item.kind == "event"
            seen.append(item)
    assert sorted(map(repr, seen)) == sorted(map(repr, messages))
    answers = sum(m.kind == "response" for m in messages)
    assert sum(isinstance(i, ActionResult) for i in out) == answers


def test_core_show_channels_status_and_queue_status(actions):
    _, out = actions
    found = results(out)

    channels = found["csc-1"]
    assert channels.is_list and channels.ok
    assert [e.name for e in channels.items] == ["CoreShowChannel", "CoreShowChannel"]
    assert channels.complete.name == "CoreShowChannelsComplete"
    assert channels.announced_items == 2

    status = found["status-1"]
    assert [e.name for e in status.items] == ["Status"]
    assert status.complete.name == "StatusComplete"
    assert status.complete["Items"] == "1"

    queue = found["qstatus-1"]
    assert [e.name for e in queue.items] == ["QueueParams", "QueueMember", "QueueMember"]
    assert queue.complete.name == "QueueStatusComplete"
    assert [e.name for e in found["qstatus-2"].items] == ["QueueParams", "QueueMember"]
    assert [e["Queue"] for e in found["qsummary-all"].items] == ["support", "sales"]


def test_command_is_one_plain_response_with_its_output(actions):
    found = results(actions[1])
    command = found["cmd-queue-show"]
    assert not command.is_list and command.items == () and command.complete is None
    assert command.finished and command.ok
    assert len(command.response.getall("Output")) == 7
    assert not found["cmd-bad"].ok


def test_originate_response_comes_first_and_its_event_passes_through(actions):
    _, out = actions
    index = {id(item): i for i, item in enumerate(out)}
    result = results(out)["orig-1"]
    assert result.response["Message"] == "Originate successfully queued"
    [event] = [i for i in out if isinstance(i, Message) and i.name == "OriginateResponse"
               and i.action_id == "orig-1"]
    assert event["Response"] == "Success" and event["Reason"] == "4"
    assert index[id(result)] < index[id(event)]


def test_device_state_list_has_469_items(pjsip):
    collector, out = pjsip
    devices = results(out)["devstatelist-1"]
    assert len(devices.items) == 469 == devices.announced_items
    assert {e.name for e in devices.items} == {"DeviceStateChange"}
    assert devices.complete.name == "DeviceStateListComplete"
    assert [e["Device"] for e in devices.items if e["Device"].startswith("PJSIP/")]


def test_pjsip_lists_and_the_no_contacts_error(pjsip):
    found = results(pjsip[1])
    assert [e["ObjectName"] for e in found["endpoints-before"].items] == ["6001"]
    assert [e.name for e in found["endpoint-6001"].items] == [
        "EndpointDetail", "AuthDetail", "TransportDetail", "AorDetail", "ContactStatusDetail"]
    assert [e.name for e in found["contacts-registered"].items] == ["ContactList"]
    for action_id in ("contacts-before", "contacts-after"):
        error = found[action_id]
        assert not error.ok and not error.is_list and error.finished
        assert error.response["Message"] == "No Contacts found"
    assert found["extstate-before"].response["StatusText"] == "Unavailable"


# -- orders the captures do not show ------------------------------------------------------------

def msg(**headers):
    return Message.of(headers)


def start(action_id):
    return msg(Response="Success", ActionID=action_id, EventList="start", Message="follows")


def item(action_id, n):
    return msg(Event="CoreShowChannel", ActionID=action_id, Channel=f"chan-{n}")


def done(action_id, count):
    return msg(Event="CoreShowChannelsComplete", ActionID=action_id, EventList="Complete",
               ListItems=count)


def test_interleaved_lists_and_free_events():
    newchannel = msg(Event="Newchannel", Channel="PJSIP/6001-1")
    collector, out = collect([
        start("a"), item("a", 1), start("b"), newchannel, item("b", 1), item("a", 2),
        done("b", 1), msg(Response="Success", ActionID="c"), done("a", 2)])
    assert out[0] is newchannel
    b, c, a = out[1:]
    assert (b.action_id, [e["Channel"] for e in b.items]) == ("b", ["chan-1"])
    assert c.action_id == "c" and not c.is_list
    assert [e["Channel"] for e in a.items] == ["chan-1", "chan-2"]
    assert collector.open_lists == ()


def test_lost_connection_hands_back_unfinished_lists():
    collector, out = collect([start("a"), item("a", 1)])
    assert out == [] and collector.open_lists == ("a",)
    [cut] = collector.abandon_all()
    assert cut.is_list and not cut.finished and cut.complete is None and len(cut.items) == 1
    assert collector.open_lists == ()


def test_reused_action_id_closes_the_old_list_unfinished():
    _, out = collect([start("a"), item("a", 1), start("a"), item("a", 2), done("a", 1)])
    old, new = out
    assert not old.finished and [e["Channel"] for e in old.items] == ["chan-1"]
    assert new.finished and [e["Channel"] for e in new.items] == ["chan-2"]


def test_list_start_without_action_id_cannot_collect():
    lonely = msg(Response="Success", EventList="start")
    stray = msg(Event="CoreShowChannel", Channel="x")
    _, out = collect([lonely, stray])
    assert out[0] == ActionResult(lonely) and out[1] is stray


def test_cancelled_list_closes_and_actions_pass_through():
    cancelled = msg(Event="SomethingComplete", ActionID="a", EventList="Cancelled")
    action = msg(Action="Ping", ActionID="p")
    _, out = collect([start("a"), cancelled, action])
    assert out[0].complete is cancelled and out[1] is action
