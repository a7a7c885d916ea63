"""Call detail records in ``cdr_manager`` format (``Event: Cdr``).

Simplified model of Asterisk's CDR engine, enough for the captured flows:

* every channel that runs dialplan has a record from its creation; the ``;1`` half that
  ``Dial`` creates has none (it shows as ``DestinationChannel`` of the caller's record);
* ``Dial`` puts its target, application and data in the current record and closes it when
  the dial ends; the caller's next dialplan step (outside the ``h`` extension) opens a new one;
* ``Destination``/``DestinationContext`` follow the dialplan (not the ``h`` extension) and
  ``LastApplication`` is the last application run, including ``EXEC`` from AGI;
* records are published when the channel hangs up.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .channel import Channel

DISPOSITION_BY_DIALSTATUS = {"ANSWER": "ANSWERED", "NOANSWER": "NO ANSWER", "BUSY": "BUSY"}


def _stamp(t: float | None) -> str:
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


@dataclass
class CdrRecord:
    source: str
    callerid: str
    channel: str
    uniqueid: str
    accountcode: str
    start: float
    answer: float | None
    destination: str = ""
    context: str = ""
    dest_channel: str = ""
    last_app: str = ""
    last_data: str = ""
    end: float | None = None
    disposition: str | None = None

    def fields(self) -> list[tuple[str, str]]:
        end = self.end if self.end is not None else self.start
        duration = int(end - self.start)
        billable = int(end - self.answer) if self.answer is not None else 0
        disposition = self.disposition or ("ANSWERED" if self.answer is not None else "FAILED")
        return [
            ("AccountCode", self.accountcode), ("Source", self.source),
            ("Destination", self.destination), ("DestinationContext", self.context),
            ("CallerID", self.callerid), ("Channel", self.channel),
            ("DestinationChannel", self.dest_channel), ("LastApplication", self.last_app),
            ("LastData", self.last_data), ("StartTime", _stamp(self.start)),
            ("AnswerTime", _stamp(self.answer)), ("EndTime", _stamp(end)),
            ("Duration", str(duration)), ("BillableSeconds", str(billable)),
            ("Disposition", disposition), ("AMAFlags", "DOCUMENTATION"),
            ("UniqueID", self.uniqueid), ("UserField", ""),
        ]


@dataclass
class ChannelCdr:
    """The records of one channel: finished ones plus the one being written, if any."""

    done: list[CdrRecord] = field(default_factory=list)
    current: CdrRecord | None = None


def _callerid(chan: Channel) -> str:
    return f'"{chan.caller.name or ""}" <{chan.caller.num or ""}>'


def open_record(chan: Channel, now: float, *, start: float | None = None) -> CdrRecord:
    cdrs: ChannelCdr = chan.cdr
    record = CdrRecord(
        source=chan.caller.num or "", callerid=_callerid(chan), channel=chan.name,
        uniqueid=chan.uniqueid, accountcode=chan.accountcode,
        start=now if start is None else start,
        answer=(now if start is None else chan.answered_at) if chan.is_up else None,
        destination=chan.exten, context=chan.context)
    cdrs.current = record
    return record


def track(chan: Channel, now: float) -> None:
    """Give a channel its CDR bookkeeping (start = creation time)."""
    chan.cdr = ChannelCdr()
    open_record(chan, now, start=chan.created_at)


def on_step(chan: Channel, app: str, data: str, now: float) -> None:
    cdrs: ChannelCdr | None = chan.cdr
    if cdrs is None or chan.in_h_exten:
        return
    record = cdrs.current or open_record(chan, now)
    record.destination, record.context = chan.exten, chan.context
    record.last_app, record.last_data = app, data
    refresh_party(chan)


def on_app(chan: Channel, app: str, data: str) -> None:
    """An application run outside the dialplan step loop (``EXEC`` from AGI)."""
    cdrs: ChannelCdr | None = chan.cdr
    if cdrs is not None and cdrs.current is not None and not chan.in_h_exten:
        cdrs.current.last_app, cdrs.current.last_data = app, data


def refresh_party(chan: Channel) -> None:
    cdrs: ChannelCdr | None = chan.cdr
    if cdrs is not None and cdrs.current is not None:
        cdrs.current.source = chan.caller.num or ""
        cdrs.current.callerid = _callerid(chan)


def on_answer(chan: Channel, now: float) -> None:
    cdrs: ChannelCdr | None = chan.cdr
    if cdrs is not None and cdrs.current is not None and cdrs.current.answer is None:
        cdrs.current.answer = now


def on_dial_begin(chan: Channel, dest: Channel, now: float) -> None:
    cdrs: ChannelCdr | None = chan.cdr
    if cdrs is None:
        return
    record = cdrs.current or open_record(chan, now)
    record.dest_channel = dest.name


def on_dial_end(chan: Channel, status: str, now: float) -> None:
    cdrs: ChannelCdr | None = chan.cdr
    if cdrs is None or cdrs.current is None:
        return
    record = cdrs.current
    record.end = now
    record.disposition = DISPOSITION_BY_DIALSTATUS.get(status, "FAILED")
    cdrs.done.append(record)
    cdrs.current = None


def finish(chan: Channel, now: float) -> list[CdrRecord]:
    cdrs: ChannelCdr | None = chan.cdr
    if cdrs is None:
        return []
    if cdrs.current is not None:
        cdrs.current.end = now
        cdrs.done.append(cdrs.current)
        cdrs.current = None
    out, cdrs.done = cdrs.done, []
    return out
