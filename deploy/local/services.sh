#!/usr/bin/env bash
# Starts, stops and reports the six ragchat services as local processes.
#   services.sh up [NAME...]      start (default: all), wait until each /readyz answers 200
#   services.sh down [NAME...]    SIGTERM, wait for a clean exit, SIGKILL after a timeout
#   services.sh status [NAME...]  one line per service: pid, port, health
# Each service runs from its console script in the uv environment; logs go to
# $RAGCHAT_LOCAL_DIR/logs/<name>.log and pid files to $RAGCHAT_LOCAL_DIR/run/<name>.pid.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
# shellcheck source=lib.sh
source "$here/lib.sh"

ALL_SERVICES=(auth retriever chat scraper embedder gateway)
READY_TIMEOUT="${RAGCHAT_SERVICE_READY_TIMEOUT:-120}"
STOP_TIMEOUT="${RAGCHAT_SERVICE_STOP_TIMEOUT:-40}"
VENV_BIN="${RAGCHAT_VENV_BIN:-$RAGCHAT_ROOT/.venv/bin}"

http_port() {
  case "$1" in
    gateway) echo "${GATEWAY_HTTP_PORT:-8080}" ;;
    auth) echo "${AUTH_HTTP_PORT:-8081}" ;;
    scraper) echo "${SCRAPER_HTTP_PORT:-8082}" ;;
    embedder) echo "${EMBEDDER_HTTP_PORT:-8083}" ;;
    retriever) echo "${RETRIEVER_HTTP_PORT:-8084}" ;;
    chat) echo "${CHAT_HTTP_PORT:-8085}" ;;
    *) echo "unknown service: $1" >&2; return 1 ;;
  esac
}

readyz() { curl -fsS --max-time 3 "http://127.0.0.1:$(http_port "$1")/readyz" 2>/dev/null; }

start_service() {
  local name=$1
  if pid_alive "$name"; then
    echo "$name already running (pid $(cat "$(pid_file "$name")"))"
    return 0
  fi
  [ -x "$VENV_BIN/ragchat-$name" ] || die "$VENV_BIN/ragchat-$name missing: run 'make install' first"
  start_detached "$name" "$VENV_BIN/ragchat-$name"
}

wait_ready() {
  local name=$1 deadline=$((SECONDS + READY_TIMEOUT))
  until readyz "$name" >/dev/null; do
    if ! pid_alive "$name"; then
      fail_with_log "$name" "exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
      fail_with_log "$name" "not ready after ${READY_TIMEOUT}s (last /readyz: $(curl -sS --max-time 3 "http://127.0.0.1:$(http_port "$name")/readyz" 2>&1))"
    fi
    sleep 0.5
  done
  echo "$name ready on http://127.0.0.1:$(http_port "$name")"
}

cmd_up() {
  local name
  for name in "$@"; do start_service "$name"; done
  for name in "$@"; do wait_ready "$name"; done
}

cmd_down() {
  local i
  # Reverse order: the gateway stops taking requests before the services behind it go away.
  for ((i = $# ; i > 0 ; i--)); do stop_process "${!i}" "$STOP_TIMEOUT"; done
}

cmd_status() {
  local name health
  for name in "$@"; do
    if pid_alive "$name"; then
      if readyz "$name" >/dev/null; then health=ready; else health=unready; fi
      printf '%-10s pid %-8s port %-6s %s\n' "$name" "$(cat "$(pid_file "$name")")" "$(http_port "$name")" "$health"
    else
      printf '%-10s %-12s port %-6s %s\n' "$name" "stopped" "$(http_port "$name")" "-"
    fi
  done
}

main() {
  local cmd=${1:-}
  shift || true
  local names=("$@")
  ((${#names[@]})) || names=("${ALL_SERVICES[@]}")
  case "$cmd" in
    up) cmd_up "${names[@]}" ;;
    down) cmd_down "${names[@]}" ;;
    status) cmd_status "${names[@]}" ;;
    *) die "usage: $0 up|down|status [${ALL_SERVICES[*]}]" ;;
  esac
}

main "$@"
