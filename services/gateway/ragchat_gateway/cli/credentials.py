"""Where the CLI keeps its session: ``~/.config/ragchat/credentials``, readable by its owner only.

The file holds the gateway URL, the refresh token and the current access token with its expiry,
as JSON. It is written with mode 0600 (inside a 0700 folder) and replaced atomically, so a
refresh token (rotated on every use) is never lost half-written.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class StoredSession:
    """What ``ragchat login`` saves."""

    url: str
    email: str
    refresh_token: str
    access_token: str = ""
    # Unix time after which the access token is refreshed.
    access_expires_at: float = 0.0


def config_dir() -> Path:
    """``$RAGCHAT_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/ragchat``, else ``~/.config/ragchat``."""
    explicit = os.environ.get("RAGCHAT_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ragchat"


class CredentialStore:
    """Reads and writes the session file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "credentials"

    def load(self) -> StoredSession | None:
        """The saved session, or ``None`` when not logged in."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        return StoredSession(**data)

    def save(self, session: StoredSession) -> None:
        """Write the session readable by the owner only (0600), replacing the file atomically."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(asdict(session), out)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)

    def clear(self) -> None:
        """Forget the session."""
        self.path.unlink(missing_ok=True)
