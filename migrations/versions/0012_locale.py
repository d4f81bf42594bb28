"""languages: enrolments' and intakes' locale

Revision ID: 0012_locale
Revises: 0011_late_joiners
Create Date: 2026-12-08 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import scheduler.foundation.database


# revision identifiers, used by Alembic.
revision = '0012_locale'
down_revision = '0011_late_joiners'
branch_labels = None
depends_on = None


def upgrade():
    # The language a person chose for their page (en, es). Existing rows keep null: their browser's
    # language, then the clinic's, as before.
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))
    with op.batch_alter_table('intakes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('intakes', schema=None) as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_column('locale')
