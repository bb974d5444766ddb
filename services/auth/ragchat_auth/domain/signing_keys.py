"""The signing key ring kept in PostgreSQL: creation on first start, rotation, JWKS.

Every replica reads the live keys from the database on each use (a handful of rows), so a
rotation made by one replica is seen by all at once; decrypted private keys are cached by key id
because a key never changes once written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ragchat_auth.domain import tokens
from ragchat_auth.store import signing_keys as key_store
from ragchat_auth.store.signing_keys import SigningKeyRecord

# Allowance for clocks of verifiers running slightly behind.
CLOCK_SKEW = timedelta(minutes=1)


class SigningKeys:
    """The asymmetric keys that sign and verify access tokens."""

    def __init__(
        self, engine: AsyncEngine, passphrase: str | None, access_token_ttl: timedelta
    ) -> None:
        self._engine = engine
        self._passphrase = passphrase
        self._access_token_ttl = access_token_ttl
        self._private: dict[str, Ed25519PrivateKey] = {}

    async def _live(self) -> list[SigningKeyRecord]:
        async with self._engine.connect() as conn:
            return await key_store.live_keys(conn)

    async def ring(self) -> tokens.KeyRing:
        """The current signer and every key that still verifies."""
        live = await self._live()
        signer = next((k for k in live if k.retire_at is None), None)
        if signer is None:
            raise RuntimeError("no signing key: the auth service did not finish its start-up")
        if signer.kid not in self._private:
            self._private[signer.kid] = tokens.open_private_key(
                signer.private_pem, self._passphrase
            )
        return tokens.KeyRing(
            signing_kid=signer.kid,
            signing_key=self._private[signer.kid],
            verifying={k.kid: tokens.load_public_key(k.public_pem) for k in live},
        )

    async def jwks(self) -> dict[str, Any]:
        """The public keys that still verify, as a JSON Web Key Set."""
        live = await self._live()
        return tokens.jwks({k.kid: tokens.load_public_key(k.public_pem) for k in live})

    async def _add_key(self, conn: AsyncConnection) -> str:
        key = tokens.generate_private_key()
        kid = tokens.new_key_id()
        await key_store.insert_key(
            conn,
            kid,
            tokens.ALGORITHM,
            tokens.public_pem(key),
            tokens.seal_private_key(key, self._passphrase),
        )
        return kid

    @staticmethod
    async def _lock(conn: AsyncConnection) -> None:
        # Replicas starting or rotating together do it one at a time.
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('auth.signing_keys'))"))

    async def ensure(self) -> None:
        """Create the first signing key unless one exists."""
        async with self._engine.begin() as conn:
            await self._lock(conn)
            if not any(k.retire_at is None for k in await key_store.live_keys(conn)):
                await self._add_key(conn)

    async def rotate(self) -> str:
        """Make a new key the signer; the old ones verify until their tokens have expired."""
        async with self._engine.begin() as conn:
            await self._lock(conn)
            retire_at = datetime.now(UTC) + self._access_token_ttl + CLOCK_SKEW
            await key_store.schedule_retirement(conn, retire_at)
            return await self._add_key(conn)
