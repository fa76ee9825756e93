"""Notifications: in-app messages about what happened and what needs a member, and the email
outbox that tells them by email (see service.py, events.py and delivery.py)."""
