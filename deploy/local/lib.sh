# Shared helpers for the local infrastructure scripts (kafka.sh, opensearch.sh, postgres.sh,
# redis.sh). Sourced, never run. A component script sets
#   COMPONENT       name, used for run/<name>.pid, logs/<name>.log, data/<name>, conf/<name>
#   PORT            the port clients use (status line, "port busy" and "port freed" checks)
#   START_TIMEOUT   seconds to wait for health after a start
#   PROCESS_MARKER  a string found in the server's command line (guards against reused pids)
#   STOP_SIGNAL     optional, default TERM
# defines component_install, component_configure, component_start and component_healthy, and ends
# with `component_main "$@"`.
# shellcheck shell=bash

LOCAL_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$LOCAL_SCRIPTS_DIR/env.sh"

# The service user must read what root creates here, whatever the caller's umask.
umask 022

RUN_DIR="$RAGCHAT_LOCAL_DIR/run"
LOG_DIR="$RAGCHAT_LOCAL_DIR/logs"
DATA_DIR="$RAGCHAT_LOCAL_DIR/data"
CONF_DIR="$RAGCHAT_LOCAL_DIR/conf"

log() { printf '%s: %s\n' "$COMPONENT" "$*"; }
die() { printf '%s: ERROR: %s\n' "$COMPONENT" "$*" >&2; exit 1; }

log_file() { echo "$LOG_DIR/$COMPONENT.log"; }
pid_file() { echo "$RUN_DIR/$COMPONENT.pid"; }

# Prints the tail of a log to stderr, for failures.
show_log_tail() {
  local file=$1
  [[ -f $file ]] || return 0
  printf -- '--- last 40 lines of %s ---\n' "$file" >&2
  tail -n 40 "$file" >&2
  printf -- '---\n' >&2
}

# --- packages -----------------------------------------------------------------------------------

APT_UPDATED=false
apt_install() {
  [[ $EUID -eq 0 ]] || die "need Debian package(s) $*: run as root or install them"
  if [[ $APT_UPDATED == false ]]; then
    apt-get -qq -o DPkg::Lock::Timeout=600 update
    APT_UPDATED=true
  fi
  log "installing Debian package(s): $*"
  DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=600 \
    install --no-install-recommends "$@" >/dev/null
}

# ensure_command COMMAND PACKAGE: installs PACKAGE when COMMAND is not on PATH.
ensure_command() {
  command -v "$1" >/dev/null || apt_install "$2"
}

ensure_java() {
  ensure_command java openjdk-17-jre-headless
}

# Runs Maven in batch mode with its output in logs/<name>-install.log (it shows what was
# downloaded: nothing, once ~/.m2 holds the artifacts).
mvn_run() {
  ensure_java
  ensure_command mvn maven
  local install_log="$LOG_DIR/$COMPONENT-install.log"
  # From /, so that a pom.xml in the caller's directory is never picked up.
  if ! (cd / && mvn -B -Dstyle.color=never "$@") >>"$install_log" 2>&1; then
    show_log_tail "$install_log"
    die "Maven failed (mvn $*)"
  fi
}

# install_into_place DIR TARGET: renames a completed install into the cache. Another clone may
# have finished the same install first: then its copy is kept and ours dropped.
install_into_place() {
  if ! mv -T "$1" "$2" 2>/dev/null; then
    [[ -d $2 ]] || die "could not move $1 to $2"
    rm -rf "$1"
  fi
}

# --- the unprivileged user for PostgreSQL and OpenSearch ------------------------------------------

ensure_service_user() {
  [[ $EUID -eq 0 ]] || return 0
  id -u "$RAGCHAT_SERVICE_USER" >/dev/null 2>&1 && return 0
  log "creating system user $RAGCHAT_SERVICE_USER"
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$RAGCHAT_SERVICE_USER"
}

# Replaces the current (sub)shell with a command run as the service user when we are root, as
# ourselves otherwise. From / because the JVM and pg_ctl fail when they cannot read the current
# directory (e.g. /root). Run it in a subshell: `(exec_as_service_user cmd ...) &` makes $! the
# server's own pid.
exec_as_service_user() {
  cd /
  if [[ $EUID -eq 0 ]]; then
    exec setpriv --reuid="$RAGCHAT_SERVICE_USER" --regid="$RAGCHAT_SERVICE_USER" --init-groups -- "$@"
  fi
  exec "$@"
}

as_service_user() {
  (exec_as_service_user "$@")
}

# chown_service_user PATH...: gives paths the service user must write to.
chown_service_user() {
  [[ $EUID -eq 0 ]] || return 0
  chown -R "$RAGCHAT_SERVICE_USER:$RAGCHAT_SERVICE_USER" "$@"
}

# grant_traverse DIR: lets the service user reach DIR. The clone or the cache may sit below a
# directory others cannot enter (/root is mode 700): those ancestors get a search-only (x) ACL entry
# for the service user, which lets it pass through without listing or reading anything there.
grant_traverse() {
  [[ $EUID -eq 0 ]] || return 0
  local path="" part parts
  IFS=/ read -ra parts <<<"${1#/}"
  for part in "${parts[@]}"; do
    path+="/$part"
    as_service_user test -x "$path" && continue
    ensure_command setfacl acl
    setfacl -m "u:$RAGCHAT_SERVICE_USER:x" "$path"
    log "granted $RAGCHAT_SERVICE_USER search (x) permission on $path (ACL)"
  done
}

# --- processes and ports --------------------------------------------------------------------------

# A killed server is an orphan that PID 1 may reap late: a zombie counts as gone. Reads /proc
# (minimal images have no ps); the state is the field after the parenthesised command name.
process_alive() {
  local stat
  # Test first: under `set -e` a failed `$(<file)` exits the script even inside `||`.
  [[ -r /proc/$1/stat ]] || return 1
  stat=$(<"/proc/$1/stat") || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Prints the pid from the pid file if that process is alive and is ours (its command line holds
# PROCESS_MARKER, so a pid reused by another program after a crash does not count).
running_pid() {
  local file pid
  file=$(pid_file)
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && process_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$PROCESS_MARKER" || return 1
  echo "$pid"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port_closed() {
  local deadline=$((SECONDS + INFRA_STOP_TIMEOUT))
  while port_open "$PORT"; do
    ((SECONDS < deadline)) || die "port $PORT is still in use: $(ss -Hltnp "sport = :$PORT")"
    sleep 0.2
  done
}

# wait_healthy PID: waits until component_healthy succeeds; fails with the log's tail when PID
# exits or START_TIMEOUT passes.
wait_healthy() {
  local pid=$1 deadline=$((SECONDS + START_TIMEOUT))
  until component_healthy; do
    if ! process_alive "$pid"; then
      show_log_tail "$(log_file)"
      die "the server exited during startup (log: $(log_file))"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$(log_file)"
      die "not healthy after ${START_TIMEOUT}s (pid $pid left running for inspection;" \
        "'$LOCAL_SCRIPTS_DIR/infra.sh down $COMPONENT' stops it; log: $(log_file))"
    fi
    sleep 1
  done
}

# Sends STOP_SIGNAL, waits INFRA_STOP_TIMEOUT seconds, then SIGKILL. (PostgreSQL's workers are
# in sessions of their own and exit by themselves when the postmaster is gone.)
stop_process() {
  local pid=$1 deadline=$((SECONDS + INFRA_STOP_TIMEOUT))
  kill "-${STOP_SIGNAL:-TERM}" "$pid" 2>/dev/null || true
  while process_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  process_alive "$pid" || return 0
  log "pid $pid still running after ${INFRA_STOP_TIMEOUT}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  while process_alive "$pid"; do sleep 0.2; done
}

# --- subcommands ----------------------------------------------------------------------------------

component_up() {
  local pid started=$SECONDS
  if pid=$(running_pid); then
    wait_healthy "$pid"
    log "already running (pid $pid, port $PORT)"
    return 0
  fi
  if [[ -e $(pid_file) ]]; then
    log "removing stale pid file $(pid_file)"
    rm -f "$(pid_file)"
  fi
  if port_open "$PORT"; then
    die "port $PORT is in use by a process we did not start: $(ss -Hltnp "sport = :$PORT")"
  fi
  # One previous log is kept, so a failure's tail shows this start only.
  [[ -f $(log_file) ]] && mv -f "$(log_file)" "$(log_file).1"
  component_install
  component_configure
  # The server must not inherit the lock (fd 9): a daemon would hold it for its whole life.
  component_start 9>&-
  if [[ ! -s $(pid_file) ]]; then
    show_log_tail "$(log_file)"
    die "the server did not start (log: $(log_file))"
  fi
  pid=$(<"$(pid_file)")
  wait_healthy "$pid"
  log "up (pid $pid, port $PORT, $((SECONDS - started))s)"
}

component_down() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$(pid_file)"
    log "not running"
    return 0
  fi
  stop_process "$pid"
  rm -f "$(pid_file)"
  wait_port_closed
  log "stopped (pid $pid)"
}

# One line: name, pid or "stopped", port, health. Fails when unhealthy.
component_status() {
  local pid health=ok rc=0
  if pid=$(running_pid); then
    component_healthy || { health=unhealthy; rc=1; }
  else
    pid=stopped health=- rc=1
  fi
  printf '%-10s %-8s %-6s %s\n' "$COMPONENT" "$pid" "$PORT" "$health"
  return "$rc"
}

component_main() {
  local cmd=${1:-}
  case $cmd in
    up | down)
      mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR" "$CONF_DIR"
      # Serialise concurrent up/down of the same component (e.g. parallel test runners).
      exec 9>"$RUN_DIR/$COMPONENT.lock"
      flock 9
      "component_$cmd"
      ;;
    status) component_status ;;
    *)
      echo "usage: $0 up|down|status" >&2
      exit 2
      ;;
  esac
}
