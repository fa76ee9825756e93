# Cheap password hashes for the whole test run (every app, every process it starts): argon2id
# at its full cost is 40 ms a hash, and the suite makes thousands. Set here, before anything
# imports config.py, which reads it. Production ignores these; tests/test_production.py checks
# that a production app still hashes with the full settings.
import os

os.environ.setdefault("TIMEBANK_PASSWORD_HASH_MEMORY_KIB", "8")
os.environ.setdefault("TIMEBANK_PASSWORD_HASH_ITERATIONS", "1")
