"""task: inpainting mask and settings, hires fix, batch count

Revision ID: c3d9e1a7b5f2
Revises: c9d2e4f6a810
Create Date: 2026-11-24 14:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3d9e1a7b5f2'
down_revision = 'c9d2e4f6a810'
branch_labels = None
depends_on = None

COLUMNS = [
    ('mask', sa.String(length=255), None),
    ('mask_blur', sa.Integer(), '4'),
    ('inpainting_fill', sa.String(length=16), 'original'),
    ('inpaint_full_res', sa.Boolean(), sa.false()),
    ('inpaint_full_res_padding', sa.Integer(), '32'),
    ('n_iter', sa.Integer(), '1'),
    ('enable_hr', sa.Boolean(), sa.false()),
    ('hr_scale', sa.Float(), '2'),
    ('hr_upscaler', sa.String(length=16), 'Latent'),
    ('hr_second_pass_steps', sa.Integer(), '0'),
    ('hr_resize_x', sa.Integer(), '0'),
    ('hr_resize_y', sa.Integer(), '0'),
]


def upgrade():
    with op.batch_alter_table('task', schema=None) as batch_op:
        for name, kind, default in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=default is None,
                                          server_default=default))


def downgrade():
    with op.batch_alter_table('task', schema=None) as batch_op:
        for name, _, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
