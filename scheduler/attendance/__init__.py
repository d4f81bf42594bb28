"""Attendance: personal join links, records per session, the missed-sessions rule, completion."""
