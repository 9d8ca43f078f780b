"""ticket 复查 window

A 信访 answer tells the citizen they may ask for 复查 within 30 days of receiving it; the end of
that window is kept on the ticket (``reconsider_until``) and shown with it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tickets', sa.Column('reconsider_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('reconsider_until')
