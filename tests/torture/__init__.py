"""The ledger torture test: real gunicorn workers on PostgreSQL, many HTTP clients, retries and
killed workers (see harness.py, and docs/TESTING.md for the ``scripts/torture`` command)."""
