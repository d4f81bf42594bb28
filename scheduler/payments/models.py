"""Payment rows: every PaymentIntent or desk payment, and every refund."""
