"""The customer local database's tables and the queries the call path, the IVR and the desktop
need. Blocking: run these as units of work (``Database.run``), never on the reactor.

Money is integer fen (分) everywhere, never a float. A customer (客户) holds subscriber lines
(用户); a line is what a caller is identified by (its number) and carries the tier, the
language and the status. History (payments, status changes, bills and their items, call-detail
summaries) hangs off a line and goes with it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from cti.customers.model import (
    CHANGE_SOURCES,
    CUSTOMER_KINDS,
    IMPORT_OUTCOMES,
    LINE_STATUSES,
    AccountSummary,
    BillSummary,
    PaymentSummary,
)
from cti.domain.privacy import mask_number
from cti.storage.db import Base, Conflict, NotFound, UTCDateTime

#: Row ids that may pass 2**31 on a large operator's history tables.
BigId = BigInteger().with_variant(Integer, "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Customer(Base):
    """客户基本资料: one billing-system customer (a person or a company)."""

    __tablename__ = "customers"
    __table_args__ = (CheckConstraint(_one_of("kind", CUSTOMER_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_key: Mapped[str] = mapped_column(String(32), unique=True)   # billing's 客户编号
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(8), default="person")
    id_number_masked: Mapped[str | None] = mapped_column(String(32))      # 证件号 (masked)
    id_number_hash: Mapped[str | None] = mapped_column(String(64))        # to check one read out
    address: Mapped[str | None] = mapped_column(String(255))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SubscriberLine(Base):
    """用户基本资料: a number and what the operator knows about it."""

    __tablename__ = "subscriber_lines"
    __table_args__ = (CheckConstraint(_one_of("status", LINE_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    product: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="normal")
    tier: Mapped[str] = mapped_column(String(16), default="standard")
    region: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    balance_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Payment(Base):
    """缴费历史: one payment on a line."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_line_paid", "line_id", "paid_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    payment_key: Mapped[str] = mapped_column(String(40), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lines.id", ondelete="CASCADE"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(20))


class StatusChange(Base):
    """用户异动: a line's status changed, why, by whom (billing, the IVR or an agent)."""

    __tablename__ = "status_changes"
    __table_args__ = (
        CheckConstraint(_one_of("source", CHANGE_SOURCES), name="source"),
        CheckConstraint(_one_of("new_status", LINE_STATUSES), name="new_status"),
        Index("ix_status_changes_line_changed", "line_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    change_key: Mapped[str] = mapped_column(String(40), unique=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lines.id", ondelete="CASCADE"))
    old_status: Mapped[str | None] = mapped_column(String(12))
    new_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(8))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    call_id: Mapped[str | None] = mapped_column(String(64))


class Bill(Base):
    """客户历史账单: a line's bill for one month (period ``YYYY-MM``)."""

    __tablename__ = "bills"
    __table_args__ = (UniqueConstraint("line_id", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lines.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[dt.date] = mapped_column(Date)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)


class BillItem(Base):
    """One item of a bill (monthly fee, calls, data...)."""

    __tablename__ = "bill_items"
    __table_args__ = (UniqueConstraint("bill_id", "item_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"))
    item_no: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(String(120))
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class CallSummary(Base):
    """用户历史详单, summarised: per line, month and category, counts, minutes and amounts."""

    __tablename__ = "call_summaries"
    __table_args__ = (UniqueConstraint("line_id", "period", "category"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("subscriber_lines.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    category: Mapped[str] = mapped_column(String(20))
    calls: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class ImportBatch(Base):
    """The ledger of batches applied (or skipped by an operator), one row per type and sequence."""

    __tablename__ = "import_batches"
    __table_args__ = (
        UniqueConstraint("record_type", "sequence"),
        CheckConstraint(_one_of("outcome", IMPORT_OUTCOMES), name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(8))
    file_name: Mapped[str | None] = mapped_column(String(255))
    checksum: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(40))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    done_by: Mapped[str] = mapped_column(String(80))


class ImportLock(Base):
    """One row per record type, locked for the length of an import of that type."""

    __tablename__ = "import_locks"

    record_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(80))
    since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# -- the call path -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LineInfo:
    """What the call path needs about the line a caller rings from."""

    number: str
    customer_id: int
    name: str
    tier: str
    language: str
    status: str
    product: str | None
    region: str | None


_LINES = SubscriberLine.__table__
_CUSTOMERS = Customer.__table__

_LINE_BY_NUMBER = (
    select(_LINES.c.number, _LINES.c.customer_id, _CUSTOMERS.c.name, _LINES.c.tier,
           _LINES.c.language, _LINES.c.status, _LINES.c.product, _LINES.c.region)
    .select_from(_LINES.join(_CUSTOMERS, _CUSTOMERS.c.id == _LINES.c.customer_id))
    .where(_LINES.c.number == bindparam("number"))
)


def find_line(session: Session, number: str) -> LineInfo | None:
    """The line ``number`` and its customer, or None: one indexed Core statement, every call."""
    row = session.connection().execute(_LINE_BY_NUMBER, {"number": number}).first()
    return None if row is None else LineInfo(*row)


def account_of(session: Session, number: str) -> AccountSummary | None:
    """Balance, last bill and last payment of a line, or None for an unknown number."""
    line = session.execute(
        select(SubscriberLine.id, SubscriberLine.balance_fen, SubscriberLine.balance_at,
               SubscriberLine.status).where(SubscriberLine.number == number)).first()
    if line is None:
        return None
    bill = session.execute(
        select(Bill.period, Bill.amount_fen, Bill.due_date, Bill.paid)
        .where(Bill.line_id == line.id).order_by(Bill.period.desc()).limit(1)).first()
    payment = session.execute(
        select(Payment.amount_fen, Payment.paid_at, Payment.channel)
        .where(Payment.line_id == line.id)
        .order_by(Payment.paid_at.desc(), Payment.id.desc()).limit(1)).first()
    return AccountSummary(
        number, line.balance_fen, line.balance_at,
        BillSummary(bill.period, bill.amount_fen, bill.due_date, bool(bill.paid)) if bill else None,
        PaymentSummary(payment.amount_fen, payment.paid_at, payment.channel) if payment else None,
        line.status)


def pin_hash_of(session: Session, number: str) -> str | None:
    return session.scalar(select(SubscriberLine.pin_hash).where(SubscriberLine.number == number))


def change_status(session: Session, number: str, new_status: str, *, reason: str, source: str,
                  at: dt.datetime, change_key: str, call_id: str | None = None,
                  keep_if: tuple[str, ...] = ()) -> str:
    """Set a line's status and record the change; the status the line ends with.

    A line already in ``new_status`` (or in one of ``keep_if``) is left alone and no change is
    recorded: asking twice changes nothing. ``change_key`` makes a retried request (same key)
    a no-op too."""
    line = session.execute(
        select(SubscriberLine.id, SubscriberLine.status).where(SubscriberLine.number == number)
        .with_for_update()).first()
    if line is None:
        raise NotFound(f"no line {mask_number(number)}")
    if line.status == new_status or line.status in keep_if:
        return line.status
    if session.scalar(select(StatusChange.id).where(StatusChange.change_key == change_key)):
        return session.scalar(select(SubscriberLine.status).where(SubscriberLine.id == line.id))
    session.execute(update(SubscriberLine).where(SubscriberLine.id == line.id)
                    .values(status=new_status))
    session.add(StatusChange(change_key=change_key, line_id=line.id, old_status=line.status,
                             new_status=new_status, reason=reason[:120], source=source,
                             changed_at=at, call_id=call_id))
    session.flush()
    return new_status


# -- simple administration (tests, demo, benchmarks) -------------------------------------------

@dataclasses.dataclass(frozen=True)
class CustomerInfo:
    id: int
    name: str
    tier: str
    language: str
    numbers: tuple[str, ...]


def add_customer(session: Session, name: str, numbers: list[str], *, tier: str = "standard",
                 language: str = "en", now: dt.datetime | None = None,
                 customer_key: str | None = None, kind: str = "person") -> CustomerInfo:
    """A customer and one line per number, all in ``tier`` and ``language``."""
    taken = session.scalars(
        select(SubscriberLine.number).where(SubscriberLine.number.in_(numbers))).all()
    if taken:
        raise Conflict(f"numbers already belong to a customer: {', '.join(map(mask_number, taken))}")
    customer = Customer(customer_key=customer_key or f"tmp-{numbers[0] if numbers else name}",
                        name=name, kind=kind, created_at=now or dt.datetime.now(dt.timezone.utc))
    session.add(customer)
    session.flush()
    if customer_key is None:
        customer.customer_key = f"C{customer.id:09d}"
    session.add_all([SubscriberLine(number=n, customer_id=customer.id, tier=tier,
                                    language=language, status="normal", balance_fen=0)
                     for n in numbers])
    session.flush()
    return CustomerInfo(customer.id, name, tier, language, tuple(numbers))


def get_customer(session: Session, customer_id: int) -> CustomerInfo:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    lines = session.execute(select(SubscriberLine.number, SubscriberLine.tier,
                                   SubscriberLine.language)
                            .where(SubscriberLine.customer_id == customer_id)
                            .order_by(SubscriberLine.id)).all()
    tier, language = (lines[0].tier, lines[0].language) if lines else ("standard", "zh")
    return CustomerInfo(customer.id, customer.name, tier, language,
                        tuple(line.number for line in lines))


def set_tier(session: Session, customer_id: int, tier: str) -> CustomerInfo:
    """Every line of a customer in ``tier``."""
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"no customer {customer_id}")
    session.execute(update(SubscriberLine).where(SubscriberLine.customer_id == customer_id)
                    .values(tier=tier))
    return get_customer(session, customer_id)


_ASKED = _LINES.alias("asked")
_ALL = _LINES.alias("all_lines")
_CUSTOMER_BY_NUMBER = (
    select(_CUSTOMERS.c.id, _CUSTOMERS.c.name, _ASKED.c.tier, _ASKED.c.language, _ALL.c.number)
    .select_from(_ASKED.join(_CUSTOMERS, _CUSTOMERS.c.id == _ASKED.c.customer_id)
                 .join(_ALL, _ALL.c.customer_id == _CUSTOMERS.c.id))
    .where(_ASKED.c.number == bindparam("number"))
    .order_by(_ALL.c.id)
)


def find_by_number(session: Session, number: str) -> CustomerInfo | None:
    """The customer calling from ``number`` with all its numbers (tier and language: the
    asked line's), or None: one statement."""
    rows = session.connection().execute(_CUSTOMER_BY_NUMBER, {"number": number}).all()
    if not rows:
        return None
    first = rows[0]
    return CustomerInfo(first.id, first.name, first.tier, first.language,
                        tuple(row.number for row in rows))
