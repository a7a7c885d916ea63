"""Agent PINs for the phone feature codes, and the post-call survey score on the contact.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Both nullable: agents without a PIN cannot log in from a phone until one is set
    # (ctictl agent pin), and past contacts were never surveyed.
    op.add_column("agents", sa.Column("pin_hash", sa.String(255), nullable=True))
    op.add_column("contacts", sa.Column("survey_score", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("survey_score")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("pin_hash")
