"""late joiners: cohorts' enrol_until_session and prorate_late_joiners

Revision ID: 0011_late_joiners
Revises: 0010_statements
Create Date: 2026-12-07 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import scheduler.foundation.database


# revision identifiers, used by Alembic.
revision = '0011_late_joiners'
down_revision = '0010_statements'
branch_labels = None
depends_on = None


def upgrade():
    # Existing cohorts keep today's rule: public enrolment until the first session, at the full price.
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enrol_until_session', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('prorate_late_joiners', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_cohorts_enrol_until_within_sessions'),
            'enrol_until_session >= 1 AND enrol_until_session <= session_count',
        )


def downgrade():
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cohorts_enrol_until_within_sessions'), type_='check')
        batch_op.drop_column('prorate_late_joiners')
        batch_op.drop_column('enrol_until_session')
