"""queue_log lines in Asterisk's flat-file and realtime-table forms."""
import datetime as dt

import pytest

from cti.storage import queue_log
from cti.storage.queue_log import QueueLogFormatError, QueueLogWriter, build, format_line, parse_line

T = dt.datetime(2026, 11, 22, 10, 0, 0, 250000, tzinfo=dt.timezone.utc)
EPOCH = int(T.timestamp())


def test_connect_line_is_asterisk_format():
    line = build("CONNECT", time=T, callid="1795360000.12", queuename="support",
                 agent="Agent 2001", holdtime=12, bridged_uniqueid="1795360000.14", ringtime=1)
    assert format_line(line) == (
        f"{EPOCH}|1795360000.12|support|Agent 2001|CONNECT|12|1795360000.14|1"
    )


def test_event_without_data_keeps_trailing_separator_and_none_fields():
    line = build("QUEUESTART", time=T)
    assert format_line(line) == f"{EPOCH}|NONE|NONE|NONE|QUEUESTART|"
    member = build("ADDMEMBER", time=T, queuename="support", agent="PJSIP/6001")
    assert format_line(member) == f"{EPOCH}|NONE|support|PJSIP/6001|ADDMEMBER|"


@pytest.mark.parametrize("event, fields, data", [
    ("ENTERQUEUE", {"url": "", "callerid": "5551234", "position": 1}, "|5551234|1"),
    ("ABANDON", {"position": 1, "origposition": 2, "waittime": 4}, "1|2|4"),
    ("COMPLETECALLER", {"holdtime": 3, "talktime": 8, "origposition": 1}, "3|8|1"),
    ("COMPLETEAGENT", {"holdtime": 3, "talktime": 8, "origposition": 1}, "3|8|1"),
    ("RINGNOANSWER", {"ringtime_ms": 15000}, "15000"),
    ("PAUSE", {"reason": "lunch"}, "lunch"),
    ("UNPAUSE", {"reason": ""}, ""),
    ("AGENTLOGOFF", {"channel": "PJSIP/6001", "logintime": 3600}, "PJSIP/6001|3600"),
])
def test_event_data_in_declared_order(event, fields, data):
    line = build(event, time=T, callid="c1", queuename="q", agent="a", **fields)
    assert format_line(line) == f"{EPOCH}|c1|q|a|{event}|{data}"


def test_parse_round_trips_formatted_lines():
    line = build("EXITWITHKEY", time=T.replace(microsecond=0), callid="c1", queuename="q",
                 agent="NONE", key="5", position=2, origposition=3, waittime=40)
    parsed = parse_line(format_line(line) + "\n")
    assert (parsed.time, parsed.callid, parsed.queuename, parsed.agent, parsed.event,
            parsed.data) == (line.time, "c1", "q", "NONE", "EXITWITHKEY", ("5", "2", "3", "40"))
    assert parsed.line_id is None
    assert parse_line(f"{EPOCH}|NONE|NONE|NONE|QUEUESTART|").data == ()


def test_parse_accepts_events_it_does_not_know():
    assert parse_line(f"{EPOCH}|c|q|a|CUSTOMTHING|x|y").data == ("x", "y")


@pytest.mark.parametrize("text", ["", "garbage", "abc|c|q|a|CONNECT|1", f"{EPOCH}|c|q|a|", "1|2|3"])
def test_parse_rejects_garbage_with_a_clear_error(text):
    with pytest.raises(QueueLogFormatError):
        parse_line(text)


def test_build_refuses_wrong_fields_unknown_events_and_naive_time():
    with pytest.raises(QueueLogFormatError, match="missing"):
        build("CONNECT", time=T, holdtime=1)
    with pytest.raises(QueueLogFormatError, match="unknown"):
        build("ABANDON", time=T, position=1, origposition=1, waittime=1, extra=2)
    with pytest.raises(QueueLogFormatError, match="unknown queue_log event"):
        build("NOPE", time=T)
    with pytest.raises(QueueLogFormatError, match="timezone"):
        build("QUEUESTART", time=T.replace(tzinfo=None))


@pytest.mark.parametrize("field, value, written", [
    ("reason", "a|b", "a/b"),
    ("reason", "\x1b[2J\x1b[Hlunch", " [2J [Hlunch"),
    ("reason", "line\r\nbreak\u2028x\x9b", "line  break x "),
    ("agent", "x\ny|z", "x y/z"),
    ("callid", "c\x00|1", "c /1"),
    ("queuename", "sup\tport", "sup port"),
])
def test_free_text_is_sanitised_in_every_field_never_dropped(tmp_path, field, value, written):
    sink = ListSink()
    path = tmp_path / "queue_log"
    writer = QueueLogWriter(path, sink, now=lambda: T)
    args = {"agent": "PJSIP/6001", "reason": "lunch", **{field: value}}
    line = writer.log("PAUSE", **args)
    writer.close()
    assert line is not None and sink.records == [line]
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") == 1 and not any(c in text[:-1] for c in "\x00\x1b\r\n\x9b\u2028")
    parsed = parse_line(text)
    shown = {"reason": parsed.data[0], "agent": parsed.agent, "callid": parsed.callid,
             "queuename": parsed.queuename}
    assert shown[field] == written
    assert len(parsed.data) == 1                      # a '|' did not make a second field


def test_table_columns_split_like_asterisk_realtime():
    connect = build("CONNECT", time=T, holdtime=12, bridged_uniqueid="u2", ringtime=1)
    assert queue_log.table_data(connect) == ("12", "u2", "1", "", "")
    # six data fields (an INFO line): the fifth column keeps the rest, as ast_queue_log does
    info = build("INFO", time=T, a=1, b=2, c=3, d=4, e=5, f=6)
    assert queue_log.table_data(info) == ("1", "2", "3", "4", "5|6")
    assert queue_log.data_from_table("INFO", ("1", "2", "3", "4", "5|6")) == info.data
    assert queue_log.data_from_table("CONNECT", ("12", "u2", "1", "", "")) == connect.data
    enter = build("ENTERQUEUE", time=T, url="", callerid="", position=1)
    assert queue_log.data_from_table("ENTERQUEUE", queue_log.table_data(enter)) == ("", "", "1")
    assert queue_log.data_from_table("QUEUESTART", ("", "", "", "", "")) == ()


class ListSink:
    def __init__(self):
        self.records = []

    def submit(self, record):
        self.records.append(record)


def test_writer_appends_lines_to_the_file_and_submits_them(tmp_path):
    sink = ListSink()
    path = tmp_path / "queue_log"
    writer = QueueLogWriter(path, sink, now=lambda: T)
    writer.log("ENTERQUEUE", callid="c1", queuename="support", url="", callerid="555", position=1)
    writer.log("ABANDON", callid="c1", queuename="support", position=1, origposition=1, waittime=9)
    writer.close()
    assert path.read_text() == (
        f"{EPOCH}|c1|support|NONE|ENTERQUEUE||555|1\n{EPOCH}|c1|support|NONE|ABANDON|1|1|9\n"
    )
    assert [r.event for r in sink.records] == ["ENTERQUEUE", "ABANDON"]
    assert len({r.line_id for r in sink.records}) == 2


def test_writer_never_raises_on_bad_lines_or_an_unwritable_file(tmp_path, caplog):
    sink = ListSink()
    writer = QueueLogWriter(tmp_path / "missing-dir" / "queue_log", sink, now=lambda: T)
    assert writer.log("CONNECT", callid="c1", holdtime=1) is None
    assert sink.records == []
    line = writer.log("PAUSE", agent="PJSIP/6001", reason="lunch")
    assert line is not None and sink.records == [line]  # the table copy still goes out
    assert "queue_log file" in caplog.text and "dropped" in caplog.text
