"""The outbox: every email, written in the transaction of the change it reports."""
