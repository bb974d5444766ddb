"""Entry point of the chat service: grounded, streamed answers over gRPC."""

from fastapi import FastAPI
from ragchat_common.runtime import ServiceRuntime, serve
from ragchat_common.topics import CHAT_TURN, TopicSpec, ensure_topics

from ragchat_chat.api.converse import SERVICE_NAME, ChatMetrics, ChatService, register
from ragchat_chat.domain.answering import Answering, AnsweringPolicy
from ragchat_chat.domain.cache import AnswerCache
from ragchat_chat.domain.history import ConversationHistory
from ragchat_chat.domain.retrieval import RetrieverClient
from ragchat_chat.handlers.turns import TurnPublisher
from ragchat_chat.providers.base import Preloadable
from ragchat_chat.providers.factory import build_provider
from ragchat_chat.settings import ChatSettings
from ragchat_chat.store import MIGRATIONS


def policy_of(settings: ChatSettings) -> AnsweringPolicy:
    """The answering knobs from the settings."""
    return AnsweringPolicy(
        retrieval_k=settings.retrieval_k,
        decline_min_score=settings.decline_min_score,
        decline_pages=settings.decline_pages,
        max_message_chars=settings.max_message_chars,
        max_history_turns=settings.max_history_turns,
        memory_turns=settings.memory_turns,
        history_token_budget=settings.history_token_budget,
        rewrite_with_model=settings.rewrite_with_model,
    )


def create_app(settings: ChatSettings) -> FastAPI:
    """The chat process: conversations, answer cache, broker, retriever channel, gRPC server."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    engine = runtime.use_postgres(settings.postgres, MIGRATIONS)
    redis = runtime.use_redis(settings.redis)
    broker = runtime.use_kafka(settings.kafka)
    turn_topic = TopicSpec(settings.turn_topic, CHAT_TURN.partitions)

    async def topics() -> None:
        await ensure_topics(
            settings.kafka.bootstrap_servers,
            (turn_topic, turn_topic.dead_letter),
            settings.kafka.topic_replication_factor,
        )

    provider = build_provider(settings)
    runtime.add_resource("topics", start=topics, stop=_nothing)
    runtime.add_resource(
        "provider",
        start=provider.load if isinstance(provider, Preloadable) else None,
        stop=provider.aclose,
    )
    retriever = runtime.use_grpc_peer("retriever", settings.retriever_target)
    answering = Answering(
        engine=engine,
        retrieval=RetrieverClient(
            lambda: retriever.channel, settings.retriever_timeout_s, settings.passage_chars
        ),
        provider=provider,
        cache=AnswerCache(redis, settings.cache_ttl_s),
        turns=TurnPublisher(broker, settings.turn_topic),
        policy=policy_of(settings),
    )
    # After the gRPC server stops (resources stop in reverse order), before the database closes:
    # turns stopped by their callers during shutdown are still being stored.
    runtime.add_resource("stored turns", start=None, stop=answering.drain)
    service = ChatService(answering, ConversationHistory(engine), ChatMetrics(runtime.registry))
    runtime.serve_grpc(settings, registrars=[register(service)], service_names=[SERVICE_NAME])
    return runtime.http_app("ragchat chat")


async def _nothing() -> None:
    """Topics outlive the process; nothing to undo at shutdown."""


def run() -> None:
    """Start the chat service (console script ``ragchat-chat``)."""
    settings = ChatSettings()
    serve(create_app(settings))
