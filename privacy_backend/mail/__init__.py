"""Outgoing mail: the outbox, the mailer (file or SMTP) and the texts of the messages."""
