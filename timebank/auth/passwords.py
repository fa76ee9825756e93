"""Password hashing with argon2id.

OWASP's password storage guidance (which ASVS 5 points to) sets argon2id's minimum at 19 MiB of
memory, 2 iterations, 1 lane. We use 19 MiB and 3 iterations: above the minimum, about 40 ms a
hash here, and modest memory per login when many people sign in at once. Hashes made with
weaker settings are upgraded at the next successful login (``needs_rehash``).

``create_app`` applies the app's ``PASSWORD_HASH_MEMORY_KIB`` and ``PASSWORD_HASH_ITERATIONS``
(``configure_hashing``). Only the test suite lowers them, to save the 40 ms on each of thousands
of hashes; the production configuration always uses the settings above.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_ITERATIONS = 3
ARGON2_LANES = 1


def _make_hasher(memory_kib: int, iterations: int) -> PasswordHasher:
    return PasswordHasher(time_cost=iterations, memory_cost=memory_kib, parallelism=ARGON2_LANES, type=Type.ID)


_hasher = _make_hasher(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS)
# Verified against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("timebank-dummy-password")


def configure_hashing(memory_kib: int | None = None, iterations: int | None = None) -> None:
    """Hash new passwords (and judge ``needs_rehash``) with these argon2id settings; None is the
    production setting."""
    global _hasher, _DUMMY_HASH
    memory_kib = memory_kib or ARGON2_MEMORY_KIB
    iterations = iterations or ARGON2_ITERATIONS
    if (_hasher.memory_cost, _hasher.time_cost) == (memory_kib, iterations):
        return
    _hasher = _make_hasher(memory_kib, iterations)
    _DUMMY_HASH = _hasher.hash("timebank-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# The password rules, in one place (forms and services both ask here). Length matters more than
# character classes (NIST SP 800-63B); the maximum keeps one hash from costing too much.
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


def password_problem(password: str) -> str | None:
    """Why this new password is not allowed, in plain words, or None when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Your password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Your password must be {MAX_PASSWORD_LENGTH} characters or fewer."
    if not password.strip():
        return "Your password cannot be only spaces."
    return None
