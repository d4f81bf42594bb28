"""Calendar feeds as they are served: bytes and validators, stored when something that changes them commits."""

from enum import StrEnum

from ..foundation.database import UTCDateTime, one_of
from ..foundation.extensions import db


class FeedKind(StrEnum):
    ENROLMENT = "enrolment"
    COHORT = "cohort"


class StoredFeed(db.Model):
    """One feed's bytes, ETag and Last-Modified, rebuilt in the transaction that changes its inputs
    (calendars/handlers.py), so that serving a feed is one indexed lookup by token hash, no build.

    An enrolment that was never confirmed has no row: its feed is the empty one (services.served_feed).
    """

    __tablename__ = "calendar_feeds"
    __table_args__ = (one_of("kind", FeedKind, name="kind"),)

    kind = db.Column(db.String(20), primary_key=True)
    owner_id = db.Column(db.String(40), primary_key=True)  # the enrolment's or the cohort's id
    # SHA-256 of the feed token in the URL (database.hash_token): the lookup key.
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    body = db.Column(db.LargeBinary, nullable=False)
    etag = db.Column(db.String(40), nullable=False)  # of the body: the same bytes, the same ETag
    last_modified = db.Column(UTCDateTime, nullable=False)  # when the bytes last changed
    # What else the bytes depend on (builder version, public address): a row built for another is not served.
    built_for = db.Column(db.String(16), nullable=False)
