"""A crawl's writes to PostgreSQL, committed in groups (group commit).

Each page of a crawl used to cost several transactions, each a commit that waits for the WAL to
reach the disk; with a few pages in flight, the database, not the network, set the pace. Here a
worker hands its step to the ledger and awaits it as before: it returns once the step is
committed, so the order of effects is unchanged (a claim is held before its page is published;
a page is recorded, with the links it found, only after it was published). What changes is that
the steps and claims that arrive while a transaction is running all go into the next one.

A group that fails is written again one step at a time, so a step the database refuses fails
alone (its worker records the page as failed) and its neighbours are written.

The ledger holds one connection for the run instead of taking one from the pool per group: the
pool's pre-ping (a transaction of its own, three round trips) cost as much as the group's
writes. After a failure the connection is given back (the pool drops it if it broke) and the
next group takes a fresh, pinged one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from ragchat_scraper.store.crawl_store import (
    Claim,
    ClaimHolders,
    CrawlJob,
    CrawlStep,
    CrawlStore,
    GroupResult,
)


@dataclass
class _Waiting:
    """Steps and claims waiting for the next transaction, with their callers' futures."""

    steps: list[tuple[CrawlStep, asyncio.Future[frozenset[str]]]] = field(default_factory=list)
    claims: list[tuple[Claim, asyncio.Future[ClaimHolders]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps) + len(self.claims)


class CrawlLedger:
    """Group commit of one run's steps and claims."""

    def __init__(self, store: CrawlStore, job: CrawlJob, max_group: int = 200) -> None:
        self.store = store
        self.job = job
        self.max_group = max_group
        self._waiting = _Waiting()
        self._writer: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None
        self.groups = 0

    async def write(self, step: CrawlStep) -> frozenset[str]:
        """Commit a step; returns the URLs of its frontier that were new to the crawl."""
        future: asyncio.Future[frozenset[str]] = asyncio.get_running_loop().create_future()
        self._waiting.steps.append((step, future))
        self._wake()
        return await future

    async def claim(self, claim: Claim) -> ClaimHolders:
        """Commit a claim; returns who holds its page id and content hash."""
        future: asyncio.Future[ClaimHolders] = asyncio.get_running_loop().create_future()
        self._waiting.claims.append((claim, future))
        self._wake()
        return await future

    async def close(self) -> None:
        """Stop writing (at the end of a run; callers still waiting are cancelled)."""
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        _cancel(self._waiting)
        await self._give_back()

    def _wake(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())

    def _next_group(self) -> _Waiting:
        waiting = self._waiting
        group = _Waiting(waiting.steps[: self.max_group], waiting.claims[: self.max_group])
        self._waiting = _Waiting(waiting.steps[self.max_group :], waiting.claims[self.max_group :])
        return group

    async def _write_all(self) -> None:
        while self._waiting:
            group = self._next_group()
            try:
                result = await self._write(group)
            except asyncio.CancelledError:
                _cancel(group)
                raise
            except Exception as exc:
                if len(group) == 1:
                    _fail(group, exc)
                else:
                    await self._write_one_by_one(group)
                continue
            _resolve(group, result)

    async def _write(self, group: _Waiting) -> GroupResult:
        self.groups += 1
        if self._connection is None:
            self._connection = await self.store.connect()
        try:
            steps, claims = [s for s, _ in group.steps], [c for c, _ in group.claims]
            return await self.store.write_group(self._connection, self.job, steps, claims)
        except Exception:
            await self._give_back()
            raise

    async def _give_back(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _write_one_by_one(self, group: _Waiting) -> None:
        singles = [_Waiting(steps=[s]) for s in group.steps]
        singles += [_Waiting(claims=[c]) for c in group.claims]
        for single in singles:
            try:
                _resolve(single, await self._write(single))
            except Exception as exc:
                _fail(single, exc)


def _resolve(group: _Waiting, result: GroupResult) -> None:
    for step, future in group.steps:
        if not future.done():
            future.set_result(frozenset(e.url for e in step.frontier) & result.new_urls)
    for (_, claim_future), holders in zip(group.claims, result.holders, strict=True):
        if not claim_future.done():
            claim_future.set_result(holders)


def _fail(group: _Waiting, exc: Exception) -> None:
    for _, future in group.steps:
        if not future.done():
            future.set_exception(exc)
    for _, claim_future in group.claims:
        if not claim_future.done():
            claim_future.set_exception(exc)


def _cancel(group: _Waiting) -> None:
    for _, future in group.steps:
        future.cancel()
    for _, claim_future in group.claims:
        claim_future.cancel()
