"""Notification jobs: write due reminders, then deliver the outbox."""

from . import individual_mail, intake_mail, outbox, sender


def send_reminders() -> int:
    """Queue a reminder for each session, assessment and individual session starting within REMINDER_HOURS (once)."""
    return outbox.queue_reminders() + intake_mail.assessment_reminders() + individual_mail.individual_reminders()


def deliver_outbox() -> dict:
    """Send every due message (SMTP from MAIL_URL, else .eml files under MAIL_DIR)."""
    return sender.deliver_outbox()
