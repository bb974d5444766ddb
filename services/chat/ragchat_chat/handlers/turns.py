"""Publishes ``chat.turn`` for analytics after each answered, declined or stopped question."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from ragchat_common.events import ChatTurn
from ragchat_common.logs import get_logger

log = get_logger(__name__)


class TurnPublisher:
    """Sends :class:`ChatTurn` events, keyed by conversation so one conversation stays ordered."""

    def __init__(self, broker: KafkaBroker, topic: str) -> None:
        self.broker = broker
        self.topic = topic

    async def publish(self, turn: ChatTurn) -> None:
        """Publish one turn; a failure is logged, not raised: the answer is already stored."""
        try:
            await self.broker.publish(turn, self.topic, key=str(turn.conversation_id).encode())
        except Exception:
            log.exception("chat.turn not published", turn_id=str(turn.turn_id))
