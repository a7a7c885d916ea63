"""Asterisk's queue_log: the events, the flat-file line format and a writer for file and table.

Asterisk's app_queue writes one line per queue event to `/var/log/asterisk/queue_log`:

    epoch|callid|queuename|agent|EVENT|data1|data2|...

(`ast_queue_log` prints `"%ld|%s|%s|%s|%s|"` and then the event's data, so an event without
data still ends with `|`). Member and system events use `NONE` for the fields they lack. The
realtime table has columns `time, callid, queuename, agent, event, data1..data5`; the data is
split on `|` into at most five parts, the fifth keeping any rest. ctid writes the same lines
for the calls its own ACD handles, so every report tool built for Asterisk's queue_log works.

`EVENT_FIELDS` lists the data of each event, in order (`None`: free-form). Building a line for
an event not in the table raises `QueueLogFormatError`. Text inside a field never breaks the
line: `|` (the separator) becomes `/`, and newlines, escape codes and every other control
character become a space, in every field, so a line is written (sanitised, with a warning in
the log) rather than dropped, and nothing in the file can drive a terminal that displays it.
`parse_line` reads a line back; it is sans-IO and accepts events it does not know.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import IO, Callable, Protocol

from cti.storage.records import QueueLogLine

log = logging.getLogger(__name__)

NONE = "NONE"
TABLE_DATA_COLUMNS = 5

EVENT_FIELDS: dict[str, tuple[str, ...] | None] = {
    # caller events
    "ENTERQUEUE": ("url", "callerid", "position"),
    "CONNECT": ("holdtime", "bridged_uniqueid", "ringtime"),
    "COMPLETECALLER": ("holdtime", "talktime", "origposition"),
    "COMPLETEAGENT": ("holdtime", "talktime", "origposition"),
    "ABANDON": ("position", "origposition", "waittime"),
    "EXITWITHTIMEOUT": ("position", "origposition", "waittime"),
    "EXITEMPTY": ("position", "origposition", "waittime"),
    "EXITWITHKEY": ("key", "position", "origposition", "waittime"),
    "RINGNOANSWER": ("ringtime_ms",),
    "RINGCANCELED": ("ringtime_ms",),
    "TRANSFER": ("extension", "context", "holdtime", "talktime", "origposition"),
    "BLINDTRANSFER": ("extension", "context", "holdtime", "talktime", "origposition"),
    "ATTENDEDTRANSFER": ("method", "target", "holdtime", "talktime", "origposition"),
    "AGENTDUMP": (),
    "DID": ("did",),
    "INFO": None,
    # member events (callid NONE, or MANAGER when done over AMI)
    "ADDMEMBER": (),
    "REMOVEMEMBER": (),
    "PAUSE": ("reason",),
    "UNPAUSE": ("reason",),
    "PAUSEALL": ("reason",),
    "UNPAUSEALL": ("reason",),
    "AGENTLOGIN": ("channel",),
    "AGENTLOGOFF": ("channel", "logintime"),
    # system events (callid, queuename and agent NONE)
    "QUEUESTART": (),
    "CONFIGRELOAD": (),
    "SYSCOMPAT": (),
}


class QueueLogFormatError(ValueError):
    """A queue_log line that cannot be built or read."""


# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_field(value: str) -> str:
    """``value`` made safe for one queue_log field: no separator, no control characters."""
    return _CONTROL.sub(" ", value.replace("|", "/"))


def _clean(name: str, value: str) -> str:
    cleaned = clean_field(value)
    if cleaned != value:
        log.warning("queue_log: %s %r sanitised to %r", name, value[:80], cleaned[:80])
    return cleaned


def build(
    event: str,
    *,
    time: dt.datetime,
    callid: str = NONE,
    queuename: str = NONE,
    agent: str = NONE,
    **fields: object,
) -> QueueLogLine:
    """A line for `event` with its data given by name, e.g.
    `build("CONNECT", time=t, callid=c, queuename="support", agent="Agent 6001",
    holdtime=12, bridged_uniqueid="1795.12", ringtime=3)`."""
    if event not in EVENT_FIELDS:
        raise QueueLogFormatError(f"unknown queue_log event {event!r}")
    if time.tzinfo is None:
        raise QueueLogFormatError("queue_log time needs a timezone")
    names = EVENT_FIELDS[event]
    if names is None:
        data = tuple(str(v) for v in fields.values())
    else:
        missing = [n for n in names if n not in fields]
        extra = [n for n in fields if n not in names]
        if missing or extra:
            raise QueueLogFormatError(
                f"{event} takes {'|'.join(names) or 'no data'}; missing {missing}, unknown {extra}"
            )
        data = tuple("" if fields[n] is None else str(fields[n]) for n in names)
    callid, queuename, agent = (_clean(name, str(value)) for name, value in
                                (("callid", callid), ("queuename", queuename), ("agent", agent)))
    data = tuple(_clean(event, value) for value in data)
    return QueueLogLine(time, callid, queuename, agent, event, data)


def format_line(line: QueueLogLine) -> str:
    """The flat-file line, without its newline."""
    head = f"{int(line.time.timestamp())}|{line.callid}|{line.queuename}|{line.agent}|{line.event}|"
    return head + "|".join(line.data)


def parse_line(text: str) -> QueueLogLine:
    """Read one flat-file line (with or without its newline) back into a `QueueLogLine`."""
    parts = text.rstrip("\r\n").split("|")
    if len(parts) < 5:
        raise QueueLogFormatError(f"too few fields in queue_log line {text[:80]!r}")
    epoch, callid, queuename, agent, event = parts[:5]
    try:
        time = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    except (ValueError, OverflowError, OSError) as exc:
        raise QueueLogFormatError(f"bad epoch {epoch[:20]!r}") from exc
    if not event:
        raise QueueLogFormatError(f"no event in queue_log line {text[:80]!r}")
    data = tuple(parts[5:])
    if data == ("",):
        data = ()
    return QueueLogLine(time, callid, queuename, agent, event, data, line_id=None)


def table_data(line: QueueLogLine) -> tuple[str, str, str, str, str]:
    """`data1..data5` as Asterisk's realtime driver stores them ('' when absent)."""
    parts = list(line.data[: TABLE_DATA_COLUMNS - 1])
    if len(line.data) >= TABLE_DATA_COLUMNS:
        parts.append("|".join(line.data[TABLE_DATA_COLUMNS - 1:]))
    parts += [""] * (TABLE_DATA_COLUMNS - len(parts))
    return tuple(parts)  # type: ignore[return-value]


def data_from_table(event: str, columns: tuple[str | None, ...]) -> tuple[str, ...]:
    """The data of a realtime row, as many fields as the event takes (or up to the last set)."""
    flat = "|".join(value or "" for value in columns).split("|")
    names = EVENT_FIELDS.get(event)
    used = max((i + 1 for i, v in enumerate(flat) if v), default=0)
    return tuple(flat[: max(used, len(names) if names else 0)])


class RecordSink(Protocol):
    def submit(self, record: QueueLogLine) -> None: ...


class QueueLogWriter:
    """Appends each line to the flat file and hands it to the outage buffer for the table.

    `write` and `log` never raise: a failed file write is logged and the line still goes to the
    database (and the other way round), and a bad line is logged and dropped.
    """

    def __init__(
        self,
        path: Path | None,
        sink: RecordSink | None,
        *,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
    ) -> None:
        self._path = path
        self._sink = sink
        self._now = now
        self._file: IO[str] | None = None

    def log(self, event: str, *, callid: str = NONE, queuename: str = NONE,
            agent: str = NONE, **fields: object) -> QueueLogLine | None:
        try:
            line = build(event, time=self._now(), callid=callid, queuename=queuename,
                         agent=agent, **fields)
        except QueueLogFormatError as exc:
            log.error("queue_log %s for call %s dropped: %s", event, callid, exc)
            return None
        self.write(line)
        return line

    def write(self, line: QueueLogLine) -> None:
        if self._path is not None:
            try:
                if self._file is None:
                    self._file = open(self._path, "a", encoding="utf-8", buffering=1)
                self._file.write(format_line(line) + "\n")
            except OSError as exc:
                log.error("queue_log file %s: %s (call %s)", self._path, exc, line.callid)
                self.close()
        if self._sink is not None:
            self._sink.submit(line)

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
