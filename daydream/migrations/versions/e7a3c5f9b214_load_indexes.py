"""load: indexes for the latest finished tasks, a person's tasks by state, shared images,
recent tasks and ledger rows (dashboard);
image.user_id (the task's owner) so a person's library is read by index

Revision ID: e7a3c5f9b214
Revises: e7a3c9d1f2b4
Create Date: 2026-11-24 18:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e7a3c5f9b214'
down_revision = 'e7a3c9d1f2b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_state_finished_at', ['state', 'finished_at'], unique=False)
        batch_op.create_index('ix_task_user_id_state', ['user_id', 'state'], unique=False)
        batch_op.create_index('ix_task_created_at', ['created_at'], unique=False)
    with op.batch_alter_table('credit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_credit_entry_created_at', ['created_at'], unique=False)
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
    # Every existing image belongs to its task's owner.
    op.execute('UPDATE image SET user_id = (SELECT task.user_id FROM task '
               'WHERE task.id = image.task_id)')
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_image_user_id_user'), 'user', ['user_id'],
                                    ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_image_public_id', ['public', 'id'], unique=False)
        batch_op.create_index('ix_image_user_id_id', ['user_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_index('ix_image_user_id_id')
        batch_op.drop_index('ix_image_public_id')
        batch_op.drop_constraint(batch_op.f('fk_image_user_id_user'), type_='foreignkey')
        batch_op.drop_column('user_id')
    with op.batch_alter_table('credit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_entry_created_at')
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_created_at')
        batch_op.drop_index('ix_task_user_id_state')
        batch_op.drop_index('ix_task_state_finished_at')
