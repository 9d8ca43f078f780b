"""DingTalk signature pairs shared by every instance (replayed header pairs refused everywhere)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 10:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'signature_pairs',
        sa.Column('bot', sa.String(length=100), nullable=False),
        sa.Column('timestamp', sa.String(length=16), nullable=False),
        sa.Column('sign', sa.String(length=64), nullable=False),
        sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
        sa.Column('stamp_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('bot', 'timestamp', 'sign'),
    )
    op.create_index('ix_signature_pair_stamp', 'signature_pairs', ['stamp_ms'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_signature_pair_stamp', table_name='signature_pairs')
    op.drop_table('signature_pairs')
