"""Admission: intake before a seat (API.md, "Admission: intake before a seat").

A person asks for a place in a program that admits by intake (a public request, answered
"check your email" like enrolment); the request keeps their place in the program's queue.
Staff record the outcome; approved people are offered seats of the program's cohorts in
queue order, through the enrolment domain's offers (an `offered` enrolment, accepted and paid
as from the waitlist). This domain sits above enrolment: it asks enrolment to make offers,
and hears from it (wiring.py) when an offer is taken, declined or lapses.
"""
