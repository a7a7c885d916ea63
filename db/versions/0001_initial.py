"""Initial schema: customers, agents, skills, users, contacts, recordings, queue_log, audit_log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_table(
        "customer_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], ondelete="CASCADE",
            name=op.f("fk_customer_numbers_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_customer_numbers_number")),
    )
    op.create_index(
        op.f("ix_customer_numbers_customer_id"), "customer_numbers", ["customer_id"]
    )

    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("endpoint", sa.String(80), nullable=False),
        sa.Column("agent_group", sa.String(16), nullable=False),
        sa.Column("team", sa.String(40), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "agent_group IN ('vip', 'general')", name=op.f("ck_agents_agent_group")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("number", name=op.f("uq_agents_number")),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("name", name=op.f("uq_skills_name")),
    )
    op.create_table(
        "agent_skills",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("proficiency", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "proficiency BETWEEN 1 AND 10", name=op.f("ck_agent_skills_proficiency")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], ondelete="CASCADE",
            name=op.f("fk_agent_skills_agent_id_agents"),
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], ondelete="CASCADE",
            name=op.f("fk_agent_skills_skill_id_skills"),
        ),
        sa.PrimaryKeyConstraint("agent_id", "skill_id", name=op.f("pk_agent_skills")),
    )
    op.create_index(op.f("ix_agent_skills_skill_id"), "agent_skills", ["skill_id"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('agent', 'supervisor', 'admin')", name=op.f("ck_users_role")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], ondelete="SET NULL",
            name=op.f("fk_users_agent_id_agents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_agent_id"), "users", ["agent_id"])

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("uniqueid", sa.String(64), nullable=False),
        sa.Column("caller_number", sa.String(32), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("tier", sa.String(16), nullable=True),
        sa.Column("skill", sa.String(40), nullable=True),
        sa.Column("ivr_path", sa.String(255), nullable=True),
        sa.Column("arrived_at", TIMESTAMP, nullable=False),
        sa.Column("offered_at", TIMESTAMP, nullable=True),
        sa.Column("answered_at", TIMESTAMP, nullable=True),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("abandoned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("wait_seconds", sa.Float(), nullable=True),
        sa.Column("talk_seconds", sa.Float(), nullable=True),
        sa.Column("agent_number", sa.String(20), nullable=True),
        sa.Column("disposition", sa.String(40), nullable=True),
        sa.Column("recording_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("call_id", name=op.f("uq_contacts_call_id")),
    )
    for column in ("linkedid", "caller_number", "customer_id", "arrived_at", "agent_number"):
        op.create_index(op.f(f"ix_contacts_{column}"), "contacts", [column])

    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(128), nullable=False),
        sa.Column("file_path", sa.String(255), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("agent_number", sa.String(20), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_recordings_recording_id")),
    )
    for column in ("call_id", "agent_number", "customer_id"):
        op.create_index(op.f(f"ix_recordings_{column}"), "recordings", [column])

    op.create_table(
        "queue_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True, nullable=False,
        ),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("callid", sa.String(80), nullable=False),
        sa.Column("queuename", sa.String(256), nullable=False),
        sa.Column("agent", sa.String(80), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("data1", sa.String(100), nullable=True),
        sa.Column("data2", sa.String(100), nullable=True),
        sa.Column("data3", sa.String(100), nullable=True),
        sa.Column("data4", sa.String(100), nullable=True),
        sa.Column("data5", sa.String(100), nullable=True),
        sa.Column("line_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_log")),
        sa.UniqueConstraint("line_id", name=op.f("uq_queue_log_line_id")),
    )
    op.create_index(op.f("ix_queue_log_time"), "queue_log", ["time"])
    op.create_index(op.f("ix_queue_log_callid"), "queue_log", ["callid"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(32), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject_type", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("detail", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_audit_log_entry_id")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"])


def downgrade() -> None:
    for table in (
        "audit_log", "queue_log", "recordings", "contacts", "users",
        "agent_skills", "skills", "agents", "customer_numbers", "customers",
    ):
        op.drop_table(table)
