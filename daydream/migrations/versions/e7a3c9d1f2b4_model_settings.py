"""model settings: staff's display name, size, price factor, enabled and default per model;
each user's own default model

Revision ID: e7a3c9d1f2b4
Revises: d4e8f1a2b3c5
Create Date: 2026-11-24 17:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e7a3c9d1f2b4'
down_revision = 'd4e8f1a2b3c5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('model_setting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('price', sa.Float(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('price IS NULL OR price > 0', name=op.f('ck_model_setting_price_positive')),
    sa.CheckConstraint('width IS NULL OR width > 0', name=op.f('ck_model_setting_width_positive')),
    sa.CheckConstraint('height IS NULL OR height > 0', name=op.f('ck_model_setting_height_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_setting')),
    sa.UniqueConstraint('name', name=op.f('uq_model_setting_name'))
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_model', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('default_model')
    op.drop_table('model_setting')
