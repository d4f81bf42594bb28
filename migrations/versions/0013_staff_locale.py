"""languages: the console's language for each staff member

Revision ID: 0013_staff_locale
Revises: 0012_locale
Create Date: 2026-12-07 15:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import scheduler.foundation.database


# revision identifiers, used by Alembic.
revision = '0013_staff_locale'
down_revision = '0012_locale'
branch_labels = None
depends_on = None


def upgrade():
    # The language a member chose for the console (en, es). Existing rows keep null: their browser's
    # language, then the clinic's.
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('locale')
