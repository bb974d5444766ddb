"""Opaque secrets handed to clients (refresh tokens, invitation tokens, API keys).

Only their SHA-256 is stored. These secrets are 256 random bits, so a fast hash is enough: unlike
passwords they cannot be guessed, and a stolen table yields nothing usable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

API_KEY_MARK = "rck"


def new_secret() -> str:
    """A URL-safe random secret of 256 bits."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a secret: hex SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    """Constant-time comparison of a presented secret with a stored digest."""
    return hmac.compare_digest(digest(secret), stored_digest)


@dataclass(frozen=True)
class ApiKeySecret:
    """An API key as shown once to its creator: ``rck_<prefix>_<secret>``.

    The prefix identifies the key (it is stored in clear and shown in listings); the secret part
    is only stored hashed.
    """

    prefix: str
    secret: str

    @classmethod
    def generate(cls) -> ApiKeySecret:
        """A new key with a random 12-hex-digit prefix."""
        return cls(prefix=secrets.token_hex(6), secret=new_secret())

    @classmethod
    def parse(cls, presented: str) -> ApiKeySecret | None:
        """Split a presented key; ``None`` when it does not have the key format."""
        mark, _, rest = presented.partition("_")
        prefix, _, secret = rest.partition("_")
        if mark != API_KEY_MARK or not prefix or not secret:
            return None
        return cls(prefix=prefix, secret=secret)

    def __str__(self) -> str:
        return f"{API_KEY_MARK}_{self.prefix}_{self.secret}"
