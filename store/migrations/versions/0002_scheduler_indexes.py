"""scheduler scan indexes

Covering indexes for the scheduler's scans (scheduler/scans.py): each scan walks one index from
the ticket's state and never reads the ticket rows of tickets that owe nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:20:00
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# name → columns; keep in step with store.models.Ticket.__table_args__
INDEXES = {
    'ix_ticket_scan_due': ['state', 'unit_code', 'internal_due', 'deadline', 'round'],
    'ix_ticket_scan_contact': ['state', 'first_contact_at', 'first_contact_due', 'round', 'unit_code'],
    'ix_ticket_scan_dispatch': ['state', 'dispatched_at', 'unit_code'],
}
# tags are JSON: a btree key on SQLite only (PostgreSQL has no btree operator class for json)
SQLITE_INDEXES = {
    'ix_ticket_scan_report': ['state', 'unit_code', 'progress', 'last_progress_at', 'tags'],
}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, 'tickets', columns, unique=False)
    if _sqlite():
        for name, columns in SQLITE_INDEXES.items():
            op.create_index(name, 'tickets', columns, unique=False)


def downgrade() -> None:
    if _sqlite():
        for name in SQLITE_INDEXES:
            op.drop_index(name, table_name='tickets')
    for name in INDEXES:
        op.drop_index(name, table_name='tickets')
