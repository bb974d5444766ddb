# The two commands a newcomer needs: `make up` runs the product, `make test` passes the tests.
# Everything else is here for day-to-day work. Each target installs what it needs.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

RAGCHAT_CACHE_DIR ?= $(HOME)/.cache/ragchat
UV_VERSION := 0.13.9
UV := $(RAGCHAT_CACHE_DIR)/uv-$(UV_VERSION)/bin/uv
LOCAL := deploy/local
# Every command sees the same settings as the local scripts (ports, URLs), overridable from the env.
WITH_ENV := source $(LOCAL)/env.sh &&
PYTEST := $(WITH_ENV) $(UV) run --frozen pytest
export UV_CACHE_DIR ?= $(HOME)/.cache/uv

.PHONY: help install up down status test test-unit test-integration test-e2e lint format proto \
	bench bench-ingest bench-retrieval test-ingest-full eval bench-chat e2e bench-api web web-test fuzz bench-embed

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv $(RAGCHAT_CACHE_DIR)/uv-$(UV_VERSION)
	$(RAGCHAT_CACHE_DIR)/uv-$(UV_VERSION)/bin/pip install -q uv==$(UV_VERSION)

install: $(UV) ## Python environment of every service (uv, from uv.lock) and Debian's Chromium
	$(UV) sync --frozen --all-packages
	$(LOCAL)/chromium.sh up

up: install web ## Start infrastructure and all six services, then print where the gateway listens
	$(LOCAL)/infra.sh up
	$(WITH_ENV) $(UV) run --frozen ragchat-topics
	$(LOCAL)/services.sh up
	@$(WITH_ENV) echo "ragchat gateway: http://127.0.0.1:$${GATEWAY_HTTP_PORT:-8080}  (make status, make down)"; \
	  secret="$$RAGCHAT_LOCAL_DIR/secrets/owner-password"; \
	  if [ -s "$$secret" ]; then \
	    echo "first owner: $${AUTH_BOOTSTRAP_EMAIL:-owner@ragchat.local}, one-time password in $$secret: $$(cat "$$secret")"; \
	  fi

down: ## Stop the services and the infrastructure this project started
	$(LOCAL)/services.sh down
	$(LOCAL)/infra.sh down

status: ## Show each process with its health (fails when one is down or unhealthy)
	@rc=0; $(LOCAL)/infra.sh status || rc=1; $(LOCAL)/services.sh status || rc=1; exit $$rc

test: install lint web-test web ## Lint, web component tests, then every test against real Kafka, OpenSearch, PostgreSQL and Redis
	$(LOCAL)/infra.sh up
	$(PYTEST) -m "unit or integration or e2e"

test-unit: install ## Only the tests that need no server
	$(PYTEST) -m unit

test-integration: install ## Only the tests against the real infrastructure
	$(LOCAL)/infra.sh up
	$(PYTEST) -m integration

test-e2e: install web ## Only the tests that drive running services
	$(LOCAL)/infra.sh up
	$(PYTEST) -m e2e

lint: install ## ruff (lint and format check) and mypy --strict on every package
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

format: install ## Apply ruff's fixes and formatting
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

proto: install ## Regenerate the gRPC stubs from proto/
	$(UV) run --frozen python proto/generate.py

bench: bench-ingest bench-retrieval bench-chat bench-api bench-embed ## Every benchmark (each prints a table and a last BENCH line)

bench-ingest: install ## Ingestion throughput on Debian's python3-doc (FULL=1: all ~530 pages)
	$(LOCAL)/infra.sh up
	$(LOCAL)/python3-doc.sh up
	$(WITH_ENV) $(UV) run --frozen python -m bench.ingest $(if $(FULL),--full,)

bench-retrieval: install ## Search latency per mode, ours vs raw OpenSearch (SIZE=n chunks; 1M default)
	$(LOCAL)/infra.sh up opensearch
	$(WITH_ENV) $(UV) run --frozen python -m bench.retrieval $(if $(SIZE),--size $(SIZE),)

test-ingest-full: install ## The python3-doc end-to-end test on the whole site (about 21 minutes on 2 cores)
	$(LOCAL)/infra.sh up
	$(WITH_ENV) RAGCHAT_E2E_FULL_SITE=1 $(UV) run --frozen pytest -m e2e tests/e2e/test_ingestion_python_docs.py

eval: install ## Answer quality on python3-doc: Recall@5/MRR@10 per search mode, declines, citations
	$(LOCAL)/infra.sh up
	$(LOCAL)/python3-doc.sh up
	$(WITH_ENV) $(UV) run --frozen python -m bench.eval

bench-chat: install ## Chat first-token and total latency per provider at 1, 10 and 50 conversations, on a cache hit and on a follow-up
	$(LOCAL)/infra.sh up
	$(LOCAL)/python3-doc.sh up
	$(WITH_ENV) $(UV) run --frozen python -m bench.chat

e2e: install web ## Browser tests: Playwright drives Debian's Chromium through the web app and the widget on a whole stack (screenshots: .local/e2e-screenshots)
	$(LOCAL)/infra.sh up
	$(PYTEST) -m e2e tests/e2e/test_web_*.py

bench-api: install ## Gateway p50/p95 of 3 endpoints at 200 req/s, WebSocket sessions held, latency added over ChatService
	$(LOCAL)/infra.sh up
	$(WITH_ENV) $(UV) run --frozen python -m bench.api

# The web app and the widget are rebuilt only when a source is newer than the build.
WEB := services/gateway/web
WIDGET := $(WEB)/widget
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) $(addprefix $(WEB)/,index.html package.json vite.config.ts tsconfig.json)
WIDGET_SOURCES := $(shell find $(WIDGET) -path $(WIDGET)/node_modules -prune -o -path $(WIDGET)/dist -prune -o -type f -print 2>/dev/null)
# `npm install` over the committed lockfile rather than `npm ci`: the registry this machine reaches
# lacks other platforms' optional binaries (e.g. @tailwindcss/oxide-darwin-*), so the lockfile cannot
# list them and `npm ci` refuses it as out of sync; `npm install` installs exactly the locked versions.
NPM_INSTALL := npm install --no-audit --no-fund

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && $(NPM_INSTALL)

$(WIDGET)/node_modules/.package-lock.json: $(WIDGET)/package-lock.json
	cd $(WIDGET) && $(NPM_INSTALL)

$(WEB)/dist/index.html: $(WEB)/node_modules/.package-lock.json $(WEB_SOURCES)
	cd $(WEB) && npm run build

$(WIDGET)/dist/widget.js: $(WIDGET)/node_modules/.package-lock.json $(WIDGET_SOURCES)
	cd $(WIDGET) && npm run build

web: $(WEB)/dist/index.html $(WIDGET)/dist/widget.js ## Build the staff web app (web/dist) and the widget (web/widget/dist) when sources changed

web-test: $(WEB)/node_modules/.package-lock.json $(WIDGET)/node_modules/.package-lock.json ## Component tests of the web app and the widget (Vitest, jsdom)
	cd $(WEB) && npm test
	cd $(WIDGET) && npm test

fuzz: install ## Schemathesis on the gateway's OpenAPI as a logged-in owner (real auth, retriever, chat, gateway): no 5xx, no response off its schema
	$(LOCAL)/infra.sh up
	$(WITH_ENV) $(UV) run --frozen python -m tests.fuzz.gateway

bench-embed: install ## Embedding chunks/s per encode batch size and through the embedder's path (DEVICE=cuda CHUNKS=n BATCHES=16,32,64)
	$(WITH_ENV) $(UV) run --frozen python -m bench.embed $(if $(DEVICE),--device $(DEVICE),) $(if $(CHUNKS),--chunks $(CHUNKS),) $(if $(BATCHES),--batch-sizes $(BATCHES),)
