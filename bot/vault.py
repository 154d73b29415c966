"""Per-workspace secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under
STOCKBOT_SECRET_KEY, and SHA-256 digests to find a push token without decrypting every stored one."""

from __future__ import annotations

import hashlib
import secrets as random_source

from cryptography.fernet import Fernet, InvalidToken

PUSH_TOKEN_BYTES = 32


class SecretUnreadable(Exception):
    """A stored secret does not decrypt under STOCKBOT_SECRET_KEY (the key was changed)."""


def valid_key(key: str) -> bool:
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        return False
    return True


def encrypt(key: str, value: str) -> str:
    return Fernet(key.encode()).encrypt(value.encode()).decode()


def decrypt(key: str, stored: str) -> str:
    try:
        return Fernet(key.encode()).decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("a stored secret does not decrypt with STOCKBOT_SECRET_KEY") from exc


def digest(value: str) -> str:
    """The lookup key of a push token: SHA-256 is enough, the token itself is 256 random bits."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_push_token() -> str:
    return "sbp_" + random_source.token_urlsafe(PUSH_TOKEN_BYTES)
