"""The request inbox: every public form that takes an email writes one row here and answers alike.

A public enrolment, a sign-in link request, "send my link again" (and, later, an intake request)
is checked only for what does not depend on who the address is, written here as one row, and
answered the same for every address (services.receive). The worker takes the rows in arrival
order, each once however many workers run (services.handle_requests), and runs the use case
the domain that owns the request's kind installed in `handlers` (scheduler/wiring.py): the
outcome and its email are written in the same transaction as the request is settled. A
settled request keeps no personal data: only what it produced.
"""
