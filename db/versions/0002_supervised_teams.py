"""Supervised teams: the teams a supervisor watches, beyond the team of their own agent.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervised_teams",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE",
            name=op.f("fk_supervised_teams_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("user_id", "team", name=op.f("pk_supervised_teams")),
    )


def downgrade() -> None:
    op.drop_table("supervised_teams")
