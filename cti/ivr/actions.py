"""Self-service actions a flow may call, and how amounts and dates are said.

Each action is ``async def action(journey, node) -> outcome`` (the outcomes are declared in
:data:`cti.ivr.model.ACTIONS`). They read and write the customer database only through the
port (:mod:`cti.ivr.port`) and speak only with prompts of the catalogue and Asterisk's own say
commands (``SAY NUMBER``, ``SAY DIGITS``, ``SAY DATETIME``) in the channel's language.

* ``bill-inquiry``  话费查询: balance (or what is owed), last bill and its due date, last payment.
* ``suspend-line``  紧急停机: the PIN (``tries`` attempts, default 3; then ``pin-failed``, which a
  flow sends to an agent), the line suspended through the port, the caller told.
* ``voice-message`` 录音留言: ``RECORD FILE`` with a beep, a maximum length and an end on
  silence or ``#``; stored with the caller, number, customer, call id, length and file.
* ``greet-by-name`` VIP greeting: the customer's own name prompt ``cti/names/<customer_id>``
  where the PBX has it (``STREAM FILE`` fails for a missing file), else the tier's greeting.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from cti.agi_errors import CHANNEL_GONE, AGICommandFailed, AGIHangup
from cti.domain.privacy import mask_number
from cti.ivr.journey import SELF_SERVICE  # noqa: F401  (the actions that serve the caller)

log = logging.getLogger(__name__)

PIN_DIGITS = 8
PIN_TIMEOUT_MS = 8000
SAMPLES_PER_SECOND = 8000
MIN_MESSAGE_SECONDS = 0.5          # shorter: a slip of the key, not a message
DATE_FORMAT = {"zh": "YBd", "en": "BdY"}     # SAY DATETIME formats: year month day / month day year
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class VoiceMessage:
    call_id: str
    caller_number: str
    customer_id: str | None
    customer_name: str | None
    file: str                      # Asterisk's path, without the format's extension
    format: str
    duration: float                # seconds
    recorded_at: float             # epoch seconds


# -- saying things ------------------------------------------------------------------------------
async def say(journey, say_as: str, value: Any) -> None:
    session = journey.session
    if say_as == "amount":
        await say_amount(journey, int(value))
    elif say_as == "number":
        await session.command("SAY", "NUMBER", int(value), "")
    elif say_as == "digits":
        digits = "".join(ch for ch in str(value) if ch.isdigit())
        if digits:
            await session.command("SAY", "DIGITS", digits, "")
    elif say_as == "date":
        await say_date(journey, value)
    else:
        raise ValueError(f"cannot say as {say_as!r}")


async def say_amount(journey, fen: int) -> None:
    """``fen`` as 元 / 角 / 分 (yuan, jiao, fen): each part said that is not zero, and at
    least the yuan."""
    yuan, jiao, cents = abs(fen) // 100, abs(fen) % 100 // 10, abs(fen) % 10
    session = journey.session
    if yuan or not (jiao or cents):
        await session.command("SAY", "NUMBER", yuan, "")
        await journey.play("cti/yuan")
    if jiao:
        await session.command("SAY", "NUMBER", jiao, "")
        await journey.play("cti/jiao")
    if cents:
        await session.command("SAY", "NUMBER", cents, "")
        await journey.play("cti/fen")


async def say_date(journey, value: Any) -> None:
    """A date (or a datetime: its day) with ``SAY DATETIME`` at noon of that day in the
    centre's time zone, so no time zone moves it to the day before."""
    zone = ZoneInfo(journey.settings.timezone)
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).astimezone(zone).date()
    at = dt.datetime(value.year, value.month, value.day, 12, tzinfo=zone)
    language = journey.caller.language if journey.caller.language in DATE_FORMAT else "zh"
    await journey.session.command("SAY", "DATETIME", int(at.timestamp()), "",
                                  DATE_FORMAT[language], journey.settings.timezone)


# -- the actions --------------------------------------------------------------------------------
async def bill_inquiry(journey, node) -> str:
    number = journey.caller.number
    try:
        account = await journey.runner.customers.account(number)
    except Exception as exc:
        log.warning("call %s: account of %s not available (%s)", journey.call.call_id,
                    mask_number(number), type(exc).__name__)
        await journey.play("cti/sorry-failed")
        return "failed"
    if account is None:
        await journey.play("cti/bill/no-account")
        return "no-account"
    if account.balance_fen >= 0:
        await journey.play("cti/bill/balance")
    else:
        await journey.play("cti/bill/owing")
    await say_amount(journey, account.balance_fen)
    bill = account.last_bill
    if bill is not None:
        await journey.play("cti/bill/last-bill")
        await say_amount(journey, bill.amount_fen)
        await journey.play("cti/bill/due")
        await say_date(journey, bill.due_date)
    payment = account.last_payment
    if payment is not None:
        await journey.play("cti/bill/last-payment")
        await say_amount(journey, payment.amount_fen)
        await say_date(journey, payment.paid_at)
    return "done"


async def _pin_checked(journey, tries: int) -> str:
    """Ask for the line's PIN up to ``tries`` times: "verified", "failed" (wrong every time)
    or "error" (the database could not say). ``results["pin"]`` says which; the PIN itself is
    never logged or kept."""
    caller, port = journey.caller, journey.runner.customers
    for attempt in range(tries):
        pin = await journey.read("cti/emergency/enter-pin", PIN_TIMEOUT_MS, PIN_DIGITS)
        try:
            right = bool(pin) and bool(await port.verify_pin(caller.number, pin))
        except Exception as exc:
            log.warning("call %s: PIN check failed (%s)", journey.call.call_id, type(exc).__name__)
            await journey.play("cti/sorry-failed")
            return "error"
        journey.step(kind="pin", attempt=attempt + 1, right=right)     # never the PIN itself
        if right:
            journey.results["pin"] = "verified"
            return "verified"
        await journey.play("cti/emergency/wrong-pin")
    journey.results["pin"] = "failed"
    return "failed"


async def verify_pin(journey, node) -> str:
    """The caller proves who they are (an agent sends them here: 人工转自动)."""
    if not journey.caller.known:
        await journey.play("cti/verify/no-account")
        return "no-account"
    checked = await _pin_checked(journey, node.get("tries", 3))
    if checked == "verified":
        await journey.play("cti/verify/verified")
        return "done"
    return "failed" if checked == "error" else "pin-failed"


async def suspend_line(journey, node) -> str:
    caller, port = journey.caller, journey.runner.customers
    if not caller.known:
        await journey.play("cti/emergency/no-account")
        return "no-account"
    checked = await _pin_checked(journey, node.get("tries", 3))
    if checked != "verified":
        return "failed" if checked == "error" else "pin-failed"
    try:
        status = await port.suspend_line(caller.number, reason="lost-phone", source="ivr",
                                         call_id=journey.call.call_id)
    except Exception as exc:
        log.warning("call %s: line %s not suspended (%s)", journey.call.call_id,
                    mask_number(caller.number), exc)
        await journey.play("cti/sorry-failed")
        return "failed"
    journey.results["line_status"] = str(status)
    log.info("call %s: line %s suspended from the IVR (lost phone)", journey.call.call_id,
             mask_number(caller.number))
    await journey.play("cti/emergency/suspended")
    return "done"


async def voice_message(journey, node) -> str:
    settings, session, call = journey.settings, journey.session, journey.call
    await journey.play("cti/complaint/leave-message")
    earlier = sum(1 for step in journey.steps if step.get("kind") == "record")
    path = f"{settings.voice_dir.rstrip('/')}/{_safe(call.call_id)}" + (
        f"-{earlier + 1}" if earlier else "")          # a second try does not overwrite
    max_ms = node.get("max_seconds", 120) * 1000
    silence = node.get("silence_seconds", 5)
    started = journey.runner.clock.seconds()
    hung_up = False
    endpos = None
    try:
        result = await session.command("RECORD", "FILE", path, settings.voice_format, "#",
                                       max_ms, 0, "BEEP", f"s={silence}")
        endpos = result.endpos
        hung_up = result.number == -1
    except CHANNEL_GONE:
        hung_up = True
    ended = journey.runner.clock.seconds()
    duration = endpos / SAMPLES_PER_SECOND if endpos else ended - started
    duration = round(min(duration, max_ms / 1000), 1)
    if duration < MIN_MESSAGE_SECONDS:
        journey.step(kind="record", seconds=duration)
        if hung_up:
            raise AGIHangup("hung up while recording")
        return "empty"
    message = VoiceMessage(call.call_id, journey.caller.number, journey.caller.customer_id,
                           journey.caller.name, path, settings.voice_format, duration, started)
    journey.step(kind="record", seconds=duration)
    if journey.runner.voice_messages is not None:
        journey.runner.voice_messages(message)
    if hung_up:                 # the message is kept: a caller often hangs up to end it
        journey.results["voice-message"] = "done"
        journey.step(kind="action", action="voice-message", outcome="done")
        raise AGIHangup("hung up after recording")
    await journey.play("cti/complaint/thanks")
    return "done"


async def greet_by_name(journey, node) -> str:
    customer_id = journey.caller.customer_id
    if customer_id and _SAFE_ID.match(str(customer_id)):
        try:
            await journey.session.stream_file(f"cti/names/{customer_id}")
            return "named"
        except AGICommandFailed:            # no recording of this customer's name
            pass
    tier = journey.call.tier if journey.call is not None else journey.caller.tier
    prompt = (node.get("tier_prompts") or {}).get(tier) or node.get("prompt")
    if prompt:
        await journey.play(prompt)
    return "tier"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80]


ACTIONS = {
    "bill-inquiry": bill_inquiry,
    "suspend-line": suspend_line,
    "voice-message": voice_message,
    "greet-by-name": greet_by_name,
    "verify-pin": verify_pin,
}
