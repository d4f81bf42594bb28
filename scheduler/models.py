"""Every domain's tables, imported in one place so that the metadata is complete."""

from .admission.models import Intake, IntakeAudit  # noqa: F401
from .appointments.models import Appointment, Availability  # noqa: F401
from .attendance import models as attendance  # noqa: F401
from .calendars import models as calendars  # noqa: F401
from .cohorts.agreements import ProgramAgreement  # noqa: F401
from .cohorts.models import Cohort, Program, Session, cohort_facilitators  # noqa: F401
from .enrolment.models import AgreementAcceptance, AuditEntry, Enrolment, IdempotencyRecord, Participant  # noqa: F401
from .inbox.models import PublicRequest  # noqa: F401
from .jobs.models import JobRun, WorkerBeat  # noqa: F401
from .notifications import models as notifications  # noqa: F401
from .payments import models as payments  # noqa: F401
from .staff.models import Staff  # noqa: F401
