"""Customers and their calling numbers."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
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
    """The customer calling from `number`, or None for an unknown caller."""
    customer = session.scalars(
        select(Customer)
        .join(CustomerNumber)
        .where(CustomerNumber.number == number)
        .options(selectinload(Customer.numbers))
    ).first()
    return _info(customer) if customer else None


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
