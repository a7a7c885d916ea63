"""Channel actions: ``Getvar``, ``Setvar``, ``CoreShowChannels``, ``Status``, ``Hangup``,
``Redirect``, ``MixMonitor``, ``StopMixMonitor``.

Each checks its headers in Asterisk's order (so the same bad request gets the same error),
looks the channel up in the engine, calls the engine, and formats the reply. Events the
engine emits meanwhile reach this session after the reply, as they do on Asterisk.
"""
from __future__ import annotations

import logging
import re

from cti.protocol.ami_message import Message

from .. import privileges as p
from ..responses import ack, error, header, list_ack, list_complete, list_item, response
from .base import ActionSpec, Context, Outcome

log = logging.getLogger(__name__)

NORMAL_CLEARING = 16


def _channel(ctx: Context, name: str):
    return ctx.pbx.find_channel(name) if ctx.pbx is not None else None


def _channels(ctx: Context) -> list:
    return list(ctx.pbx.channels()) if ctx.pbx is not None else []


def getvar(ctx: Context, request: Message):
    name, variable = header(request, "Channel"), header(request, "Variable")
    if not variable:
        return Outcome([error(request, "No variable specified")])
    chan = None
    if name:
        chan = _channel(ctx, name)
        if chan is None:
            return Outcome([error(request, "No such channel")])
    value = ctx.pbx.getvar(chan, variable) if ctx.pbx is not None else None
    return Outcome([ack(request, extra=[("Variable", variable), ("Value", value or "")])])


def setvar(ctx: Context, request: Message):
    name, variable = header(request, "Channel"), header(request, "Variable")
    if not variable:
        return Outcome([error(request, "No variable specified")])
    chan = None
    if name:
        chan = _channel(ctx, name)
        if chan is None:
            return Outcome([error(request, "No such channel")])
    try:
        ctx.pbx.setvar(chan, variable, header(request, "Value"))
    except Exception:  # the engine refused (a read-only function...): Asterisk says so
        log.exception("Setvar %s on %s failed", variable, name or "(global)")
        return Outcome([error(request, "Variable not set")])
    return Outcome([ack(request, "Variable Set")])


def _hms(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _bridge_id(chan) -> str:
    bridge = getattr(chan, "bridge", None)
    if bridge is None:
        return ""
    return str(getattr(bridge, "uniqueid", None) or getattr(bridge, "id", "") or "")


def _age(ctx: Context, chan) -> float:
    return ctx.now() - float(getattr(chan, "created_at", ctx.now()) or 0.0)


def core_show_channels(ctx: Context, request: Message):
    items = [list_item(request, "CoreShowChannel", [
        *ctx.pbx.channel_headers(chan),
        ("Application", getattr(chan, "app", "")), ("ApplicationData", getattr(chan, "appdata", "")),
        ("Duration", _hms(_age(ctx, chan))), ("BridgeId", _bridge_id(chan))])
        for chan in _channels(ctx)]
    return Outcome([list_ack(request, "Channels will follow"), *items,
                    list_complete(request, "CoreShowChannelsComplete", len(items))])


def _status_item(ctx: Context, request: Message, chan, wanted: list[str], all_vars: bool) -> Message:
    connected = getattr(chan, "connected", None)
    fmt = getattr(chan, "format", "slin")
    body = [
        ("Privilege", "Call"), *ctx.pbx.channel_headers(chan),
        ("Type", getattr(chan, "tech", "")), ("DNID", getattr(chan, "dnid", "") or ""),
        ("EffectiveConnectedLineNum", connected.num_text if connected else "<unknown>"),
        ("EffectiveConnectedLineName", connected.name_text if connected else "<unknown>"),
        ("TimeToHangup", 0), ("BridgeID", _bridge_id(chan)),
        ("Application", getattr(chan, "app", "")), ("Data", getattr(chan, "appdata", "")),
        ("Nativeformats", f"({fmt})"), ("Readformat", fmt), ("Readtrans", ""),
        ("Writeformat", fmt), ("Writetrans", ""), ("Callgroup", 0), ("Pickupgroup", 0),
        ("Seconds", int(_age(ctx, chan))),
    ]
    if all_vars:
        body += [("Variable", f"{k}={v}") for k, v in getattr(chan, "variables", {}).items()]
    else:
        body += [("Variable", f"{name}={_status_value(ctx, chan, name)}") for name in wanted]
    return list_item(request, "Status", body, id_last=True)


def _status_value(ctx: Context, chan, name: str) -> str:
    """A requested variable as ``Status`` prints it. manager.c formats the value with ``%s``
    straight from ``pbx_retrieve_variable``: for a variable set nowhere (channel or global)
    that is a NULL, which glibc prints as ``(null)``. A function (name ending in ``)``) is
    read into a buffer, empty when it fails. A variable set to the empty string is empty.
    ``Getvar`` differs: it prints ``S_OR(value, "")``, an empty ``Value:``."""
    value = ctx.pbx.getvar(chan, name) if ctx.pbx is not None else None
    if value is None:
        return "" if name.endswith(")") else "(null)"
    return value


def status(ctx: Context, request: Message):
    name = header(request, "Channel")
    if name:
        chan = _channel(ctx, name)
        if chan is None:
            return Outcome([error(request, "No such channel")])
        chans = [chan]
    else:
        chans = _channels(ctx)
    wanted = [v.strip() for v in header(request, "Variables").split(",") if v.strip()]
    all_vars = header(request, "AllVariables").lower() in ("yes", "true", "on", "1", "y", "t")
    items = [_status_item(ctx, request, chan, wanted, all_vars) for chan in chans]
    return Outcome([list_ack(request, "Channel status will follow"), *items,
                    list_complete(request, "StatusComplete", len(items), [("Items", len(items))])])


def _cause(text: str) -> int:
    """``Cause:`` as Asterisk reads it: 0..127, anything else means 'no cause given'."""
    if text.isdigit() and 0 <= int(text) <= 127:
        return int(text)
    return 0


def hangup(ctx: Context, request: Message):
    target = header(request, "Channel")
    if not target:
        return Outcome([error(request, "No channel specified")])
    cause = _cause(header(request, "Cause")) or NORMAL_CLEARING
    if not target.startswith("/"):
        chan = _channel(ctx, target)
        if chan is None:
            log.info("Request to hangup non-existent channel: %s", target)
            return Outcome([error(request, "No such channel")])
        ctx.pbx.hangup(chan.name, cause)
        return Outcome([ack(request, "Channel Hungup")])
    pattern = target[1:-1] if target.endswith("/") and len(target) > 1 else target[1:]
    try:
        regex = re.compile(pattern)
    except re.error:
        return Outcome([error(request, "Regex compile failed on: " + pattern)])
    matched = [chan.name for chan in _channels(ctx) if regex.search(chan.name)]
    items = [list_item(request, "ChannelHungup", [("Channel", name)], id_last=True)
             for name in matched]
    for name in matched:
        ctx.pbx.hangup(name, cause)
    return Outcome([list_ack(request, "Channels hung up will follow"), *items,
                    list_complete(request, "ChannelsHungupListComplete", len(items))])


def priority_number(ctx: Context, context: str, exten: str, text: str) -> int:
    """A number, or a label looked up in the dialplan; < 1 when neither."""
    if re.fullmatch(r"\s*[+-]?\d+.*", text):
        return int(re.match(r"\s*([+-]?\d+)", text).group(1))
    dialplan = getattr(ctx.pbx, "dialplan", None)
    finder = getattr(dialplan, "label_priority", None)
    found = finder(context, exten, text) if finder is not None else None
    return int(found) if found else -1


def redirect(ctx: Context, request: Message):
    name, name2 = header(request, "Channel"), header(request, "ExtraChannel")
    context, exten, priority = (header(request, h) for h in ("Context", "Exten", "Priority"))
    context2, exten2, priority2 = (header(request, h) for h in
                                   ("ExtraContext", "ExtraExten", "ExtraPriority"))
    if not name:
        return Outcome([error(request, "Channel not specified")])
    if not context:
        return Outcome([error(request, "Context not specified")])
    if not exten:
        return Outcome([error(request, "Exten not specified")])
    if not priority:
        return Outcome([error(request, "Priority not specified")])
    pi = priority_number(ctx, context, exten, priority)
    if pi < 1:
        return Outcome([error(request, "Priority is invalid")])
    pi2 = 0
    if context2 and exten2 and priority2:
        pi2 = priority_number(ctx, context2, exten2, priority2)
        if pi2 < 1:
            return Outcome([error(request, "ExtraPriority is invalid")])
    chan = _channel(ctx, name)
    if chan is None:
        return Outcome([error(request, f"Channel does not exist: {name}")])
    if getattr(chan, "hangup_requested", False):
        return Outcome([error(request, "Redirect failed, channel not up.")])
    if not name2:
        try:
            ctx.pbx.redirect(chan.name, context, exten, pi)
        except Exception:
            log.exception("Redirect of %s failed", chan.name)
            return Outcome([error(request, "Redirect failed")])
        return Outcome([ack(request, "Redirect successful")])
    chan2 = _channel(ctx, name2)
    if chan2 is None:
        return Outcome([error(request, f"ExtraChannel does not exist: {name2}")])
    if getattr(chan2, "hangup_requested", False):
        return Outcome([error(request, "Redirect failed, extra channel not up.")])
    where2 = (context2, exten2, pi2) if context2 else (context, exten, pi)
    try:
        ctx.pbx.redirect(chan.name, context, exten, pi, extra_channel=chan2.name,
                         extra_context=where2[0], extra_exten=where2[1], extra_priority=where2[2])
    except Exception:
        log.exception("Dual redirect of %s and %s failed", chan.name, chan2.name)
        return Outcome([error(request, "Redirect failed")])
    return Outcome([ack(request, "Dual Redirect successful")])


def _required_channel(ctx: Context, request: Message):
    """The channel named by ``Channel:``, or the Outcome Asterisk answers when there is none."""
    name = header(request, "Channel")
    if not name:
        return None, Outcome([error(request, "No channel specified")])
    chan = _channel(ctx, name)
    if chan is None:
        return None, Outcome([error(request, "No such channel")])
    return chan, None


def mixmonitor(ctx: Context, request: Message):
    chan, refusal = _required_channel(ctx, request)
    if refusal:
        return refusal
    try:
        started = ctx.pbx.mixmonitor(chan.name, header(request, "File"), header(request, "Options"))
    except Exception:
        log.exception("MixMonitor on %s failed", chan.name)
        started = False
    if started is False:
        return Outcome([error(request, "Could not start monitoring channel")])
    return Outcome([response(request, "Success")])


def stop_mixmonitor(ctx: Context, request: Message):
    chan, refusal = _required_channel(ctx, request)
    if refusal:
        return refusal
    try:
        stopped = ctx.pbx.stop_mixmonitor(chan.name)
    except Exception:
        log.exception("StopMixMonitor on %s failed", chan.name)
        stopped = False
    if not stopped:
        return Outcome([error(request, "Could not stop monitoring channel")])
    return Outcome([response(request, "Success")])


ACTIONS = [
    ActionSpec("Getvar", p.CALL | p.REPORTING, getvar),
    ActionSpec("Setvar", p.CALL, setvar),
    ActionSpec("CoreShowChannels", p.SYSTEM | p.REPORTING, core_show_channels),
    ActionSpec("Status", p.SYSTEM | p.CALL | p.REPORTING, status),
    ActionSpec("Hangup", p.SYSTEM | p.CALL, hangup),
    ActionSpec("Redirect", p.CALL, redirect),
    ActionSpec("MixMonitor", p.SYSTEM, mixmonitor),
    ActionSpec("StopMixMonitor", p.SYSTEM, stop_mixmonitor),
]
