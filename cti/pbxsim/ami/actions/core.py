"""PBX-wide actions: ``Ping``, ``CoreStatus``, ``CoreSettings``, ``Command``.

``Command`` has the 22.x shape: ``Response: Success`` (``Error`` when the CLI does not know
the command), ``Message: Command output follows`` and one ``Output:`` header per line; no
``Response: Follows`` and no ``--END COMMAND--``.
"""
from __future__ import annotations

import time

from cti.protocol.ami_message import Message

from .. import privileges as p
from ..responses import ack, error, header, response
from .base import ActionSpec, Context, Outcome, yes_no


def ping(ctx: Context, request: Message):
    now = ctx.now()
    whole = int(now)
    micros = min(int(round((now - whole) * 1_000_000)), 999_999)
    return Outcome([ack(request, extra=[("Ping", "Pong"), ("Timestamp", f"{whole}.{micros:06d}")])])


def _date(seconds: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(seconds))


def _time(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds))


def _calls(pbx) -> tuple[int, int]:
    """(current, processed) calls: the engine's own counters when it keeps them."""
    if pbx is None:
        return 0, 0
    current = getattr(pbx, "active_calls", None)
    processed = getattr(pbx, "processed_calls", None)
    current = current() if callable(current) else current
    processed = processed() if callable(processed) else processed
    if current is None:
        current = len(pbx.channels())
    return int(current), int(processed or 0)


def core_status(ctx: Context, request: Message):
    current, processed = _calls(ctx.pbx)
    return Outcome([ack(request, extra=[
        ("CoreStartupDate", _date(ctx.started_at)), ("CoreStartupTime", _time(ctx.started_at)),
        ("CoreReloadDate", _date(ctx.reloaded_at)), ("CoreReloadTime", _time(ctx.reloaded_at)),
        ("CoreCurrentCalls", current), ("CoreProcessedCalls", processed)])])


def core_settings(ctx: Context, request: Message):
    s = ctx.system
    return Outcome([ack(request, extra=[
        ("AMIversion", s.ami_version), ("AsteriskVersion", s.asterisk_version),
        ("SystemName", s.system_name), ("CoreMaxCalls", s.max_calls),
        ("CoreMaxLoadAvg", f"{s.max_load_avg:f}"), ("CoreRunUser", s.run_user),
        ("CoreRunGroup", s.run_group), ("CoreMaxFilehandles", s.max_filehandles),
        ("CoreRealTimeEnabled", yes_no(s.realtime_enabled)),
        ("CoreCDRenabled", yes_no(s.cdr_enabled)), ("CoreHTTPenabled", yes_no(s.http_enabled)),
        ("SoundsSearchCustomDir", yes_no(s.sounds_search_custom_dir))])])


def command(ctx: Context, request: Message):
    text = header(request, "Command")
    if not text:
        return Outcome([error(request, "No command provided")])
    if ctx.pbx is None:
        ok, lines = False, [f"No such command '{text}'"]
    else:
        ok, lines = ctx.pbx.command(text)
    output = [part.rstrip("\r") for line in lines for part in line.split("\n")]
    return Outcome([response(request, "Success" if ok else "Error", "Command output follows",
                             extra=[("Output", line) for line in output])])


ACTIONS = [
    ActionSpec("Ping", 0, ping),
    ActionSpec("CoreStatus", p.SYSTEM | p.REPORTING, core_status),
    ActionSpec("CoreSettings", p.SYSTEM | p.REPORTING, core_settings),
    ActionSpec("Command", p.COMMAND, command),
]
