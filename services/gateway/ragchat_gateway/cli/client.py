"""HTTP, SSE and WebSocket access to the gateway for the CLI, with token refresh.

A logged-in user sends ``Authorization: Bearer <access token>``; the access token is refreshed
with the stored refresh token shortly before it expires, or once after a 401, and the rotated
refresh token is saved at once. ``RAGCHAT_API_KEY`` (``X-API-Key``) replaces the login for
scripts. The CLI is synchronous: one command, one request at a time, nothing to overlap.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from ragchat_gateway.cli.credentials import CredentialStore, StoredSession

API = "/api/v1"
# Refresh this many seconds before the access token expires.
REFRESH_MARGIN_S = 30.0


class CliError(Exception):
    """A failure to show the user as one line (the gateway's error message when it sent one)."""


@dataclass(frozen=True)
class SseEvent:
    """One server-sent event: its name and JSON data."""

    event: str
    data: dict[str, Any]


def parse_sse(lines: Iterator[str]) -> Iterator[SseEvent]:
    """Events of a ``text/event-stream`` (``event:`` and ``data:`` fields, blank-line separated).

    Written here because the format is a few lines and httpx streams lines already; comments
    (``:``) and ``id:``/``retry:`` fields are ignored.
    """
    event, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield SseEvent(event, json.loads("\n".join(data)))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if data:
        yield SseEvent(event, json.loads("\n".join(data)))


def error_message(response: httpx.Response) -> str:
    """The gateway's ``error.message`` (and code), else the status line."""
    try:
        error = response.json()["error"]
        return f"{error['message']} ({error['code']}, HTTP {response.status_code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} {response.reason_phrase}"


class GatewayClient:
    """The gateway at ``url``, as the stored session or an API key."""

    def __init__(
        self,
        url: str,
        store: CredentialStore,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.store = store
        self.api_key = api_key
        self.http = http or httpx.Client(base_url=self.url, timeout=timeout_s)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    # --- session ----------------------------------------------------------------------------

    def login(self, email: str, password: str) -> dict[str, Any]:
        """Log in and save the session; returns the user."""
        response = self.http.post(f"{API}/auth/login", json={"email": email, "password": password})
        body = self._json(response)
        self._save(body, email)
        user: dict[str, Any] = body["user"]
        return user

    def logout(self) -> None:
        """Revoke the refresh token at the gateway and forget the session."""
        session = self.store.load()
        if session is not None:
            self.http.post(f"{API}/auth/logout", json={"refresh_token": session.refresh_token})
        self.store.clear()

    def _save(self, body: dict[str, Any], email: str) -> StoredSession:
        session = StoredSession(
            url=self.url,
            email=email,
            refresh_token=body["refresh_token"],
            access_token=body["access_token"],
            access_expires_at=time.time() + float(body["expires_in"]),
        )
        self.store.save(session)
        return session

    def _session(self) -> StoredSession:
        session = self.store.load()
        if session is None:
            raise CliError("not logged in: run `ragchat login` (or set RAGCHAT_API_KEY)")
        return session

    def _refresh(self, session: StoredSession) -> StoredSession:
        response = self.http.post(
            f"{API}/auth/refresh", json={"refresh_token": session.refresh_token}
        )
        if response.status_code == 401:
            self.store.clear()
            raise CliError("session expired or revoked: run `ragchat login` again")
        return self._save(self._json(response), session.email)

    def access_token(self, force_refresh: bool = False) -> str:
        """A valid access token, refreshed when it is about to expire."""
        session = self._session()
        if force_refresh or time.time() >= session.access_expires_at - REFRESH_MARGIN_S:
            session = self._refresh(session)
        return session.access_token

    def auth_headers(self, force_refresh: bool = False) -> dict[str, str]:
        """Headers that authenticate a request."""
        if self.api_key:
            return {"X-API-Key": self.api_key}
        return {"Authorization": f"Bearer {self.access_token(force_refresh)}"}

    # --- requests ---------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """An authenticated JSON request; one refresh and retry after a 401."""
        response = self.http.request(method, API + path, headers=self.auth_headers(), **kwargs)
        if response.status_code == 401 and not self.api_key:
            response = self.http.request(
                method, API + path, headers=self.auth_headers(force_refresh=True), **kwargs
            )
        return self._json(response)

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise CliError(error_message(response))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def stream_chat(self, body: dict[str, Any]) -> Iterator[SseEvent]:
        """The events of one chat turn (``POST /chat/stream``), as they arrive."""
        for attempt in range(2):
            headers = {
                **self.auth_headers(force_refresh=attempt > 0),
                "Accept": "text/event-stream",
            }
            with self.http.stream(
                "POST", f"{API}/chat/stream", json=body, headers=headers, timeout=None
            ) as response:
                if response.status_code == 401 and attempt == 0 and not self.api_key:
                    continue
                if response.status_code >= 400:
                    response.read()
                    raise CliError(error_message(response))
                yield from parse_sse(response.iter_lines())
                return

    # --- events -----------------------------------------------------------------------------

    def events_url(self) -> str:
        """``ws(s)://.../ws/events`` of the gateway."""
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, parts.path + "/ws/events", "", ""))

    @contextmanager
    def events(self) -> Iterator[ClientConnection]:
        """The events socket, authenticated by its first frame, after the server's ``ready``."""
        try:
            with connect(self.events_url(), open_timeout=10) as socket:
                auth: dict[str, str] = {"type": "auth"}
                if self.api_key:
                    auth["api_key"] = self.api_key
                else:
                    auth["token"] = self.access_token()
                socket.send(json.dumps(auth))
                while True:
                    frame = json.loads(socket.recv(timeout=10))
                    if frame.get("type") == "ready":
                        break
                    if frame.get("type") == "error":
                        message = frame.get("message", frame.get("code"))
                        raise CliError(f"events refused: {message}")
                yield socket
        except (WebSocketException, OSError) as exc:
            raise CliError(f"events stream {self.events_url()} failed: {exc}") from exc
