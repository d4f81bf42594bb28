"""Appointments: one person, one clinician, one time (an intake's assessment; later, individual sessions).

Clinicians publish weekly availability (zone-aware, across DST, with dates off); free slots are
those hours cut into slot_minutes, minus the clinician's booked appointments and their groups'
sessions. A booking takes the clinician's row lock, checks again and writes the appointment: one
slot has one person however many race, and a clinician is never in two places (a partial unique
index on (staff_id, starts_at) of booked appointments backs it on both databases).
"""
