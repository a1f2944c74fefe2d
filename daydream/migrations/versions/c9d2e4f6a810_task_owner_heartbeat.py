"""task owner and heartbeat: worker_id, heartbeat_at, durable cancel_requested

Revision ID: c9d2e4f6a810
Revises: 6b32b9ba7385
Create Date: 2026-11-24 14:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9d2e4f6a810'
down_revision = '6b32b9ba7385'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker_id', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancel_requested', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('cancel_requested')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('worker_id')
