# shellcheck shell=bash
# Shared settings and helpers for scripts/infra/{up,down,status}.sh.
# Sourced, not run. Service-specific parts live in services.sh.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # used by up.sh/down.sh
REPO_ROOT="$(cd "$INFRA_DIR/../.." && pwd)"

# Where installs/builds are cached (outside the repo) and where runtime state lives.
INFRA_CACHE="${INFRA_CACHE:-$HOME/.cache/shop-infra}"
INFRA_STATE="${INFRA_STATE:-/tmp/shop-infra}"
INFRA_LOCK="${INFRA_STATE%/}.lock"
LOG_DIR="$INFRA_STATE/logs"
PID_DIR="$INFRA_STATE/pids"

INFRA_HOST=127.0.0.1

# Ports (override with env vars; defaults are what .infra.env advertises).
NATS_PORT="${NATS_PORT:-4222}"
NATS_MONITOR_PORT="${NATS_MONITOR_PORT:-8222}"
REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
MONGO_PORT="${MONGO_PORT:-27017}"
FERRETDB_DEBUG_PORT="${FERRETDB_DEBUG_PORT:-8088}"
MAILPIT_SMTP_PORT="${MAILPIT_SMTP_PORT:-1025}"
MAILPIT_HTTP_PORT="${MAILPIT_HTTP_PORT:-8025}"
ZIPKIN_PORT="${ZIPKIN_PORT:-9411}"
STRIPE_MOCK_PORT="${STRIPE_MOCK_PORT:-12111}"
STRIPE_MOCK_HTTPS_PORT="${STRIPE_MOCK_HTTPS_PORT:-12112}"

# Versions (changing one makes up.sh fetch/build that version into the cache).
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.2}"
MAILPIT_VERSION="${MAILPIT_VERSION:-v1.33.1}"
MONGO_JAVA_SERVER_VERSION="${MONGO_JAVA_SERVER_VERSION:-1.47.0}"
ZIPKIN_VERSION="${ZIPKIN_VERSION:-3.5.1}"
STRIPE_MOCK_VERSION="${STRIPE_MOCK_VERSION:-v0.203.0}"

# What serves the MongoDB API on $MONGO_PORT (the "mongo" service):
#   mongo-java-server  de.bwaldvogel mongo-java-server + H2 (default: single-document
#                      updates are atomic, which stock reservations rely on)
#   ferretdb           FerretDB v1 + SQLite (loses concurrent updates to one document;
#                      see NOTES.md "FerretDB: lost updates")
MONGO_SERVER="${MONGO_SERVER:-mongo-java-server}"

# Heap of the Kafka JVM (the machine is small and shared).
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

ALL_SERVICES=(nats redis kafka mongo mailpit zipkin stripe-mock)

# ---------------------------------------------------------------- messages

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# validate_services NAME... : die on an unknown service name
validate_services() {
  local s known
  for s in "$@"; do
    known=0
    for k in "${ALL_SERVICES[@]}"; do [[ "$s" == "$k" ]] && known=1; done
    ((known)) || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
  done
}

# ---------------------------------------------------------------- probes

# port_open PORT [HOST] : true if something accepts TCP connections there
port_open() {
  local port=$1 host=${2:-$INFRA_HOST}
  # shellcheck disable=SC2016 # $0/$1 expand in the inner bash
  timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# http_ok URL : true if the URL answers 2xx within 2 s
http_ok() {
  curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

# ---------------------------------------------------------------- pid files

pid_file() { echo "$PID_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

# pid_matches PID MARKER : the process exists and its command line matches MARKER (ERE)
# (guards against a stale pid file whose pid was reused by another program)
pid_matches() {
  local pid=$1 marker=$2
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ -r /proc/$pid/cmdline ]] || return 0
  # not grep -q: exiting at the first match could SIGPIPE tr, failing the pipe under pipefail
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -E -- "$marker" >/dev/null
}

# read_pid NAME MARKER : print the pid from NAME's pid file if that process is alive
read_pid() {
  local f pid
  f=$(pid_file "$1")
  [[ -s "$f" ]] || return 1
  pid=$(<"$f")
  pid_matches "$pid" "$2" || return 1
  echo "$pid"
}

# pid_is_ours PID : the process was started by start_daemon for this $INFRA_STATE: its
# environment has SHOP_INFRA_STATE=$INFRA_STATE, or (redis overwrites its environ when
# it sets its process title) its working directory is inside $INFRA_STATE
pid_is_ours() {
  local cwd
  tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -xF "SHOP_INFRA_STATE=$INFRA_STATE" >/dev/null && return 0
  cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
  [[ "$cwd/" == "${INFRA_STATE%/}/"* ]]
}

# listener_pid PORT : pid of the process listening on 127.0.0.1:PORT (needs ss), if any
listener_pid() {
  command -v ss >/dev/null 2>&1 || return 1
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2
}

# start_daemon NAME CMD... : start CMD detached (own session, stdin closed, output
# appended to the log, working directory $INFRA_STATE/NAME) and record its pid.
# The pid is the pid of CMD itself.
start_daemon() {
  local name=$1; shift
  local pidf logf
  pidf=$(pid_file "$name")
  logf=$(log_file "$name")
  mkdir -p "$PID_DIR" "$LOG_DIR"
  rm -f "$pidf"
  printf '\n===== %s: starting %s\n' "$(date -Is)" "$*" >>"$logf"
  # env and bash exec in turn, bash writes its pid, then execs CMD (same pid); the
  # SHOP_INFRA_STATE tag lets down.sh find it if the pid file is lost; fd 9 (the lock) is closed.
  mkdir -p "$INFRA_STATE/$name"
  # shellcheck disable=SC2016 # $$, $0 and $@ expand in the inner bash
  (cd "$INFRA_STATE/$name" &&
    exec setsid env SHOP_INFRA_STATE="$INFRA_STATE" bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" \
      </dev/null >>"$logf" 2>&1 9>&-) &
  local _
  for _ in $(seq 50); do [[ -s "$pidf" ]] && return 0; sleep 0.05; done
  die "$name: could not start (no pid file); see $logf"
}

# stop_pid NAME PID [TIMEOUT_S] : SIGTERM, wait, SIGKILL after TIMEOUT_S; wait for exit
stop_pid() {
  local name=$1 pid=$2 timeout=${3:-20} waited=0
  kill -0 "$pid" 2>/dev/null || return 0
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= timeout * 10)); then
      log "$name: still running after ${timeout}s, sending SIGKILL to $pid"
      kill -KILL "$pid" 2>/dev/null || true
      waited=0; timeout=10
    fi
    # a zombie (child of this shell) counts as gone
    [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]] && break
    sleep 0.1
    waited=$((waited + 1))
  done
}

# wait_ready NAME MARKER TIMEOUT_S PROBE... : poll PROBE until it succeeds; fail early
# if the process dies, or after TIMEOUT_S, with the log's tail.
wait_ready() {
  local name=$1 marker=$2 timeout=$3; shift 3
  local deadline=$((SECONDS + timeout)) logf pid
  logf=$(log_file "$name")
  # The pid start_daemon just recorded: alive is enough (its command line changes while it execs,
  # and it was started a moment ago, so the pid cannot have been reused).
  pid=$(<"$(pid_file "$name")") || pid=
  while ! "$@"; do
    if ! kill -0 "$pid" 2>/dev/null || [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]]; then
      tail -n 25 "$logf" >&2 2>/dev/null || true
      die "$name exited during start-up; full log: $logf"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 25 "$logf" >&2 2>/dev/null || true
      die "$name did not become ready within ${timeout}s; full log: $logf"
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------- installs

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG... : install Debian packages (apt-get update first, once per run)
APT_UPDATED=0
apt_install() {
  if ((!APT_UPDATED)); then
    log "apt-get update"
    as_root apt-get update -q >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "$@" >&2 \
    || die "apt-get install $* failed"
}

# install_chromium : Debian's chromium for the headless browser test of /api/docs
# (test/e2e/docs-ui.test.ts); not a daemon, just a prerequisite, skipped when present.
install_chromium() {
  [[ -x /usr/bin/chromium ]] || apt_install chromium
}

# take_lock : serialize up.sh/down.sh runs (fd 9 stays open until the script exits)
take_lock() {
  mkdir -p "$(dirname "$INFRA_LOCK")"
  exec 9>"$INFRA_LOCK"
  flock -w 300 9 || die "another up.sh/down.sh holds $INFRA_LOCK"
}
