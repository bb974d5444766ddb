# Shared defaults for every local script and the Makefile. Each value can be overridden from the
# environment; the same names are used by docker-compose.yml, the Helm chart and the services.
# shellcheck shell=bash

RAGCHAT_ROOT="${RAGCHAT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# Runtime state of the running stack (data, logs, pid files): ignored by git, inside the clone.
export RAGCHAT_LOCAL_DIR="${RAGCHAT_LOCAL_DIR:-$RAGCHAT_ROOT/.local}"
# Downloads and builds that a fresh clone may reuse: outside the clone.
export RAGCHAT_CACHE_DIR="${RAGCHAT_CACHE_DIR:-$HOME/.cache/ragchat}"

export KAFKA_PORT="${KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$KAFKA_PORT}"

export OPENSEARCH_PORT="${OPENSEARCH_PORT:-19200}"
export OPENSEARCH_TRANSPORT_PORT="${OPENSEARCH_TRANSPORT_PORT:-19300}"
export OPENSEARCH_URL="${OPENSEARCH_URL:-http://127.0.0.1:$OPENSEARCH_PORT}"

export POSTGRES_HOST="${POSTGRES_HOST:-127.0.0.1}"
export POSTGRES_PORT="${POSTGRES_PORT:-15432}"
export POSTGRES_USER="${POSTGRES_USER:-ragchat}"
export POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-ragchat}"
export POSTGRES_DB="${POSTGRES_DB:-ragchat}"

export REDIS_PORT="${REDIS_PORT:-16379}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"

# Local infrastructure (deploy/local/infra.sh): versions, JVM heaps, start/stop timeouts in seconds.
export KAFKA_VERSION="${KAFKA_VERSION:-3.9.2}"
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
export KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
# OpenSearch 3.x runs Lucene 10, whose vector search uses the JDK's vector API (SIMD) on Java 21+:
# at a million chunks k-NN is several times faster than 2.19 on the system's Java 17. It runs on
# OPENSEARCH_JAVA_HOME (the machine's Temurin 25); without a Java there, 2.19.6 on Java 17.
export OPENSEARCH_JAVA_HOME="${OPENSEARCH_JAVA_HOME-/usr/lib/jvm/temurin-25-jdk-amd64}"
if [[ -x $OPENSEARCH_JAVA_HOME/bin/java ]]; then
  export OPENSEARCH_VERSION="${OPENSEARCH_VERSION:-3.5.0}"
else
  export OPENSEARCH_VERSION="${OPENSEARCH_VERSION:-2.19.6}"
fi
export OPENSEARCH_HEAP="${OPENSEARCH_HEAP:-2g}"
export OPENSEARCH_START_TIMEOUT="${OPENSEARCH_START_TIMEOUT:-120}"
export POSTGRES_START_TIMEOUT="${POSTGRES_START_TIMEOUT:-60}"
export REDIS_START_TIMEOUT="${REDIS_START_TIMEOUT:-30}"
export INFRA_STOP_TIMEOUT="${INFRA_STOP_TIMEOUT:-30}"
# PostgreSQL and OpenSearch refuse to run as root; when the scripts run as root they run these as this user.
export RAGCHAT_SERVICE_USER="${RAGCHAT_SERVICE_USER:-ragchat}"

# The six services: HTTP ports (health, readiness, metrics, and the gateway's API) and gRPC ports.
export GATEWAY_HTTP_PORT="${GATEWAY_HTTP_PORT:-8080}"
export AUTH_HTTP_PORT="${AUTH_HTTP_PORT:-8081}"
export SCRAPER_HTTP_PORT="${SCRAPER_HTTP_PORT:-8082}"
export EMBEDDER_HTTP_PORT="${EMBEDDER_HTTP_PORT:-8083}"
export RETRIEVER_HTTP_PORT="${RETRIEVER_HTTP_PORT:-8084}"
export CHAT_HTTP_PORT="${CHAT_HTTP_PORT:-8085}"
export AUTH_GRPC_PORT="${AUTH_GRPC_PORT:-50051}"
export RETRIEVER_GRPC_PORT="${RETRIEVER_GRPC_PORT:-50052}"
export CHAT_GRPC_PORT="${CHAT_GRPC_PORT:-50053}"
export GATEWAY_AUTH_TARGET="${GATEWAY_AUTH_TARGET:-127.0.0.1:$AUTH_GRPC_PORT}"
export GATEWAY_RETRIEVER_TARGET="${GATEWAY_RETRIEVER_TARGET:-127.0.0.1:$RETRIEVER_GRPC_PORT}"
export GATEWAY_CHAT_TARGET="${GATEWAY_CHAT_TARGET:-127.0.0.1:$CHAT_GRPC_PORT}"
export CHAT_RETRIEVER_TARGET="${CHAT_RETRIEVER_TARGET:-127.0.0.1:$RETRIEVER_GRPC_PORT}"
# SSRF guard allow-lists (scraper pages, embedder images): SCRAPER_SSRF_ALLOW_LIST and
# EMBEDDER_SSRF_ALLOW_LIST, host names, IPs or CIDRs that may be fetched although private,
# comma-separated (or a JSON list). Unset here: public addresses only (export one to crawl a
# local demo site, e.g. SCRAPER_SSRF_ALLOW_LIST=127.0.0.1).
# How chat answers: extractive (no model), local (Gemma 3 270M on llama.cpp) or openai (an
# OpenAI-compatible endpoint: CHAT_OPENAI_BASE_URL, CHAT_OPENAI_MODEL, CHAT_OPENAI_API_KEY).
export CHAT_PROVIDER="${CHAT_PROVIDER:-extractive}"
# llama.cpp threads of the local model: on this 2-core machine shared by every service, one
# thread answered 3x faster than two (0.2 s against 0.65 s a token under load; two threads spin
# waiting for each other when the cores are busy).
export CHAT_LOCAL_THREADS="${CHAT_LOCAL_THREADS:-1}"
