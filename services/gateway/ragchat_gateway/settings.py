"""Gateway settings (environment prefix ``GATEWAY_``)."""

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings, ServiceSettings
from ragchat_common.topics import CHAT_TURN, CRAWL_PROGRESS, URL_SUBMITTED


class AnalyticsSettings(BaseModel):
    """Knobs of the analytics read model.

    Set as JSON in the environment: ``GATEWAY_ANALYTICS='{"similarity_threshold": 0.8}'``.
    """

    # Cosine similarity (all-MiniLM-L6-v2) at which two questions count as the same question:
    # paraphrases measured 0.62-0.89, unrelated support questions below 0.31.
    similarity_threshold: float = Field(default=0.55, gt=0.0, le=1.0)
    # Most frequent distinct questions considered when grouping (bounds the work per request).
    max_distinct_questions: int = Field(default=2000, ge=1)
    # Questions per RetrieverService.Embed call, and its deadline.
    embed_batch: int = Field(default=64, ge=1)
    embed_timeout_s: float = Field(default=10.0, gt=0)


class GatewaySettings(ServiceSettings):
    """Where the gateway listens and the services and stores it talks to."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    http_port: int = 8080
    auth_target: str = "127.0.0.1:50051"
    retriever_target: str = "127.0.0.1:50052"
    chat_target: str = "127.0.0.1:50053"
    # Deadline of one unary gRPC call to a service behind the gateway.
    grpc_timeout_s: float = 10.0
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    # Browser origins of the web app allowed to call the API with credentials (cookies).
    # Comma-free JSON list in the environment, e.g. GATEWAY_CORS_ORIGINS='["https://x"]'.
    cors_origins: list[str] = Field(default_factory=list)
    # Paths a widget on any site may call with an API key (no cookies); the key's own allowed
    # origins are checked by auth on every request.
    widget_paths: list[str] = Field(default_factory=lambda: ["/api/v1/chat/stream"])
    # Largest request body accepted, in bytes (413 above it).
    max_body_bytes: int = 1_000_000
    # The refresh cookie is Secure unless the gateway is served over plain HTTP (local runs).
    refresh_cookie_secure: bool = False
    # The built web app (index.html and assets), served at / when present.
    web_dist: Path = Path(__file__).resolve().parent.parent / "web" / "dist"
    # The embeddable chat widget (built by `npm run build` in web/widget), served at /widget.js.
    widget_js: Path = Path(__file__).resolve().parent.parent / "web/widget/dist/widget.js"
    # Topics the gateway consumes (the platform's by default; test stacks use their own).
    chat_turn_topic: str = CHAT_TURN.name
    url_submitted_topic: str = URL_SUBMITTED.name
    crawl_progress_topic: str = CRAWL_PROGRESS.name
    # Every consumer's group is f"{consumer_group_prefix}-{purpose}" (e.g. gateway-analytics).
    consumer_group_prefix: str = "gateway"
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    # Rate limits ("<count>/<second|minute|hour>", the ``limits`` notation), counted in Redis.
    rate_limit_enabled: bool = True
    rate_limit_user: str = "300/minute"
    rate_limit_api_key: str = "600/minute"
    # Per client IP on login, registration, refresh, password change and invitations.
    rate_limit_login_ip: str = "10/minute"
    rate_limit_global: str = "5000/second"
    # Prefix of the counters in Redis (one per deployment; test stacks sharing a Redis differ).
    rate_limit_key_prefix: str = "ratelimit"
    # WebSockets: heartbeat period (a ping unanswered by the next one closes the socket) and how
    # long a new socket may take to send its auth frame.
    ws_ping_interval_s: float = 20.0
    ws_auth_timeout_s: float = 10.0
    # Deadline of one streamed chat turn.
    chat_turn_timeout_s: float = 300.0
