"""library and account self-service: favourites, task model, email verification, deletion

Revision ID: c3d9e5a7b101
Revises: 5c2e9d0a7b14
Create Date: 2026-11-24 13:55:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c3d9e5a7b101'
down_revision = '5c2e9d0a7b14'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('favourite', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model', sa.String(length=200), nullable=True))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('email_verified_at')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('model')
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_column('favourite')
