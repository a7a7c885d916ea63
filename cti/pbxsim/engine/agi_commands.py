"""The AGI commands the simulator answers, with Asterisk's exact result lines.

Each handler is ``async def handler(session, args) -> Outcome``. ``Outcome`` carries the
wire text and what ``AGIExecEnd`` reports, which is not always the wire code: a ``200
result=-1`` is ``ResultCode: -1``/``Failure``, ``520`` is ``Usage``, and ``EXEC`` of an
unknown application is ``200``/``Unknown Result``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

from . import cdr, events, runner
from .apps import UnknownApplication
from .channel import Interruption


@dataclass(frozen=True)
class Outcome:
    wire: str
    code: int = 200
    result: str = "Success"


def ok(text: str) -> Outcome:
    return Outcome(f"200 {text}")


def failure(text: str = "result=-1") -> Outcome:
    return Outcome(f"200 {text}", -1, "Failure")


DEAD = Outcome("511 Command Not Permitted on a dead channel or intercept routine", 511,
               "Command Not Permitted on a dead channel or intercept routine")
UNKNOWN = Outcome("510 Invalid or unknown command", 510, "Invalid or unknown command")

USAGE_TEXT = {
    "GET VARIABLE": "Returns <literal>0</literal> if <replaceable>variablename</replaceable> is not set. "
                    "Returns <literal>1</literal> if <replaceable>variablename</replaceable> is set and "
                    "returns the variable in parentheses.\nExample return code: 200 result=1 (testvariable)",
    "SET VARIABLE": "Sets a variable to the current channel.",
}


def usage(name: str) -> Outcome:
    text = USAGE_TEXT.get(name, f"Usage: {name}")
    return Outcome(f"520-Invalid command syntax.  Proper usage follows:\n{text}\n520 End of proper usage.",
                   520, "Usage")


Handler = Callable[["object", list[str]], Awaitable[Outcome]]
COMMANDS: dict[tuple[str, ...], tuple[Handler, bool]] = {}


def command(name: str, *, dead_ok: bool = False):
    def register(func):
        COMMANDS[tuple(name.split())] = (func, dead_ok)
        func.agi_name = name
        return func
    return register


def find(words: list[str]) -> tuple[Handler | None, bool, int]:
    upper = [w.upper() for w in words]
    for size in (3, 2, 1):
        found = COMMANDS.get(tuple(upper[:size]))
        if found is not None and len(upper) >= size:
            return found[0], found[1], size
    return None, False, 0


def _digit_result(digit: str) -> str:
    return str(ord(digit))


@command("ANSWER")
async def answer(session, args):
    session.pbx.answer(session.chan)
    return ok("result=0")


@command("NOOP", dead_ok=True)
async def noop(session, args):
    return ok("result=0")


@command("VERBOSE", dead_ok=True)
async def verbose(session, args):
    if not args:
        return usage("VERBOSE")
    return ok("result=1")


@command("GET VARIABLE", dead_ok=True)
async def get_variable(session, args):
    if len(args) != 1:
        return usage("GET VARIABLE")
    value = session.pbx.getvar(session.chan, args[0])
    if value is None or ("(" in args[0] and value == ""):
        return ok("result=0")
    return ok(f"result=1 ({value})")


@command("GET FULL VARIABLE", dead_ok=True)
async def get_full_variable(session, args):
    if not args or len(args) > 2:
        return usage("GET FULL VARIABLE")
    return ok(f"result=1 ({session.pbx.substitute(session.chan, args[0])})")


@command("SET VARIABLE", dead_ok=True)
async def set_variable(session, args):
    if len(args) != 2:
        return usage("SET VARIABLE")
    session.pbx.assign(session.chan, args[0], args[1])
    return ok("result=1")


@command("CHANNEL STATUS")
async def channel_status(session, args):
    return ok(f"result={int(session.chan.state)}")


@command("SET CONTEXT")
async def set_context(session, args):
    if len(args) != 1:
        return usage("SET CONTEXT")
    session.location[0] = args[0]
    return ok("result=0")


@command("SET EXTENSION")
async def set_extension(session, args):
    if len(args) != 1:
        return usage("SET EXTENSION")
    session.location[1] = args[0]
    return ok("result=0")


@command("SET PRIORITY")
async def set_priority(session, args):
    """``handle_setpriority``: a number, or a label of where the channel now is (520 if neither)."""
    from .pbx import InvalidPriority

    if len(args) != 1:
        return usage("SET PRIORITY")
    context = session.location[0] or session.chan.context
    exten = session.location[1] or session.chan.exten
    try:
        session.location[2] = session.pbx.priority_number(context, exten, args[0])
    except InvalidPriority:
        return usage("SET PRIORITY")
    return ok("result=0")


@command("HANGUP")
async def hangup(session, args):
    pbx, chan = session.pbx, session.chan
    if args and args[0] != chan.name:
        other = pbx.find_channel(args[0])
        if other is None:
            return ok("result=-1")
        pbx.hangup(other.name, 16)
        return ok("result=1")
    chan.hangup_requested = True
    pbx.soft_hangup(chan, 16)
    return ok("result=1")


@command("STREAM FILE")
async def stream_file(session, args):
    if len(args) < 2:
        return usage("STREAM FILE")
    return await _play(session, args[0], args[1])


@command("GET OPTION")
async def get_option(session, args):
    """STREAM FILE, then wait up to ``timeout`` ms for one of the escape digits."""
    if len(args) < 2:
        return usage("GET OPTION")
    played = await _play(session, args[0], args[1])
    if played.code != 200 or not played.wire.startswith("200 result=0 ") or len(args) < 3:
        return played
    endpos = played.wire.rsplit("endpos=", 1)[1]
    digit = await session.chan.suspend(session.pbx.reactor, int(args[2]) / 1000.0, wake_on_dtmf=True)
    if digit is not None and digit not in args[1]:
        digit = None
    return ok(f"result={_digit_result(digit) if digit else 0} endpos={endpos}")


async def _play(session, name: str, escape: str) -> Outcome:
    pbx, chan = session.pbx, session.chan
    samples = pbx.sound_samples(name)
    if samples is None:
        return failure("result=-1 endpos=0")
    escape = escape.strip('"')
    digit = await chan.suspend(pbx.reactor, samples / 8000.0, wake_on_dtmf=bool(escape))
    if digit is not None and digit not in escape:
        digit = None
    pbx.set_var(chan, "PLAYBACKSTATUS", "SUCCESS")
    return ok(f"result={_digit_result(digit) if digit else 0} endpos={samples}")


@command("WAIT FOR DIGIT")
async def wait_for_digit(session, args):
    if len(args) != 1:
        return usage("WAIT FOR DIGIT")
    try:
        timeout_ms = int(args[0])
    except ValueError:
        return usage("WAIT FOR DIGIT")
    seconds = None if timeout_ms < 0 else timeout_ms / 1000.0
    digit = await session.chan.suspend(session.pbx.reactor, seconds, wake_on_dtmf=True)
    return ok(f"result={_digit_result(digit) if digit else 0}")


@command("GET DATA")
async def get_data(session, args):
    if not args:
        return usage("GET DATA")
    pbx, chan = session.pbx, session.chan
    timeout = int(args[1]) / 1000.0 if len(args) > 1 and args[1].lstrip("-").isdigit() else 6.0
    max_digits = int(args[2]) if len(args) > 2 and args[2].isdigit() else 1024
    digits = ""
    samples = pbx.sound_samples(args[0])
    if samples is not None:
        first = await chan.suspend(pbx.reactor, samples / 8000.0, wake_on_dtmf=True)
        if first is not None:
            digits += first
    while len(digits) < max_digits:
        digit = await chan.suspend(pbx.reactor, timeout, wake_on_dtmf=True)
        if digit is None:
            return ok(f"result={digits} (timeout)")
        if digit == "#":
            break
        digits += digit
    return ok(f"result={digits}")


@command("SAY NUMBER")
async def say_number(session, args):
    if len(args) < 2:
        return usage("SAY NUMBER")
    await session.chan.suspend(session.pbx.reactor, 0.5 * len(args[0]))
    return ok("result=0")


@command("SAY DIGITS")
async def say_digits(session, args):
    if len(args) < 2:
        return usage("SAY DIGITS")
    await session.chan.suspend(session.pbx.reactor, 0.5 * len(args[0]))
    return ok("result=0")


async def _say(session, seconds: float, escape: str) -> Outcome:
    """Speak for ``seconds``; a key among ``escape`` stops it (its code is the result)."""
    escape = escape.strip('"')
    digit = await session.chan.suspend(session.pbx.reactor, seconds, wake_on_dtmf=bool(escape))
    if digit is not None and digit in escape:
        return ok(f"result={_digit_result(digit)}")
    return ok("result=0")


@command("SAY ALPHA")
async def say_alpha(session, args):
    if len(args) < 2:
        return usage("SAY ALPHA")
    return await _say(session, 0.5 * len(args[0]), args[1])


def _epoch(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


@command("SAY DATE")
async def say_date(session, args):
    """``SAY DATE <epoch> <escape>``: weekday, month and day (about three words)."""
    if len(args) < 2 or _epoch(args[0]) is None:
        return usage("SAY DATE")
    return await _say(session, 1.5, args[1])


@command("SAY TIME")
async def say_time(session, args):
    if len(args) < 2 or _epoch(args[0]) is None:
        return usage("SAY TIME")
    return await _say(session, 1.5, args[1])


@command("SAY DATETIME")
async def say_datetime(session, args):
    """``SAY DATETIME <epoch> <escape> [format] [timezone]``: about half a second per field of
    the format (Asterisk's default format says five or six)."""
    if len(args) < 2 or _epoch(args[0]) is None:
        return usage("SAY DATETIME")
    fields = sum(ch.isalpha() for ch in args[2]) if len(args) > 2 and args[2] else 6
    return await _say(session, 0.5 * max(1, fields), args[1])


@command("RECORD FILE")
async def record_file(session, args):
    if len(args) < 4:
        return usage("RECORD FILE")
    timeout = int(args[3]) / 1000.0 if args[3].lstrip("-").isdigit() and int(args[3]) > 0 else None
    escape = args[2]
    deadline = None if timeout is None else session.pbx.now() + timeout
    while True:
        remaining = None if deadline is None else max(0.0, deadline - session.pbx.now())
        digit = await session.chan.suspend(session.pbx.reactor, remaining, wake_on_dtmf=True)
        if digit is None:
            return ok("result=1 (timeout) endpos=0")
        if digit in escape:
            return ok(f"result={_digit_result(digit)} (dtmf) endpos=0")


@command("SET MUSIC")
async def set_music(session, args):
    if not args or args[0].lower() not in ("on", "off"):
        return usage("SET MUSIC")
    pbx, chan = session.pbx, session.chan
    if args[0].lower() == "on":
        pbx.emit(events.moh_start(chan, args[1] if len(args) > 1 else "default"))
        session.music_on = True
    elif session.music_on:
        pbx.emit(events.moh_stop(chan))
        session.music_on = False
    return ok("result=0")


@command("EXEC", dead_ok=True)
async def exec_(session, args):
    if not args:
        return usage("EXEC")
    app, data = args[0], " ".join(args[1:])
    from .apps import APPLICATIONS
    if app.lower() not in APPLICATIONS:
        return Outcome("200 result=-2", 200, "Unknown Result")
    cdr.on_app(session.chan, app, data)
    try:
        await runner.execute(session.pbx, session.chan, app, data)
    except (UnknownApplication,):
        return Outcome("200 result=-2", 200, "Unknown Result")
    except Interruption:
        raise
    except Exception:  # noqa: BLE001 - Hangup() and friends end with -1, as in Asterisk
        return failure()
    return ok("result=0")


@command("DATABASE GET", dead_ok=True)
async def database_get(session, args):
    if len(args) != 2:
        return usage("DATABASE GET")
    value = session.pbx.database.get((args[0], args[1]))
    return ok("result=0") if value is None else ok(f"result=1 ({value})")


@command("DATABASE PUT", dead_ok=True)
async def database_put(session, args):
    if len(args) != 3:
        return usage("DATABASE PUT")
    session.pbx.database[(args[0], args[1])] = args[2]
    return ok("result=1")


@command("DATABASE DEL", dead_ok=True)
async def database_del(session, args):
    if len(args) != 2:
        return usage("DATABASE DEL")
    found = session.pbx.database.pop((args[0], args[1]), None)
    return ok("result=1" if found is not None else "result=0")
