"""The customer local database: customers, subscriber lines, payments, status changes, bills and
their items, call-detail summaries, and the import ledger and locks.

Existing rows move over: each customer keeps its id (contacts and recordings refer to it) and
gets a billing key ``C<id>``; each of its numbers becomes one of its lines, in service, in the
customer's tier and language, with the same id.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUSES = "('normal', 'suspended', 'arrears', 'cancelled')"


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _line_fk(table: str):
    return sa.ForeignKeyConstraint(["line_id"], ["subscriber_lines.id"], ondelete="CASCADE",
                                   name=op.f(f"fk_{table}_line_id_subscriber_lines"))


def _create_new() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_key", sa.String(32), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("id_number_masked", sa.String(32), nullable=True),
        sa.Column("id_number_hash", sa.String(64), nullable=True),
        sa.Column("address", sa.String(255), nullable=True),
        sa.Column("contact_phone", sa.String(32), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("kind IN ('person', 'company')", name=op.f("ck_customers_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("customer_key", name=op.f("uq_customers_customer_key")),
    )
    op.create_table(
        "subscriber_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(40), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("region", sa.String(16), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("pin_hash", sa.String(255), nullable=True),
        sa.Column("balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("balance_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(f"status IN {STATUSES}", name=op.f("ck_subscriber_lines_status")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE",
                                name=op.f("fk_subscriber_lines_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber_lines")),
        sa.UniqueConstraint("number", name=op.f("uq_subscriber_lines_number")),
    )
    op.create_index(op.f("ix_subscriber_lines_customer_id"), "subscriber_lines", ["customer_id"])
    op.create_table(
        "payments",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("payment_key", sa.String(40), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", TIMESTAMP, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        _line_fk("payments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("payment_key", name=op.f("uq_payments_payment_key")),
    )
    op.create_index("ix_payments_line_paid", "payments", ["line_id", "paid_at"])
    op.create_table(
        "status_changes",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("change_key", sa.String(40), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("old_status", sa.String(12), nullable=True),
        sa.Column("new_status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(120), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("changed_at", TIMESTAMP, nullable=False),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.CheckConstraint("source IN ('billing', 'ivr', 'agent')",
                           name=op.f("ck_status_changes_source")),
        sa.CheckConstraint(f"new_status IN {STATUSES}", name=op.f("ck_status_changes_new_status")),
        _line_fk("status_changes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_changes")),
        sa.UniqueConstraint("change_key", name=op.f("uq_status_changes_change_key")),
    )
    op.create_index("ix_status_changes_line_changed", "status_changes", ["line_id", "changed_at"])
    op.create_table(
        "bills",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        _line_fk("bills"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bills")),
        sa.UniqueConstraint("line_id", "period", name=op.f("uq_bills_line_id_period")),
    )
    op.create_table(
        "bill_items",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("bill_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_no", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("description", sa.String(120), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["bill_id"], ["bills.id"], ondelete="CASCADE",
                                name=op.f("fk_bill_items_bill_id_bills")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_items")),
        sa.UniqueConstraint("bill_id", "item_no", name=op.f("uq_bill_items_bill_id_item_no")),
    )
    op.create_table(
        "call_summaries",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        _line_fk("call_summaries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_summaries")),
        sa.UniqueConstraint("line_id", "period", "category", name=op.f("uq_call_summaries_line_id_period_category")),
    )
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("checksum", sa.String(64), nullable=True),
        sa.Column("source", sa.String(40), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("done_at", TIMESTAMP, nullable=False),
        sa.Column("done_by", sa.String(80), nullable=False),
        sa.CheckConstraint("outcome IN ('applied', 'skipped')",
                           name=op.f("ck_import_batches_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
        sa.UniqueConstraint("record_type", "sequence", name=op.f("uq_import_batches_record_type_sequence")),
    )
    op.create_table(
        "import_locks",
        sa.Column("record_type", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(80), nullable=True),
        sa.Column("since", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("record_type", name=op.f("pk_import_locks")),
    )


def _create_old(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )


def _reset_sequence(table: str) -> None:
    if _pg():
        op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                   f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def upgrade() -> None:
    op.rename_table("customers", "customers_v3")
    if _pg():
        op.execute("ALTER TABLE customers_v3 RENAME CONSTRAINT pk_customers TO pk_customers_v3")
    _create_new()
    key = "'C' || lpad(CAST(id AS TEXT), 9, '0')" if _pg() else "'C' || printf('%09d', id)"
    op.execute(f"INSERT INTO customers (id, customer_key, name, kind, created_at) "
               f"SELECT id, {key}, name, 'person', created_at FROM customers_v3")
    op.execute("INSERT INTO subscriber_lines (id, number, customer_id, status, tier, language, "
               "balance_fen) SELECT n.id, n.number, n.customer_id, 'normal', c.tier, c.language, 0 "
               "FROM customer_numbers n JOIN customers_v3 c ON c.id = n.customer_id")
    op.drop_index(op.f("ix_customer_numbers_customer_id"), table_name="customer_numbers")
    op.drop_table("customer_numbers")
    op.drop_table("customers_v3")
    _reset_sequence("customers")
    _reset_sequence("subscriber_lines")


def downgrade() -> None:
    """Back to one tier per customer (its first line's) and bare numbers; history is lost."""
    _create_old("customers_v3")
    op.execute("INSERT INTO customers_v3 (id, name, tier, language, created_at) "
               "SELECT c.id, c.name, COALESCE((SELECT l.tier FROM subscriber_lines l WHERE "
               "l.customer_id = c.id ORDER BY l.id LIMIT 1), 'standard'), "
               "COALESCE((SELECT l.language FROM subscriber_lines l WHERE "
               "l.customer_id = c.id ORDER BY l.id LIMIT 1), 'en'), c.created_at FROM customers c")
    op.execute("CREATE TEMPORARY TABLE saved_numbers AS SELECT id, customer_id, number "
               "FROM subscriber_lines")
    for table in ("import_locks", "import_batches", "call_summaries", "bill_items", "bills"):
        op.drop_table(table)
    op.drop_index("ix_status_changes_line_changed", table_name="status_changes")
    op.drop_table("status_changes")
    op.drop_index("ix_payments_line_paid", table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_subscriber_lines_customer_id"), table_name="subscriber_lines")
    op.drop_table("subscriber_lines")
    op.drop_table("customers")
    op.rename_table("customers_v3", "customers")
    if _pg():
        op.execute("ALTER TABLE customers RENAME CONSTRAINT pk_customers_v3 TO pk_customers")
    op.create_table(
        "customer_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE",
                                name=op.f("fk_customer_numbers_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_customer_numbers_number")),
    )
    op.create_index(op.f("ix_customer_numbers_customer_id"), "customer_numbers", ["customer_id"])
    op.execute("INSERT INTO customer_numbers (id, customer_id, number) "
               "SELECT id, customer_id, number FROM saved_numbers")
    op.execute("DROP TABLE saved_numbers")
    _reset_sequence("customers")
    _reset_sequence("customer_numbers")
