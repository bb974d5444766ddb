"""Access tokens: short-lived JWTs signed with Ed25519 (``EdDSA``), verified by key id.

Keys rotate: the newest key signs, older keys keep verifying until they retire (at least one
access-token lifetime after the rotation), so tokens issued just before a rotation stay valid.
The public keys are published as a JWKS for anyone who wants to verify tokens offline.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from ragchat_auth.domain.errors import Unauthenticated

ALGORITHM = "EdDSA"
ISSUER = "ragchat-auth"
AUDIENCE = "ragchat"


@dataclass(frozen=True)
class KeyRing:
    """The key that signs now and every public key that still verifies, by key id."""

    signing_kid: str
    signing_key: Ed25519PrivateKey
    verifying: Mapping[str, Ed25519PublicKey]


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says."""

    subject: str
    tenant_id: str
    role: str
    kid: str
    token_id: str
    issued_at: datetime
    expires_at: datetime


def new_key_id() -> str:
    """A random key id, as put in each token's header."""
    return secrets.token_hex(8)


def generate_private_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 signing key."""
    return Ed25519PrivateKey.generate()


def seal_private_key(key: Ed25519PrivateKey, passphrase: str | None) -> str:
    """PEM of the private key, encrypted with ``passphrase`` when one is configured."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def open_private_key(pem: str, passphrase: str | None) -> Ed25519PrivateKey:
    """Load a private key sealed by :func:`seal_private_key`."""
    key = serialization.load_pem_private_key(
        pem.encode(), password=passphrase.encode() if passphrase else None
    )
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("stored signing key is not an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    """PEM of the public half of ``key``."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_public_key(pem: str) -> Ed25519PublicKey:
    """Load a public key stored by :func:`public_pem`."""
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("stored public key is not an Ed25519 key")
    return key


def issue_access_token(
    ring: KeyRing, *, subject: str, tenant_id: str, role: str, ttl: timedelta, now: datetime
) -> tuple[str, datetime]:
    """A signed access token for a user in one organisation, and when it expires."""
    expires_at = now + ttl
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "tenant": tenant_id,
        "role": role,
        # Sub-second precision, so a token issued just after a password change is told apart
        # from one issued just before it.
        "iat": now.timestamp(),
        "exp": int(expires_at.timestamp()),
        "jti": secrets.token_hex(8),
    }
    token = jwt.encode(
        claims, ring.signing_key, algorithm=ALGORITHM, headers={"kid": ring.signing_kid}
    )
    return token, expires_at


def verify_access_token(token: str, verifying: Mapping[str, Ed25519PublicKey]) -> AccessClaims:
    """Check signature, key id, issuer, audience and expiry; raise :class:`Unauthenticated`."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise Unauthenticated("access token is malformed") from exc
    if not isinstance(kid, str) or kid not in verifying:
        raise Unauthenticated("access token is signed by an unknown or retired key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            verifying[kid],
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "tenant", "role"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"access token is invalid: {exc}") from exc
    return AccessClaims(
        subject=str(claims["sub"]),
        tenant_id=str(claims["tenant"]),
        role=str(claims["role"]),
        kid=kid,
        token_id=str(claims.get("jti", "")),
        issued_at=datetime.fromtimestamp(claims["iat"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )


def jwks(verifying: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The JSON Web Key Set of every key that still verifies."""
    keys = []
    for kid, key in sorted(verifying.items()):
        jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
        keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
    return {"keys": keys}
