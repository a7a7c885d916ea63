"""AstDB actions: reply shapes per ``main/db.c`` (no capture holds them) and their effect on
the engine's database, the one the dialplan's ``DB()`` reads and writes."""
from __future__ import annotations

from .ami_helpers import FakePBX
from .test_ami_server_actions import logged_in, reply


def test_put_get_and_their_errors() -> None:
    pbx = FakePBX(None)
    client, _ = logged_in(pbx)
    [ok] = reply(client, "DBPut", Family="cti_answered", Key="cti-1.1", Val="1001:1795360200")
    assert ok.headers == (("Response", "Success"), ("ActionID", "x"),
                          ("Message", "Updated database successfully"))
    start, item, done = reply(client, "DBGet", Family="cti_answered", Key="cti-1.1")
    assert start.headers == (("Response", "Success"), ("ActionID", "x"), ("EventList", "start"),
                             ("Message", "Result will follow"))
    assert item.headers == (("Event", "DBGetResponse"), ("Family", "cti_answered"),
                            ("Key", "cti-1.1"), ("Val", "1001:1795360200"), ("ActionID", "x"))
    assert done.headers == (("Event", "DBGetComplete"), ("ActionID", "x"),
                            ("EventList", "Complete"), ("ListItems", "1"))
    assert reply(client, "DBGet", Family="cti_answered", Key="nope")[0]["Message"] == \
        "Database entry not found"
    assert reply(client, "DBGet", Key="k")[0]["Message"] == "No family specified."
    assert reply(client, "DBPut", Family="f")[0]["Message"] == "No key specified."


def test_tree_lists_full_keys_even_when_empty_and_deltree_empties_it() -> None:
    pbx = FakePBX(None)
    pbx.database.update({("cti_answered", "cti-1.1"): "1001:10", ("cti_answered", "cti-1.2"): "1002:11",
                         ("other", "x"): "y"})
    client, _ = logged_in(pbx)
    start, *items, done = reply(client, "DBGetTree", Family="cti_answered")
    assert start["EventList"] == "start" and start["Message"] == "Result will follow"
    assert [i.headers for i in items] == [
        (("Event", "DBGetTreeResponse"), ("Key", "/cti_answered/cti-1.1"), ("Val", "1001:10"),
         ("ActionID", "x")),
        (("Event", "DBGetTreeResponse"), ("Key", "/cti_answered/cti-1.2"), ("Val", "1002:11"),
         ("ActionID", "x"))]
    assert done.headers == (("Event", "DBGetTreeComplete"), ("ActionID", "x"),
                            ("EventList", "Complete"), ("ListItems", "2"))
    [ok] = reply(client, "DBDelTree", Family="cti_answered")
    assert ok["Response"] == "Success" and ok["Message"] == "Key tree deleted successfully"
    assert pbx.database == {("other", "x"): "y"}
    start, done = reply(client, "DBGetTree", Family="cti_answered")
    assert done["ListItems"] == "0"
    assert reply(client, "DBDelTree", Family="cti_answered")[0]["Message"] == \
        "Database entry not found"
    assert reply(client, "DBDel", Family="other", Key="x")[0]["Message"] == "Key deleted successfully"
    assert reply(client, "DBDel", Family="other", Key="x")[0]["Message"] == \
        "Database entry could not be deleted"
