"""supervision: running clocks, the 包案 leader, the C-class plan, 督办 levels, give-back due

Tickets learn which clock they run on (``clock = 'calendar'``: hours or natural days, reminded on
every calendar day), their 主管/包案 leader, when the 平顶山 C-class plan was reported, their 督办
level with its duty's due time and when it was met, and when a give-back must be returned.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None

_DT = sa.DateTime(timezone=True)
COLUMNS = (
    ('clock', sa.String(length=16)),
    ('lead_leader', sa.String(length=100)),
    ('plan_at', _DT),
    ('supervision_level', sa.String(length=16)),
    ('supervision_at', _DT),
    ('supervision_due', _DT),
    ('supervision_met_at', _DT),
    ('giveback_due', _DT),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column('tickets', sa.Column(name, type_, nullable=True))
    op.create_index('ix_ticket_scan_clock', 'tickets', ['clock', 'state', 'unit_code'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ticket_scan_clock', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
