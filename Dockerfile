# syntax=docker/dockerfile:1.7
#
# One image recipe for every ragchat service:
#
#   docker build --build-arg SERVICE=gateway -t ragchat-gateway .
#
# SERVICE is one of: gateway, auth, scraper, embedder, retriever, chat.
# The image runs the console script `ragchat-${SERVICE}`; every image also carries
# `ragchat-topics` (from ragchat-common), used by the one-shot topic-creation job.

ARG PYTHON_IMAGE=python:3.11-slim
# Same uv as the Makefile (UV_VERSION there).
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# --------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<gateway|auth|scraper|embedder|retriever|chat>" >&2; exit 1; }

# A compiler for the odd dependency that ships no wheel for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential git \
 && rm -rf /var/lib/apt/lists/*

COPY --from=uv /uv /uvx /usr/local/bin/

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# 1) Third-party dependencies only, from the lock file and the workspace manifests: this layer
#    is rebuilt only when a pyproject.toml or uv.lock changes, not on every source edit.
COPY pyproject.toml uv.lock ./
COPY services/common/pyproject.toml    services/common/pyproject.toml
COPY services/gateway/pyproject.toml   services/gateway/pyproject.toml
COPY services/auth/pyproject.toml      services/auth/pyproject.toml
COPY services/scraper/pyproject.toml   services/scraper/pyproject.toml
COPY services/embedder/pyproject.toml  services/embedder/pyproject.toml
COPY services/retriever/pyproject.toml services/retriever/pyproject.toml
COPY services/chat/pyproject.toml      services/chat/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "ragchat-${SERVICE}"

# 2) The workspace itself, installed non-editable so the runtime stage needs only the venv.
COPY . .
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "ragchat-${SERVICE}" \
 && test -x "/app/.venv/bin/ragchat-${SERVICE}" \
 && test -x /app/.venv/bin/ragchat-topics

# --------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

ARG SERVICE
# Models are local files (no hub downloads at run time). In a container the services listen on
# every interface (the local default is 127.0.0.1).
ENV RAGCHAT_SERVICE=${SERVICE} \
    PATH=/app/.venv/bin:$PATH \
    VIRTUAL_ENV=/app/.venv \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    GATEWAY_HTTP_HOST=0.0.0.0 \
    AUTH_HTTP_HOST=0.0.0.0 \
    AUTH_GRPC_HOST=0.0.0.0 \
    SCRAPER_HTTP_HOST=0.0.0.0 \
    EMBEDDER_HTTP_HOST=0.0.0.0 \
    RETRIEVER_HTTP_HOST=0.0.0.0 \
    RETRIEVER_GRPC_HOST=0.0.0.0 \
    CHAT_HTTP_HOST=0.0.0.0 \
    CHAT_GRPC_HOST=0.0.0.0

RUN groupadd --system --gid 10001 ragchat \
 && useradd --system --uid 10001 --gid ragchat --create-home --home-dir /home/ragchat \
            --shell /usr/sbin/nologin ragchat

# Per-service system libraries: OpenCV (RapidOCR) needs libGL/glib on the embedder; the scraper
# renders JavaScript pages with Debian's Chromium (/usr/bin/chromium), the same browser as on a
# local machine, never a browser build downloaded by `playwright install`.
RUN case "${SERVICE}" in \
      embedder) apt-get update \
                && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
                && rm -rf /var/lib/apt/lists/* ;; \
      scraper) apt-get update \
               && apt-get install -y --no-install-recommends chromium fonts-liberation \
               && rm -rf /var/lib/apt/lists/* ;; \
    esac

COPY --from=builder /app/.venv /app/.venv

# The retriever's query model, exported to ONNX now instead of at every pod's first start (the
# export loads PyTorch's exporter: 5-15 s, and pods have read-only root filesystems and an empty
# $HOME). The export is keyed by the weights' path, size and modification second, which the
# image's layers keep, so the service finds it in RETRIEVER_MODEL_CACHE_DIR. The folder belongs
# to the service's user so that, where the root filesystem is writable, a start with another
# RETRIEVER_QUERY_MODEL_PATH can add its own export.
ENV RETRIEVER_MODEL_CACHE_DIR=/app/models
RUN if [ "${SERVICE}" = retriever ]; then \
      python -m ragchat_retriever.encoders.bake \
      && chown -R 10001:10001 "${RETRIEVER_MODEL_CACHE_DIR}"; \
    fi

LABEL org.opencontainers.image.title="ragchat-${SERVICE}" \
      org.opencontainers.image.description="ragchat ${SERVICE} service"

WORKDIR /app
USER 10001:10001

# Liveness for plain Docker (Kubernetes uses its own probes): GET /healthz on the HTTP port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; s = os.environ['RAGCHAT_SERVICE']; d = {'gateway': 8080, 'auth': 8081, 'scraper': 8082, 'embedder': 8083, 'retriever': 8084, 'chat': 8085}; p = os.environ.get(s.upper() + '_HTTP_PORT') or d[s]; u.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=4)"]

# A shell expands the build-time SERVICE (kept in RAGCHAT_SERVICE); `exec` makes the service
# PID 1 so it receives SIGTERM directly. Override the command to run e.g. `ragchat-topics`.
CMD ["/bin/sh", "-c", "exec \"ragchat-${RAGCHAT_SERVICE}\""]
