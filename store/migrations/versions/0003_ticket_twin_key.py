"""ticket twin key for the 重复件 lookup

The earlier-duplicate lookup (same phone, the very same words) used an index on the phone alone,
so a frequent caller's every ticket was read and its text compared. Tickets now carry one digest
of phone and words, and an index on (twin_key, received_at) finds the candidates directly. The
phone index served nothing else and is dropped.

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


def _twin_key(phone: str | None, content: str) -> str | None:
    # the same function as store.models.twin_key, frozen here as migrations must be
    if not phone:
        return None
    return hashlib.sha256(f"{phone}\x1f{content}".encode()).hexdigest()[:32]


def upgrade() -> None:
    op.add_column('tickets', sa.Column('twin_key', sa.String(length=32), nullable=True))
    conn = op.get_bind()
    tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('content', sa.Text),
                       sa.column('citizen_phone', sa.String), sa.column('twin_key', sa.String))
    last = 0
    while True:
        rows = conn.execute(sa.select(tickets.c.id, tickets.c.citizen_phone, tickets.c.content)
                            .where(tickets.c.id > last).order_by(tickets.c.id).limit(BATCH)).all()
        if not rows:
            break
        keyed = [{'tid': r.id, 'key': _twin_key(r.citizen_phone, r.content)} for r in rows]
        keyed = [k for k in keyed if k['key'] is not None]
        if keyed:
            conn.execute(tickets.update().where(tickets.c.id == sa.bindparam('tid'))
                         .values(twin_key=sa.bindparam('key')), keyed)
        last = rows[-1].id
    op.create_index('ix_ticket_twins', 'tickets', ['twin_key', 'received_at'], unique=False)
    op.drop_index('ix_ticket_citizen_phone', table_name='tickets')


def downgrade() -> None:
    op.create_index('ix_ticket_citizen_phone', 'tickets', ['citizen_phone'], unique=False)
    op.drop_index('ix_ticket_twins', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('twin_key')
