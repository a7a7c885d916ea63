"""Customers and their calling numbers."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, selectinload

from cti.domain.privacy import mask_number
from cti.storage.db import Conflict, NotFound
from cti.storage.models import Customer, CustomerNumber


@dataclasses.dataclass(frozen=True)
class CustomerInfo:
    id: int
    name: str
    tier: str
    language: str
    numbers: tuple[str, ...]


def _info(customer: Customer) -> CustomerInfo:
    return CustomerInfo(
        customer.id, customer.name, customer.tier, customer.language,
        tuple(n.number for n in customer.numbers),
    )


def add_customer(
    session: Session, name: str, numbers: list[str], *, tier: str = "standard",
    language: str = "en", now: dt.datetime | None = None,
) -> CustomerInfo:
    taken = session.scalars(
        select(CustomerNumber.number).where(CustomerNumber.number.in_(numbers))
    ).all()
    if taken:
        raise Conflict(f"numbers already belong to a customer: {', '.join(map(mask_number, taken))}")
    customer = Customer(
        name=name, tier=tier, language=language,
        created_at=now or dt.datetime.now(dt.timezone.utc),
        numbers=[CustomerNumber(number=n) for n in numbers],
    )
    session.add(customer)
    session.flush()
    return _info(customer)


def find_by_number(session: Session, number: str) -> CustomerInfo | None:
    """The customer calling from `number`, or None for an unknown caller.

    Every inbound call asks this: one Core statement (the customer and all its numbers) on
    the session's connection, not an ORM query and its relationship load (two statements,
    and identity-map work for objects thrown away at once)."""
    rows = session.connection().execute(_BY_NUMBER, {"number": number}).all()
    if not rows:
        return None
    first = rows[0]
    return CustomerInfo(first.id, first.name, first.tier, first.language,
                        tuple(row.number for row in rows))


def _by_number() -> Select:
    customers = Customer.__table__
    asked = CustomerNumber.__table__.alias("asked")
    numbers = CustomerNumber.__table__.alias("all_numbers")
    return (
        select(customers.c.id, customers.c.name, customers.c.tier, customers.c.language,
               numbers.c.number)
        .select_from(asked.join(customers, customers.c.id == asked.c.customer_id)
                     .join(numbers, numbers.c.customer_id == customers.c.id))
        .where(asked.c.number == bindparam("number"))
        .order_by(numbers.c.id)
    )


_BY_NUMBER = _by_number()


def get_customer(session: Session, customer_id: int) -> CustomerInfo:
    customer = session.get(Customer, customer_id, options=[selectinload(Customer.numbers)])
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return _info(customer)


def set_tier(session: Session, customer_id: int, tier: str) -> CustomerInfo:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    customer.tier = tier
    return _info(customer)
