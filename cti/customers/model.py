"""Pure rules of the customer local database: who a caller is, what a line's status allows,
money in fen, how personal identifiers are kept. No I/O here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

#: A subscriber line's status (用户状态): 正常, 停机 (suspended, e.g. lost phone), 欠费停机, 销户.
LINE_STATUSES = ("normal", "suspended", "arrears", "cancelled")
#: Who changed a line's status.
CHANGE_SOURCES = ("billing", "ivr", "agent")
CUSTOMER_KINDS = ("person", "company")
IMPORT_OUTCOMES = ("applied", "skipped")

STATUS_LABELS = {
    "normal": {"zh": "正常", "en": "in service"},
    "suspended": {"zh": "已停机", "en": "suspended"},
    "arrears": {"zh": "欠费停机", "en": "suspended for arrears"},
    "cancelled": {"zh": "已销户", "en": "cancelled"},
}


@dataclass(frozen=True)
class CallerProfile:
    """Who is calling, as far as the customer database can say."""

    number: str
    known: bool                   # False: no line with this number, or the database could not say
    customer_id: str | None = None
    name: str | None = None
    tier: str = "standard"
    language: str = "zh"          # "zh" | "en"
    status: str | None = None     # the line's status; None for an unknown caller
    product: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class BillSummary:
    period: str                   # "2026-11"
    amount_fen: int
    due_date: dt.date
    paid: bool


@dataclass(frozen=True)
class PaymentSummary:
    amount_fen: int
    paid_at: dt.datetime
    channel: str


@dataclass(frozen=True)
class AccountSummary:
    number: str
    balance_fen: int
    balance_at: dt.datetime | None
    last_bill: BillSummary | None
    last_payment: PaymentSummary | None
    status: str


def unknown_caller(number: str, *, tier: str = "standard", language: str = "zh") -> CallerProfile:
    """A number that matches no line: a standard-tier caller nobody knows."""
    return CallerProfile(number, False, None, None, tier, language, None, None, None)


def is_withheld(number: str) -> bool:
    """No calling number to look up (withheld, or Asterisk's placeholders)."""
    return not number or number.lower() in ("unknown", "anonymous")


def can_suspend(status: str) -> bool:
    """A lost phone can be suspended while the line is in service or suspended for arrears;
    a cancelled line has nothing left to suspend, a suspended one is already suspended."""
    return status in ("normal", "arrears")


def yuan(fen: int) -> str:
    """``1234`` -> ``"12.34"``: for display, computed on integers (never a float)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def mask_id_number(id_number: str) -> str:
    """An identity-card number kept for display: the first 3 and the last 4 characters."""
    id_number = id_number.strip(" ")
    if len(id_number) <= 7:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


def id_number_digest(customer_key: str, id_number: str) -> str:
    """A digest to check an identity number a caller reads out, salted with the customer's key
    (so one table of every possible number does not open every row at once)."""
    text = f"{customer_key}\x00{id_number.strip(' ').upper()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
