"""What the IVR needs from the customer local database: one port, four questions.

The IVR never reads the customer tables itself; the daemon plugs an implementation of
:class:`CustomerPort` (the customers capability's). The answers are the customers
capability's value types (:mod:`cti.customers.model`, one definition for both sides); the IVR
reads them by attribute only.
"""
from __future__ import annotations

from typing import Protocol

from twisted.internet import defer

from cti.customers.model import AccountSummary, BillSummary, CallerProfile, PaymentSummary

__all__ = ["AccountSummary", "BillSummary", "CallerProfile", "CustomerPort",
           "PaymentSummary"]


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
