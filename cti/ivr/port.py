"""What the IVR needs from the customer local database: one port, four questions.

The IVR never reads the customer tables itself; the daemon plugs an implementation of
:class:`CustomerPort` (the customers capability's). The value types below are what the IVR
reads from the answers, by attribute; any object with those attributes will do.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from twisted.internet import defer

LINE_STATUSES = ("normal", "suspended", "arrears", "cancelled")


@dataclass(frozen=True)
class CallerProfile:
    number: str
    known: bool
    customer_id: str | None = None
    name: str | None = None
    tier: str = "standard"
    language: str = "zh"                 # "zh" | "en"
    status: str | None = None            # one of LINE_STATUSES, None when unknown
    product: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class BillSummary:
    period: str                          # "2026-11"
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
    status: str | None


class CustomerPort(Protocol):
    def lookup(self, number: str) -> defer.Deferred:
        """Deferred[CallerProfile]; never errbacks (an outage answers an unknown caller)."""

    def account(self, number: str) -> defer.Deferred:
        """Deferred[AccountSummary | None]."""

    def verify_pin(self, number: str, pin: str) -> defer.Deferred:
        """Deferred[bool]."""

    def suspend_line(self, number: str, *, reason: str, source: str = "ivr",
                     call_id: str | None = None) -> defer.Deferred:
        """Deferred[str]: the line's new status; the status change is recorded."""
