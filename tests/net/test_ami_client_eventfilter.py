"""The eventfilter of asterisk_conf/manager.conf lets through exactly what ctid's AMI listeners read.

Every event Asterisk sends costs both sides CPU; ctid's listeners read a handful of names. The
filter is checked three ways: with the simulator's reading of manager.conf (Python ``re``), with
the C library's POSIX extended regex (what Asterisk's ``regcomp(REG_EXTENDED | REG_NOSUB)``
does with it), and against a call captured from a real Asterisk.
"""
from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import pytest

from cti.pbxsim.ami import privileges
from cti.pbxsim.ami.accounts import filters_pass, parse_manager_conf
from cti.protocol.ami import AMIParser
from cti.protocol.ami_message import Message
from cti.services.calls import CallTracker

ROOT = Path(__file__).resolve().parents[2]
MANAGER_CONF = ROOT / "asterisk_conf" / "manager.conf"
CAPTURE = ROOT / "tests" / "fixtures" / "asterisk-captures" / "ami-redirect-flow.server.txt"

# Read to tell who ended a call and to settle an async Originate; kept though no table names
# them today.
ALSO_KEPT = {"HangupRequest", "SoftHangupRequest", "OriginateResponse"}
NEVER_READ = ["VarSet", "Newexten", "Newstate", "Newchannel", "NewCallerid", "NewConnectedLine",
              "DeviceStateChange", "Cdr", "BridgeCreate",
              "BridgeDestroy", "MusicOnHoldStart", "MixMonitorStart", "DialState",
              "HangupHandlerRun", "UserEventX", "LocalBridge", "DTMFEnd"]


def ctid_account():
    text = MANAGER_CONF.read_text()
    accounts = parse_manager_conf("\n".join(line for line in text.splitlines()
                                            if not line.startswith("#tryinclude")))
    return accounts.account("ctid")


def listened() -> set[str]:
    return set(CallTracker(lambda: 0.0).EVENTS)


def event_text(name: str) -> str:
    return Message.of([("Event", name), ("Privilege", "call,all"), ("Channel", "PJSIP/6001-1"),
                       ("Uniqueid", "1795360000.1")]).encode().decode()


def passes(name: str) -> bool:
    return filters_pass(ctid_account().eventfilters, event_text(name))


def test_every_event_a_listener_reads_passes_the_filter() -> None:
    names = listened() | ALSO_KEPT
    assert names >= {"UserEvent", "DialBegin", "DialEnd", "Hangup"}
    assert [n for n in sorted(names) if not passes(n)] == []


@pytest.mark.parametrize("name", NEVER_READ)
def test_events_no_listener_reads_are_dropped(name: str) -> None:
    assert name not in listened()
    assert not passes(name)


def test_of_a_real_call_only_what_ctid_reads_reaches_it() -> None:
    account = ctid_account()
    sent, reached = 0, set()
    for item in AMIParser(expect_banner=True).feed(CAPTURE.read_bytes()):
        if not isinstance(item, Message) or item.kind != "event":
            continue
        sent += 1
        category = privileges.event_category(item)
        if (account.read & category) == category and filters_pass(
                account.eventfilters, item.encode().decode()):
            reached.add(item.name)
    assert sent > 100
    assert reached and reached <= listened() | ALSO_KEPT
    assert {"DialBegin", "DialEnd", "Hangup"} <= reached


def _posix_regex():
    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name) if libc_name else None
    if libc is None or not hasattr(libc, "regcomp"):
        pytest.skip("no POSIX regcomp in this C library")
    return libc


def test_the_filter_means_the_same_to_asterisk_posix_regex() -> None:
    libc = _posix_regex()
    reg_extended, reg_nosub = 1, 8
    (source,) = [line.split("=", 1)[1].strip() for line in MANAGER_CONF.read_text().splitlines()
                 if line.startswith("eventfilter")]
    regex = ctypes.create_string_buffer(256)           # regex_t is 64 bytes on glibc
    assert libc.regcomp(regex, source.encode(), reg_extended | reg_nosub) == 0
    try:
        for name in sorted(listened() | ALSO_KEPT) + NEVER_READ:
            matched = libc.regexec(regex, event_text(name).encode(), 0, None, 0) == 0
            assert matched == passes(name), name
    finally:
        libc.regfree(regex)
