"""AMI event builders: every header Asterisk 22 sends, in the order it sends them.

Each function returns a :class:`~cti.protocol.ami_message.Message`. The channel snapshot
(``Channel`` … ``Linkedid``) is the block Asterisk prefixes to every channel event; events
about two channels repeat it with a prefix (``Dest``, ``LocalOne``, ``LocalTwo``).
"""
from __future__ import annotations

from typing import Iterable

from cti.protocol.ami_message import Message

from .channel import UNKNOWN, Channel

CALL = "call,all"
DIALPLAN = "dialplan,all"
AGI = "agi,all"
CDR = "cdr,all"
USER = "user,all"

CAUSE_TEXT = {
    0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing",
    17: "User busy", 18: "No user responding", 19: "User alerting, no answer",
    21: "Call Rejected", 34: "Circuit/channel congestion", 127: "Interworking, unspecified",
}


def channel_headers(chan: Channel, prefix: str = "") -> list[tuple[str, str]]:
    return [
        (f"{prefix}Channel", chan.name),
        (f"{prefix}ChannelState", str(int(chan.state))),
        (f"{prefix}ChannelStateDesc", chan.state.desc),
        (f"{prefix}CallerIDNum", chan.caller.num_text),
        (f"{prefix}CallerIDName", chan.caller.name_text),
        (f"{prefix}ConnectedLineNum", chan.connected.num_text),
        (f"{prefix}ConnectedLineName", chan.connected.name_text),
        (f"{prefix}Language", chan.language),
        (f"{prefix}AccountCode", chan.accountcode),
        (f"{prefix}Context", chan.context),
        (f"{prefix}Exten", chan.exten),
        (f"{prefix}Priority", str(chan.priority)),
        (f"{prefix}Uniqueid", chan.uniqueid),
        (f"{prefix}Linkedid", chan.linkedid),
    ]


def _event(name: str, privilege: str, *parts: Iterable[tuple[str, str]]) -> Message:
    headers: list[tuple[str, str]] = [("Event", name), ("Privilege", privilege)]
    for part in parts:
        headers.extend(part)
    return Message.of(headers)


def channel_event(name: str, chan: Channel, extra: Iterable[tuple[str, str]] = (),
                  privilege: str = CALL) -> Message:
    return _event(name, privilege, channel_headers(chan), extra)


def newchannel(chan: Channel) -> Message:
    return channel_event("Newchannel", chan)


def newstate(chan: Channel) -> Message:
    return channel_event("Newstate", chan)


def newcallerid(chan: Channel) -> Message:
    return channel_event("NewCallerid", chan, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")])


def newconnectedline(chan: Channel) -> Message:
    return channel_event("NewConnectedLine", chan)


def newexten(chan: Channel, app: str, data: str) -> Message:
    return channel_event("Newexten", chan, [("Extension", chan.exten), ("Application", app),
                                            ("AppData", data)], DIALPLAN)


def varset(chan: Channel, variable: str, value: str) -> Message:
    return channel_event("VarSet", chan, [("Variable", variable), ("Value", value)], DIALPLAN)


def global_varset(variable: str, value: str) -> Message:
    return _event("VarSet", DIALPLAN, [("Variable", variable), ("Value", value)])


def hangup_request(chan: Channel, cause: int) -> Message:
    return channel_event("HangupRequest", chan, [("Cause", str(cause))])


def soft_hangup_request(chan: Channel, cause: int) -> Message:
    return channel_event("SoftHangupRequest", chan, [("Cause", str(cause))])


def hangup(chan: Channel, cause: int) -> Message:
    return channel_event("Hangup", chan, [("Cause", str(cause)),
                                          ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))])


def local_bridge(one: Channel, two: Channel, context: str, exten: str) -> Message:
    return _event("LocalBridge", CALL, channel_headers(one, "LocalOne"), channel_headers(two, "LocalTwo"),
                  [("Context", context), ("Exten", exten), ("LocalOptimization", "Yes")])


def dial_begin(caller: Channel | None, dest: Channel, dialstring: str) -> Message:
    return _event("DialBegin", CALL, channel_headers(caller) if caller else [],
                  channel_headers(dest, "Dest"), [("DialString", dialstring)])


def dial_state(caller: Channel | None, dest: Channel, status: str) -> Message:
    return _event("DialState", CALL, channel_headers(caller) if caller else [],
                  channel_headers(dest, "Dest"), [("DialStatus", status)])


def dial_end(caller: Channel | None, dest: Channel, status: str) -> Message:
    return _event("DialEnd", CALL, channel_headers(caller) if caller else [],
                  channel_headers(dest, "Dest"), [("DialStatus", status)])


def bridge_headers(bridge) -> list[tuple[str, str]]:
    return [("BridgeUniqueid", bridge.uniqueid), ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", UNKNOWN),
            ("BridgeName", UNKNOWN), ("BridgeNumChannels", str(len(bridge.channels))),
            ("BridgeVideoSourceMode", "none")]


def bridge_event(name: str, bridge, chan: Channel | None = None) -> Message:
    return _event(name, CALL, bridge_headers(bridge), channel_headers(chan) if chan else [])


def moh_start(chan: Channel, klass: str) -> Message:
    return channel_event("MusicOnHoldStart", chan, [("Class", klass)])


def moh_stop(chan: Channel) -> Message:
    return channel_event("MusicOnHoldStop", chan)


def dtmf(name: str, chan: Channel, digit: str, direction: str, duration_ms: int | None = None) -> Message:
    extra = [("Digit", digit)]
    if duration_ms is not None:
        extra.append(("DurationMs", str(duration_ms)))
    extra.append(("Direction", direction))
    return channel_event(name, chan, extra)


def agi_exec_start(chan: Channel, command_id: int, command: str) -> Message:
    return channel_event("AGIExecStart", chan, [("CommandId", str(command_id)), ("Command", command)], AGI)


def agi_exec_end(chan: Channel, command_id: int, command: str, code: int, result: str) -> Message:
    return channel_event("AGIExecEnd", chan, [("CommandId", str(command_id)), ("Command", command),
                                              ("ResultCode", str(code)), ("Result", result)], AGI)


def mixmonitor(name: str, chan: Channel) -> Message:
    return channel_event(name, chan)


def user_event(chan: Channel, user_event_name: str, fields: Iterable[tuple[str, str]]) -> Message:
    return channel_event("UserEvent", chan, [("UserEvent", user_event_name), *fields], USER)


def originate_response(action_id: str | None, success: bool, channel: str, context: str | None,
                       exten: str | None, reason: int, chan: Channel | None,
                       application: str | None = None, data: str | None = None) -> Message:
    headers: list[tuple[str, str]] = []
    if action_id is not None:
        headers.append(("ActionID", action_id))
    headers += [("Response", "Success" if success else "Failure"), ("Channel", channel)]
    if application is not None:
        headers += [("Application", application), ("Data", data or "")]
    else:
        headers += [("Context", context or ""), ("Exten", exten or "")]
    headers.append(("Reason", str(reason)))
    if success and chan is not None:
        headers += [("Uniqueid", chan.uniqueid), ("CallerIDNum", chan.caller.num_text),
                    ("CallerIDName", chan.caller.name_text)]
    else:
        headers += [("Uniqueid", UNKNOWN), ("CallerIDNum", UNKNOWN), ("CallerIDName", UNKNOWN)]
    return _event("OriginateResponse", CALL, headers)


def cdr(fields: Iterable[tuple[str, str]]) -> Message:
    return _event("Cdr", CDR, fields)
