"""Reference codes residents read out or type: random, unique, without look-alike characters."""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L: codes are read over the phone and typed on small keyboards.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 10  # 31**10 is about 8e14 (49 bits): guessing one takes millions of rate-limited tries
_NOT_CODE = re.compile(r"[\s\-_.]")


def new_code(length: int = LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise_code(value: str | None) -> str:
    """What people type (`k7m4-q9xt 2a`) in the stored form (`K7M4Q9XT2A`); '' when not code-like."""
    if not value:
        return ""
    cleaned = _NOT_CODE.sub("", value).upper()
    if not cleaned or len(cleaned) > 24 or not cleaned.isalnum() or not cleaned.isascii():
        return ""
    return cleaned
