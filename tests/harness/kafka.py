"""Reading a Kafka topic in tests: from the first offset until what was read satisfies a check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from ragchat_common.settings import KafkaSettings

Records = list[ConsumerRecord[bytes, bytes]]


@dataclass(frozen=True)
class TopicReader:
    """Reads a topic from its first offset until the records read so far satisfy a condition."""

    kafka: KafkaSettings

    async def __call__(
        self,
        topic: str,
        until: Callable[[Records], bool],
        *,
        within_s: float = 240.0,
        idle_s: float | None = None,
    ) -> Records:
        """Every record of ``topic`` up to the one after which ``until`` holds. With ``idle_s``,
        a topic that stays quiet that long ends the read (for "everything until it settles");
        otherwise not reaching ``until`` within ``within_s`` fails with ``TimeoutError``."""
        reader = AIOKafkaConsumer(
            topic, bootstrap_servers=self.kafka.bootstrap_servers, auto_offset_reset="earliest"
        )
        await reader.start()
        records: Records = []
        try:
            async with asyncio.timeout(within_s):
                while not until(records):
                    wait_ms = int((idle_s or within_s) * 1000)
                    batch = await reader.getmany(timeout_ms=wait_ms, max_records=1)
                    fresh = [record for part in batch.values() for record in part]
                    if not fresh and idle_s is not None:
                        break
                    records.extend(fresh)
            return records
        finally:
            await reader.stop()
