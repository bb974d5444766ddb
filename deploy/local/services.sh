#!/usr/bin/env bash
# Starts, stops and reports the six ragchat services as local processes, with the same helpers
# (pid files, logs, health waits, clean stops) as the infrastructure scripts.
#   services.sh up [NAME...]      start (default: all) in parallel, wait until each /readyz is 200
#   services.sh down [NAME...]    SIGTERM (the service drains and commits), SIGKILL after a timeout
#   services.sh status [NAME...]  one line per service: name, pid, HTTP port, health
# Each service runs its console script from the uv environment; logs go to
# $RAGCHAT_LOCAL_DIR/logs/<name>.log, pid files to $RAGCHAT_LOCAL_DIR/run/<name>.pid.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL_SERVICES=(auth retriever chat scraper embedder gateway)
VENV_BIN="${RAGCHAT_VENV_BIN:-$RAGCHAT_ROOT/.venv/bin}"
# Services wait up to 60 s for their dependencies at start and drain for up to 30 s on SIGTERM.
START_TIMEOUT="${RAGCHAT_SERVICE_START_TIMEOUT:-120}"
INFRA_STOP_TIMEOUT="${RAGCHAT_SERVICE_STOP_TIMEOUT:-45}"

http_port() {
  case $1 in
    gateway) echo "$GATEWAY_HTTP_PORT" ;;
    auth) echo "$AUTH_HTTP_PORT" ;;
    scraper) echo "$SCRAPER_HTTP_PORT" ;;
    embedder) echo "$EMBEDDER_HTTP_PORT" ;;
    retriever) echo "$RETRIEVER_HTTP_PORT" ;;
    chat) echo "$CHAT_HTTP_PORT" ;;
    *) COMPONENT=services die "unknown service: $1 (known: ${ALL_SERVICES[*]})" ;;
  esac
}

# Sets the variables lib.sh's component functions read, for one service.
select_service() {
  COMPONENT=$1
  PORT=$(http_port "$1")
  PROCESS_MARKER="ragchat-$1"
}

component_install() {
  [[ -x $VENV_BIN/ragchat-$COMPONENT ]] || die "$VENV_BIN/ragchat-$COMPONENT missing: run 'make install'"
}

component_configure() { :; }

# setsid: the service leads its own process group, so a stop never reaches the caller's shell.
component_start() {
  setsid "$VENV_BIN/ragchat-$COMPONENT" >>"$(log_file)" 2>&1 </dev/null &
  echo $! >"$(pid_file)"
}

component_healthy() {
  curl -fsS --max-time 3 -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null
}

# Runs one subcommand for several services at once and fails if any of them failed.
for_each_service() {
  local cmd=$1 name pids=() rc=0 pid
  shift
  for name in "$@"; do
    (select_service "$name" && "component_$cmd") &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  return "$rc"
}

main() {
  local cmd=${1:-} names
  shift || true
  names=("$@")
  ((${#names[@]})) || names=("${ALL_SERVICES[@]}")
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  case $cmd in
    up | down) for_each_service "$cmd" "${names[@]}" ;;
    status)
      local name rc=0
      for name in "${names[@]}"; do (select_service "$name" && component_status) || rc=1; done
      return "$rc"
      ;;
    *)
      echo "usage: $0 up|down|status [${ALL_SERVICES[*]}]" >&2
      exit 2
      ;;
  esac
}

main "$@"
