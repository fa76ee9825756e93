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

import re
from collections.abc import Iterable

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

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

# Common and breached passwords are refused (ASVS 5.0 V6, NIST SP 800-63B 3.1.1.2), offline, with
# zxcvbn: its list of the 30,000 passwords most often found in breaches, English words and names,
# and the patterns people use to stretch them (repeats, sequences, keyboard rows, years, l33t).
# Below a million guesses a password falls to a patient attacker even through the sign-in limits
# (zxcvbn's scores 0 and 1), so those are refused. zxcvbn reads at most 72 characters; a longer
# password is judged by its first 72 (a pass phrase that long is never on a list).
MIN_GUESSES_SCORE = 2
ZXCVBN_MAX_LENGTH = 72
TRY_INSTEAD = "Try three or four unrelated words."
_ON_A_LIST = "This password is on a list of passwords that are often guessed."
# What makes a guessable password guessable, in plain words, by zxcvbn's name for the pattern.
_WHY_GUESSABLE = {
    "repeat": "Repeated letters or numbers, like “aaaa” or “1111”, are easy to guess.",
    "sequence": "Runs of letters or numbers, like “abcd” or “1234”, are easy to guess.",
    "spatial": "Rows of keys, like “qwerty” or “asdf”, are easy to guess.",
    "date": "Dates and years are easy to guess.",
    "regex": "Dates and years are easy to guess.",
}
_PERSONAL = "This password is too close to your name, your email address or the name of the timebank."
_GUESSABLE = "This password would be easy to guess."


def password_problem(password: str, *, personal: Iterable[str | None] = ()) -> str | None:
    """Why this new password is not allowed, in plain words, or None when it is fine.

    ``personal``: the member's name, email address, timebank name and the like, which make a
    password easier to guess for someone who knows them (ASVS 5.0 V6: context-specific words).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Your password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Your password must be {MAX_PASSWORD_LENGTH} characters or fewer."
    if not password.strip():
        return "Your password cannot be only spaces."
    return _guessable(password, personal)


# Words every password here is refused for leaning on, whoever chooses it.
SITE_WORDS = ("timebank",)


def _personal_words(personal: Iterable[str | None]) -> list[str]:
    words: list[str] = list(SITE_WORDS)
    for text in personal:
        if not text:
            continue
        parts = re.split(r"[^a-z0-9]+", text.lower())
        # As written, run together ("nadiahussain") and each part on its own (a name's words, an
        # email address's local part and domain).
        words.extend([text.lower(), "".join(parts), *(part for part in parts if len(part) > 2)])
    return words


def _guessable(password: str, personal: Iterable[str | None]) -> str | None:
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=_personal_words(personal), max_length=ZXCVBN_MAX_LENGTH)
    if result["score"] >= MIN_GUESSES_SCORE:
        return None
    matches = result["sequence"]
    dictionaries = {match.get("dictionary_name") for match in matches if match["pattern"] == "dictionary"}
    if "user_inputs" in dictionaries:
        why = _PERSONAL
    elif "passwords" in dictionaries:
        why = _ON_A_LIST
    else:
        why = next((_WHY_GUESSABLE[m["pattern"]] for m in matches if m["pattern"] in _WHY_GUESSABLE), _GUESSABLE)
    return f"{why} {TRY_INSTEAD}"
