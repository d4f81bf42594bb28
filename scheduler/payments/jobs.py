"""Payment jobs: send pending refunds (idempotency keys make a second send harmless)."""

from . import ledger


def send_refunds() -> int:
    """Send pending Stripe refunds; returns how many went through."""
    return ledger.send_pending_refunds()
