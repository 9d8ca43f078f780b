"""ticket content digest for the 重复件 lookup

The earlier-duplicate lookup (same phone, the very same words) used an index on the phone alone,
so a frequent caller's every ticket was read and its text compared. Tickets now carry a digest of
their words, and one index on (phone, digest, received) finds the candidates directly; it also
serves the phone-only lookups, so it replaces the phone index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:50:00
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BATCH = 1000


def _digest(content: str) -> str:
    # the same function as store.models.content_digest, frozen here as migrations must be
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def upgrade() -> None:
    op.add_column('tickets', sa.Column('content_digest', sa.String(length=32), nullable=True))
    conn = op.get_bind()
    tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('content', sa.Text),
                       sa.column('content_digest', sa.String))
    last = 0
    while True:
        rows = conn.execute(sa.select(tickets.c.id, tickets.c.content).where(tickets.c.id > last)
                            .order_by(tickets.c.id).limit(BATCH)).all()
        if not rows:
            break
        conn.execute(tickets.update().where(tickets.c.id == sa.bindparam('tid'))
                     .values(content_digest=sa.bindparam('digest')),
                     [{'tid': r.id, 'digest': _digest(r.content)} for r in rows])
        last = rows[-1].id
    op.create_index('ix_ticket_twins', 'tickets', ['citizen_phone', 'content_digest', 'received_at'], unique=False)
    op.drop_index('ix_ticket_citizen_phone', table_name='tickets')


def downgrade() -> None:
    op.create_index('ix_ticket_citizen_phone', 'tickets', ['citizen_phone'], unique=False)
    op.drop_index('ix_ticket_twins', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('content_digest')
