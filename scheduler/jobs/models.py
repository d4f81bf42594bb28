"""What the workers say of themselves: a heartbeat each, and each job's lease and last run."""

from ..foundation.database import UTCDateTime
from ..foundation.extensions import db


class WorkerBeat(db.Model):
    """One running worker process: it writes beat_at every few seconds and deletes its row on a clean stop."""

    __tablename__ = "worker_beats"

    worker_id = db.Column(db.String(40), primary_key=True)
    host = db.Column(db.String(200), nullable=False)
    pid = db.Column(db.Integer, nullable=False)
    started_at = db.Column(UTCDateTime, nullable=False)
    beat_at = db.Column(UTCDateTime, nullable=False)


class JobRun(db.Model):
    """A periodic job: who runs it now (a lease, so that one worker at a time does), and its last run."""

    __tablename__ = "job_runs"

    job = db.Column(db.String(60), primary_key=True)
    lease_owner = db.Column(db.String(40))
    lease_until = db.Column(UTCDateTime)
    last_started_at = db.Column(UTCDateTime)
    last_finished_at = db.Column(UTCDateTime)
    last_ok_at = db.Column(UTCDateTime)
    last_error = db.Column(db.Text)
