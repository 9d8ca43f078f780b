"""inbox claims, per-chat order and the shared rate windows

Several instances on one PostgreSQL store: an inbox event is claimed by the instance that wrote
it (``claimed_by`` / ``claimed_until``; another instance takes it over once the claim expires) and
events of one chat (``chat_key``) are processed in id order. ``rate_windows`` keeps each
destination's send window in the store, so a robot's limit holds for the whole deployment.
Hotline events already applied (their id in the audit detail) get their row in the
notifications ledger, which now de-duplicates them by its unique key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 07:20:00
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BATCH = 1000
_HOTLINE_ACTIONS = ('urge', 'reopen', 'extension_decision', 'close')


def _event_slot(event_id: str) -> str:
    # the same function as bot.tickets.hotline_event_slot, frozen here as migrations must be
    return hashlib.sha256(event_id.encode()).hexdigest()[:40]


def upgrade() -> None:
    with op.batch_alter_table('inbox') as batch:
        batch.add_column(sa.Column('chat_key', sa.String(length=300), nullable=True))
        batch.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_inbox_chat_pending', 'inbox', ['chat_key', 'processed_at', 'id'], unique=False)
    op.create_table(
        'rate_windows',
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('stamps', sa.JSON(), nullable=False),
        sa.Column('blocked_until', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    _ledger_hotline_events()


def _ledger_hotline_events() -> None:
    conn = op.get_bind()
    audit = sa.table('audit_events', sa.column('id', sa.Integer), sa.column('ticket_id', sa.Integer),
                     sa.column('action', sa.String), sa.column('detail', sa.JSON),
                     sa.column('at', sa.DateTime(timezone=True)))
    ledger = sa.table('notifications', sa.column('subject', sa.String), sa.column('kind', sa.String),
                      sa.column('slot', sa.String), sa.column('created_at', sa.DateTime(timezone=True)))
    seen: set[tuple[str, str]] = set()
    last = 0
    while True:
        rows = conn.execute(sa.select(audit.c.id, audit.c.ticket_id, audit.c.detail, audit.c.at)
                            .where(audit.c.id > last, audit.c.action.in_(_HOTLINE_ACTIONS))
                            .order_by(audit.c.id).limit(BATCH)).all()
        if not rows:
            break
        new = []
        for r in rows:
            event_id = (r.detail or {}).get('event') if isinstance(r.detail, dict) else None
            key = (f'ticket:{r.ticket_id}', _event_slot(str(event_id))) if event_id else None
            if key and key not in seen:
                seen.add(key)
                new.append({'subject': key[0], 'kind': 'hotline_event', 'slot': key[1], 'created_at': r.at})
        if new:
            conn.execute(ledger.insert(), new)
        last = rows[-1].id


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'hotline_event'")
    op.drop_table('rate_windows')
    op.drop_index('ix_inbox_chat_pending', table_name='inbox')
    with op.batch_alter_table('inbox') as batch:
        batch.drop_column('claimed_until')
        batch.drop_column('claimed_by')
        batch.drop_column('chat_key')
