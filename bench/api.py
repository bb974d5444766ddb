"""Gateway latency and WebSocket capacity (a benchmark, not a test): ``make bench-api``.

Runs the real auth, retriever and gateway processes on names of their own
(:func:`tests.harness.pipeline.running_stack`) with a scripted ChatService process in front of
which the gateway relays (:mod:`tests.harness.scripted_chat`: 20 tokens 10 ms apart, a citation
and a summary, no retrieval or model), so what is measured is the gateway itself. Rate limits are
raised out of the way (their Redis round trip is still paid on every request). Then:

1. REST: three representative endpoints, each at a steady ``--rate`` requests per second (open
   loop: requests start on schedule whether or not earlier ones finished, up to 100 in flight;
   a slot that finds 100 still running is shed and counted as an error) for ``--seconds``:
   ``GET /api/v1/auth/me`` (token check through AuthService), ``GET /api/v1/knowledge-bases``
   (PostgreSQL plus the retriever's stats) and ``GET /api/v1/conversations`` (ChatService).
2. Added latency: ``--turns`` chat turns one at a time straight to ChatService over gRPC, then the
   same through one gateway WebSocket; the gateway's added p95 is the p95 through the gateway less
   the p95 direct, for the first token and for the whole turn.
3. Capacity: ``--sessions`` WebSockets opened and authenticated against one gateway process, then
   every one asks at once; a session counts when its turn ends with a summary.

Every REST row also shows the CPU time the gateway and auth processes spent per request, read
from ``/proc``: unlike latency, it does not depend on how busy the machine is.

The last line is ``BENCH api p95_ms=<n> ws_sessions=<n> ws_added_p95_ms=<n>``: the worst p95 of
the three endpoints, the sessions that completed their turn, and the added p95 of a whole turn.

    .venv/bin/python -m bench.api [--rate 200] [--seconds 5] [--sessions 1000] [--turns 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import grpc
import httpx
from ragchat.v1 import chat_pb2, chat_pb2_grpc, principal_pb2
from ragchat_common.settings import (
    KafkaSettings,
    OpenSearchSettings,
    PostgresSettings,
    RedisSettings,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.harness.pipeline import Infrastructure, running_stack

ROOT = Path(__file__).resolve().parent.parent
# A request slower than this counts as an error (an overloaded gateway would otherwise stretch
# the run by its whole backlog).
REQUEST_TIMEOUT_S = 10.0
# Requests in flight at most; a slot that finds this many still running is shed.
MAX_IN_FLIGHT = 100
ENDPOINTS = ("/api/v1/auth/me", "/api/v1/knowledge-bases", "/api/v1/conversations")


def percentile(values: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (inclusive method); nan without values."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Endpoint:
    """Latencies of one REST endpoint under a steady rate."""

    path: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    # Of the errors, requests not sent because MAX_IN_FLIGHT were still running.
    shed: int = 0
    seconds: float = 0.0
    # CPU time per successful request, by process (independent of how busy the machine is).
    cpu_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class Turns:
    """First-token and total times of chat turns."""

    first_token_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    # Error codes of the turns that ended with an error frame.
    errors: list[str] = field(default_factory=list)


async def drained(client: httpx.AsyncClient, within_s: float = 120.0) -> None:
    """Wait until the gateway answers promptly again (work left over from an overloaded phase
    would otherwise be charged to the next one): three quick ``/auth/me`` in a row."""
    quick = 0
    deadline = time.perf_counter() + within_s
    while quick < 3 and time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            await client.get("/api/v1/auth/me")
            quick = quick + 1 if time.perf_counter() - started < 0.25 else 0
        except httpx.HTTPError:
            quick = 0
        await asyncio.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def steady(client: httpx.AsyncClient, path: str, rate: int, seconds: float) -> Endpoint:
    """``rate`` GETs of ``path`` per second for ``seconds``, started on schedule."""
    result = Endpoint(path)

    async def one() -> None:
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(client.get(path), REQUEST_TIMEOUT_S)
            ok = response.status_code == 200
        except (httpx.HTTPError, TimeoutError):
            ok = False
        if ok:
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
        else:
            result.errors += 1

    tasks = []
    begin = time.perf_counter()
    for n in range(int(rate * seconds)):
        delay = begin + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if sum(not t.done() for t in tasks) >= MAX_IN_FLIGHT:
            # The gateway is not keeping up: the request is not sent and counts as an error
            # (sending it would only grow a backlog that spills into the next phase).
            result.errors += 1
            result.shed += 1
            continue
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - begin
    return result


async def direct_turns(
    target: str, principal: principal_pb2.Principal, kb_id: str, n: int
) -> Turns:
    """``n`` turns one at a time straight to ChatService."""
    turns = Turns()
    async with grpc.aio.insecure_channel(target) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)  # type: ignore[no-untyped-call]
        for _ in range(n):
            started = time.perf_counter()
            first = 0.0
            request = chat_pb2.ConverseRequest(principal=principal, kb_ids=[kb_id], message="hi")
            async for event in stub.Converse(request):
                if not first and event.WhichOneof("event") == "token":
                    first = time.perf_counter()
            turns.first_token_ms.append((first - started) * 1000)
            turns.total_ms.append((time.perf_counter() - started) * 1000)
    return turns


@dataclass
class Session:
    """An authenticated chat socket whose reader answers heartbeats all the time (an idle
    session that left pings unanswered would be closed by the gateway) and queues the rest."""

    socket: ClientConnection
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    reader: asyncio.Task[None] | None = None
    closed_code: int | None = None

    def start(self) -> None:
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.socket:
                frame = json.loads(message)
                if frame.get("type") == "ping":
                    await self.socket.send(json.dumps({"type": "pong"}))
                else:
                    self.frames.put_nowait(frame)
        except ConnectionClosed as closed:
            self.closed_code = closed.rcvd.code if closed.rcvd else None
        finally:
            # Wakes a turn waiting for frames that will not come.
            self.frames.put_nowait({"type": "closed", "code": self.closed_code})

    async def close(self) -> None:
        await self.socket.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)

    async def turn(self, kb_id: str, turns: Turns) -> bool:
        """One ask, timed to its first token and its summary."""
        started = time.perf_counter()
        first = 0.0
        await self.socket.send(json.dumps({"type": "ask", "message": "hi", "kb_ids": [kb_id]}))
        while True:
            frame = await self.frames.get()
            kind = frame["type"]
            if kind == "token" and not first:
                first = time.perf_counter()
            elif kind == "summary":
                turns.first_token_ms.append((first - started) * 1000)
                turns.total_ms.append((time.perf_counter() - started) * 1000)
                return True
            elif kind in ("error", "closed"):
                turns.errors.append(f"{kind}:{frame.get('code')}")
                return False


async def open_session(url: str, token: str) -> Session:
    """A WebSocket authenticated by its first frame and told ``ready``."""
    socket = await connect(url, open_timeout=120, ping_interval=None, max_queue=None)
    await socket.send(json.dumps({"type": "auth", "token": token}))
    frame = json.loads(await asyncio.wait_for(socket.recv(), 120))
    if frame.get("type") != "ready":
        await socket.close()
        raise ConnectionError(f"not ready: {frame}")
    session = Session(socket)
    session.start()
    return session


async def capacity(url: str, token: str, kb_id: str, sessions: int) -> tuple[int, int, Turns]:
    """Open ``sessions`` sockets (100 handshakes at a time), then ask on all at once.

    Returns how many opened, how many completed a turn, and the turns' times.
    """
    gate = asyncio.Semaphore(100)

    async def opened() -> Session | None:
        async with gate:
            try:
                return await open_session(url, token)
            except Exception:
                # Any failed handshake or refusal is a session the gateway did not hold.
                return None

    held = [s for s in await asyncio.gather(*(opened() for _ in range(sessions))) if s]
    print(f"  {len(held)} sessions open and authenticated; asking on all", flush=True)
    turns = Turns()

    async def ask(session: Session) -> bool:
        try:
            return await asyncio.wait_for(session.turn(kb_id, turns), 300)
        except Exception:
            # A dropped socket or a turn that did not end in time is a failed session.
            turns.errors.append("timeout-or-dropped")
            return False

    done = await asyncio.gather(*(ask(s) for s in held))
    await asyncio.gather(*(s.close() for s in held), return_exceptions=True)
    return len(held), sum(done), turns


def start_scripted_chat(port: int, workdir: Path, tokens: int) -> subprocess.Popen[bytes]:
    """The scripted ChatService as its own process (so it does not share the bench's CPU)."""
    log = (workdir / "scripted-chat.log").open("a")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.harness.scripted_chat",
            "--port",
            str(port),
            "--tokens",
            str(tokens),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


async def wait_grpc(target: str, within_s: float = 60) -> None:
    """Wait until a gRPC server accepts connections."""
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), within_s)


def errors_of(turns: Turns) -> str:
    """How many turns failed, by error code."""
    codes = {code: turns.errors.count(code) for code in sorted(set(turns.errors))}
    return f"errors: {codes}" if codes else "no errors"


def row(name: str, values: Sequence[float], extra: str = "") -> str:
    """A table row: p50, p95, p99 and count."""
    return (
        f"{name:<38}{percentile(values, 50):>9.1f}{percentile(values, 95):>9.1f}"
        f"{percentile(values, 99):>9.1f}{len(values):>8}  {extra}"
    )


async def run(args: argparse.Namespace) -> None:
    infra = Infrastructure(
        KafkaSettings(), OpenSearchSettings(), PostgresSettings(), RedisSettings()
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    suffix = uuid4().hex[:10]
    chat_port = free_port()
    chat_target = f"127.0.0.1:{chat_port}"
    chat = start_scripted_chat(chat_port, workdir, args.chat_tokens)
    gateway_env = {
        "GATEWAY_CHAT_TARGET": chat_target,
        "GATEWAY_RATE_LIMIT_KEY_PREFIX": f"ratelimit-bench-{suffix}",
        "GATEWAY_RATE_LIMIT_USER": "100000000/minute",
        "GATEWAY_RATE_LIMIT_GLOBAL": "100000000/second",
        "GATEWAY_RATE_LIMIT_LOGIN_IP": "1000/minute",
    }
    try:
        await wait_grpc(chat_target)
        print("starting auth, retriever and gateway ...", flush=True)
        async with running_stack(
            infra,
            suffix,
            workdir,
            env={"gateway": gateway_env},
            only=("auth", "retriever", "gateway"),
        ) as stack:
            pids = {name: stack.services[name].pid for name in ("gateway", "auth")}
            await measure(
                args, stack.gateway_url, stack.owner_email, stack.owner_password, chat_target, pids
            )
    finally:
        chat.terminate()
        chat.wait(timeout=30)


async def measure(
    args: argparse.Namespace,
    base: str,
    email: str,
    password: str,
    chat_target: str,
    pids: dict[str, int],
) -> None:
    """The three phases against a running gateway; prints the table and the BENCH line."""
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        session = (
            await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        ).json()
        token = session["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        created = await client.post(
            "/api/v1/knowledge-bases", json={"name": "bench", "description": ""}
        )
        created.raise_for_status()
        kb_id = created.json()["id"]
        me = (await client.get("/api/v1/auth/me")).json()

        endpoints = []
        for path in ENDPOINTS:
            await client.get(path)
            print(f"REST {path}: {args.rate}/s for {args.seconds} s ...", flush=True)
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            endpoint = await steady(client, path, args.rate, args.seconds)
            endpoint.cpu_ms = {
                name: (cpu_seconds(pid) - before[name]) * 1000 / max(1, len(endpoint.latencies_ms))
                for name, pid in pids.items()
            }
            endpoints.append(endpoint)
            await drained(client)

    principal = principal_pb2.Principal(
        subject=me["id"],
        tenant_id=me["tenant_id"],
        kind=principal_pb2.PRINCIPAL_KIND_USER,
        role=me["role"],
        readable_kb_ids=[kb_id],
        all_kbs=True,
    )
    print(
        f"chat turns one at a time: {args.turns} direct, {args.turns} via the gateway ...",
        flush=True,
    )
    direct = await direct_turns(chat_target, principal, kb_id, args.turns)
    ws_url = base.replace("http://", "ws://") + "/ws/chat"
    via = Turns()
    session = await open_session(ws_url, token)
    try:
        for _ in range(args.turns):
            await session.turn(kb_id, via)
    finally:
        await session.close()

    print(f"{args.sessions} WebSocket sessions, one ask each, all at once ...", flush=True)
    started = time.perf_counter()
    opened, completed, loaded = await capacity(ws_url, token, kb_id, args.sessions)
    seconds = time.perf_counter() - started

    print(f"\n{'latency (ms)':<38}{'p50':>9}{'p95':>9}{'p99':>9}{'n':>8}")
    for e in endpoints:
        cpu = ", ".join(f"{name} {ms:.1f}" for name, ms in e.cpu_ms.items())
        print(
            row(
                f"GET {e.path}",
                e.latencies_ms,
                f"{len(e.latencies_ms) / e.seconds:.0f}/s, {e.errors} errors ({e.shed} shed); "
                f"CPU ms/request: {cpu}",
            )
        )
    print(row("turn first token, ChatService direct", direct.first_token_ms))
    print(row("turn first token, via gateway WS", via.first_token_ms))
    print(row("turn total, ChatService direct", direct.total_ms))
    print(row("turn total, via gateway WS", via.total_ms, errors_of(via)))
    print(
        row(
            f"turn total, {opened} sessions at once",
            loaded.total_ms,
            f"{seconds:.1f} s in all; {errors_of(loaded)}",
        )
    )
    added_first = percentile(via.first_token_ms, 95) - percentile(direct.first_token_ms, 95)
    added_total = percentile(via.total_ms, 95) - percentile(direct.total_ms, 95)
    print(f"gateway added p95: first token {added_first:.1f} ms, whole turn {added_total:.1f} ms")
    print(f"WebSocket sessions: {opened} opened, {completed} completed a turn of {args.sessions}")
    worst = max(percentile(e.latencies_ms, 95) for e in endpoints)
    print(f"BENCH api p95_ms={worst:.0f} ws_sessions={completed} ws_added_p95_ms={added_total:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--chat-tokens", type=int, default=20, help="tokens per scripted turn")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
