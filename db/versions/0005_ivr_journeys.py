"""IVR: every caller's journey through a flow, and voice messages left for the complaints team.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ivr_journeys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("caller_number", sa.String(32), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("tier", sa.String(16), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("skill", sa.String(40), nullable=True),
        sa.Column("last_node", sa.String(64), nullable=True),
        sa.Column("self_served", sa.Boolean(), nullable=False),
        sa.Column("contained", sa.Boolean(), nullable=False),
        sa.Column("path", sa.String(255), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_journeys")),
        sa.UniqueConstraint("journey_id", name=op.f("uq_ivr_journeys_journey_id")),
    )
    op.create_index(op.f("ix_ivr_journeys_call_id"), "ivr_journeys", ["call_id"])
    op.create_index(op.f("ix_ivr_journeys_started_at"), "ivr_journeys", ["started_at"])
    op.create_index("ix_ivr_journeys_flow_started_at", "ivr_journeys", ["flow", "started_at"])
    op.create_table(
        "ivr_voice_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("caller_number", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("customer_name", sa.String(120), nullable=True),
        sa.Column("file", sa.String(255), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_voice_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_ivr_voice_messages_message_id")),
    )
    for column in ("call_id", "caller_number", "customer_id", "recorded_at"):
        op.create_index(op.f(f"ix_ivr_voice_messages_{column}"), "ivr_voice_messages", [column])


def downgrade() -> None:
    for column in ("recorded_at", "customer_id", "caller_number", "call_id"):
        op.drop_index(op.f(f"ix_ivr_voice_messages_{column}"), table_name="ivr_voice_messages")
    op.drop_table("ivr_voice_messages")
    op.drop_index("ix_ivr_journeys_flow_started_at", table_name="ivr_journeys")
    op.drop_index(op.f("ix_ivr_journeys_started_at"), table_name="ivr_journeys")
    op.drop_index(op.f("ix_ivr_journeys_call_id"), table_name="ivr_journeys")
    op.drop_table("ivr_journeys")
