"""attachments: images and files of 进展, 答复, 退单 and 说明

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'attachments',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('platform', sa.String(length=32), nullable=False),
        sa.Column('chat_id', sa.String(length=200), nullable=False),
        sa.Column('message_id', sa.String(length=200), nullable=True),
        sa.Column('person_id', sa.Integer(), sa.ForeignKey('people.id'), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=True),
        sa.Column('round', sa.Integer(), nullable=True),
        sa.Column('purpose', sa.String(length=16), nullable=True),
        sa.Column('attached_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_attachment_pending', 'attachments', ['platform', 'chat_id', 'person_id', 'received_at'])
    op.create_index('ix_attachment_ticket', 'attachments', ['ticket_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_attachment_ticket', table_name='attachments')
    op.drop_index('ix_attachment_pending', table_name='attachments')
    op.drop_table('attachments')
