"""How a variable that is set nowhere reads over AMI, with the real engine behind the server.

``manager.c``: ``Status`` with ``Variables:`` formats ``pbx_retrieve_variable``'s result with
``%s``, so a variable set neither on the channel nor globally prints ``(null)``; a function is
read into a buffer (empty when it fails); a variable set to the empty string is empty.
``Getvar`` prints ``S_OR(value, "")``: an empty ``Value:`` (as ``getvar-unset`` in the
``ami-actions`` capture shows). ctid's resynchronisation reads ``CTI_*`` variables through
``Status``, so the simulator must hand it the same ``(null)`` Asterisk does.
"""
from __future__ import annotations

from twisted.internet.task import Clock

from cti.pbxsim.dialplan import Dialplan
from cti.pbxsim.engine.callers import place_call
from cti.pbxsim.engine.pbx import PBX

from .ami_helpers import Client, make_factory

DIALPLAN = """
[globals]
SITE = north

[in]
exten => 100,1,Answer()
 same => n,Set(CTI_TIER=gold)
 same => n,Set(CTI_EMPTY=)
 same => n,MusicOnHold(default,60)
"""


def _status_and_getvar():
    clock = Clock()
    clock.advance(1795360160.0)
    pbx = PBX(Dialplan.from_text(DIALPLAN), reactor=clock)
    factory, _ = make_factory(pbx=pbx, clock=clock)
    handle = place_call(pbx, "13800000001", "in", "100")
    clock.advance(1)
    client = Client(factory)
    client.login(Events="off")
    client.read()
    client.action("Status", ActionID="s", Channel=handle.name,
                  Variables="CTI_CALL_ID,CTI_TIER,CTI_EMPTY,SITE,CALLERID(num)")
    _, item, _ = client.read()
    client.action("Getvar", ActionID="g", Channel=handle.name, Variable="CTI_CALL_ID")
    [getvar] = client.read()
    return item, getvar


def test_status_prints_null_for_a_variable_set_nowhere() -> None:
    item, _ = _status_and_getvar()
    assert item.getall("Variable") == ["CTI_CALL_ID=(null)", "CTI_TIER=gold", "CTI_EMPTY=",
                                       "SITE=north", "CALLERID(num)=13800000001"]


def test_getvar_prints_an_empty_value_for_the_same_variable() -> None:
    _, getvar = _status_and_getvar()
    assert getvar.headers == (("Response", "Success"), ("ActionID", "g"),
                              ("Variable", "CTI_CALL_ID"), ("Value", ""))
