"""extension chain and several units on one ticket

Tickets count their extension applications (not only grants) and remember a deadline the
hotline fixed (final); a review request knows the stage of its chain (unit leader, office,
hotline); a ticket's assisting units (配合单位) and copied parent units live in ``ticket_units``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('extension_applications', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('extension_final', sa.Boolean(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('assists_waived', sa.Boolean(), nullable=False,
                                   server_default='0'))
    with op.batch_alter_table('review_requests') as batch:
        batch.add_column(sa.Column('stage', sa.String(length=16), nullable=True))
    op.create_table(
        'ticket_units',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('ticket_id', BigId, nullable=False),
        sa.Column('unit_code', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('accepted_by', BigId, nullable=True),
        sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('report', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
        sa.ForeignKeyConstraint(['unit_code'], ['units.code'], ),
        sa.ForeignKeyConstraint(['accepted_by'], ['people.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id', 'unit_code', 'round', name='uq_ticket_unit_round'),
    )
    op.create_index('ix_ticket_units_unit', 'ticket_units', ['unit_code', 'ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ticket_units_unit', table_name='ticket_units')
    op.drop_table('ticket_units')
    with op.batch_alter_table('review_requests') as batch:
        batch.drop_column('stage')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('assists_waived')
        batch.drop_column('extension_final')
        batch.drop_column('extension_applications')
