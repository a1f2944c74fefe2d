"""user: the balance column is called what every page calls it, credits

Revision ID: d4e8f1a2b3c5
Revises: c3d9e1a7b5f2
Create Date: 2026-11-24 17:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4e8f1a2b3c5'
down_revision = 'c3d9e1a7b5f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_tokens_not_negative'), type_='check')
        batch_op.alter_column('tokens', new_column_name='credits')
        batch_op.create_check_constraint('credits_not_negative', 'credits >= 0')


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_credits_not_negative'), type_='check')
        batch_op.alter_column('credits', new_column_name='tokens')
        batch_op.create_check_constraint('tokens_not_negative', 'tokens >= 0')
