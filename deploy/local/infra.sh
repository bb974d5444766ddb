#!/usr/bin/env bash
# Local infrastructure as plain processes: Kafka, OpenSearch, PostgreSQL and Redis, each installed
# on first use, with pid files in $RAGCHAT_LOCAL_DIR/run and logs in $RAGCHAT_LOCAL_DIR/logs.
#   infra.sh up [NAME...]      start (default: all), waiting for each to be healthy
#   infra.sh down [NAME...]    stop what `up` started
#   infra.sh status [NAME...]  one line per component: name, pid or "stopped", port, health
# NAME: kafka, opensearch, postgres, redis. Each is also its own script (e.g. kafka.sh up).
set -euo pipefail

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Fast ones first; down runs in reverse.
ALL_COMPONENTS=(postgres redis kafka opensearch)

usage() {
  echo "usage: $0 up|down|status [${ALL_COMPONENTS[*]}]" >&2
  exit 2
}

main() {
  (($#)) || usage
  local cmd=$1 name names=() rc=0 i
  shift
  for name in "$@"; do
    [[ " ${ALL_COMPONENTS[*]} " == *" $name "* ]] || usage
    names+=("$name")
  done
  ((${#names[@]})) || names=("${ALL_COMPONENTS[@]}")
  case $cmd in
    # Stops at the first component that fails to come up.
    up) for name in "${names[@]}"; do "$SCRIPTS_DIR/$name.sh" up; done ;;
    down)
      for ((i = ${#names[@]} - 1; i >= 0; i--)); do
        "$SCRIPTS_DIR/${names[i]}.sh" down || rc=1
      done
      ;;
    status) for name in "${names[@]}"; do "$SCRIPTS_DIR/$name.sh" status || rc=1; done ;;
    *) usage ;;
  esac
  return "$rc"
}

main "$@"
