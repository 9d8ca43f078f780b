"""reading the tickets: suggestion models, and a citizen's recent tickets for near-duplicates
and an address's recent tickets for 涉众

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'text_models',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('n_train', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('version'),
    )
    op.create_index('ix_ticket_phone_received', 'tickets', ['citizen_phone', 'received_at'], unique=False)
    op.create_index('ix_ticket_address_received', 'tickets', ['address', 'received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ticket_address_received', table_name='tickets')
    op.drop_index('ix_ticket_phone_received', table_name='tickets')
    op.drop_table('text_models')
