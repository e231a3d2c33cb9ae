#!/usr/bin/env bash
# Fetches, starts and stops a local Elasticsearch for `make run` and the tests.
#
#   scripts/elasticsearch.sh start   # prints the URL on stdout once the cluster answers
#   scripts/elasticsearch.sh stop
#   scripts/elasticsearch.sh status
#
# The server is the official integ-test-zip distribution from Maven Central
# (a bare server: no ingest pipelines, no painless, no ILM), cached under
# .cache/ (git-ignored). It listens on 127.0.0.1 only.
#
# Environment:
#   ES_VERSION    default 8.19.21
#   ES_PORT       HTTP port, default 9200
#   ES_DATA_DIR   data directory, default .cache/elasticsearch-data-$ES_PORT
#   ES_HEAP       JVM heap, default 512m
#   WEBJOURNEY_CACHE  cache directory, default <repo>/.cache
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ES_VERSION="${ES_VERSION:-8.19.21}"
ES_PORT="${ES_PORT:-9200}"
CACHE="${WEBJOURNEY_CACHE:-$ROOT/.cache}"
ES_HOME="$CACHE/elasticsearch-$ES_VERSION"
ES_DATA_DIR="${ES_DATA_DIR:-$CACHE/elasticsearch-data-$ES_PORT}"
ES_HEAP="${ES_HEAP:-512m}"
RUN_DIR="$CACHE/elasticsearch-run-$ES_PORT"
PID_FILE="$RUN_DIR/elasticsearch.pid"
LOG_DIR="$RUN_DIR/logs"
URL="http://127.0.0.1:$ES_PORT"
# Elasticsearch refuses to run as root; when we are root we run it as this user.
ES_USER="${ES_USER:-webjourney-es}"

log() { echo "elasticsearch.sh: $*" >&2; }
die() { log "$*"; exit 1; }

answers() { curl -fsS -m 2 "$URL/_cluster/health" >/dev/null 2>&1; }

find_java() {
  if [[ -n "${ES_JAVA_HOME:-}" ]]; then echo "$ES_JAVA_HOME"; return; fi
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then echo "$JAVA_HOME"; return; fi
  command -v java >/dev/null 2>&1 || die "no java on PATH: install a JDK 17 (apt-get install -y openjdk-17-jdk-headless) or set ES_JAVA_HOME"
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

fetch() {
  [[ -x "$ES_HOME/bin/elasticsearch" ]] && return
  command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (apt-get install -y maven) to fetch Elasticsearch"
  mkdir -p "$CACHE"
  local zip="$CACHE/elasticsearch-$ES_VERSION.zip"
  if [[ ! -s "$zip" ]]; then
    log "fetching Elasticsearch $ES_VERSION from Maven Central"
    mvn -q -B dependency:copy \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      -DoutputDirectory="$CACHE" >&2 || die "mvn dependency:copy failed"
  fi
  local tmp="$CACHE/.unpack-$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  unzip -q "$zip" -d "$tmp"
  mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
  rm -rf "$tmp"
}

start() {
  if answers; then
    if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      log "already running at $URL (pid $(cat "$PID_FILE"))"
      echo "$URL"; return
    fi
    die "port $ES_PORT already answers but is not ours; set ES_PORT or ELASTICSEARCH_URL"
  fi
  fetch
  local java_home; java_home="$(find_java)"
  mkdir -p "$ES_DATA_DIR" "$LOG_DIR"
  rm -f "$PID_FILE"
  local run=()
  if [[ "$(id -u)" == 0 ]]; then
    id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
    # The server writes its pid file and logs itself, so it owns RUN_DIR.
    chown -R "$ES_USER" "$ES_HOME" "$ES_DATA_DIR" "$RUN_DIR"
    run=(runuser -u "$ES_USER" --)
  fi
  log "starting Elasticsearch $ES_VERSION on $URL (data: $ES_DATA_DIR)"
  "${run[@]}" env ES_JAVA_HOME="$java_home" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
    "$ES_HOME/bin/elasticsearch" -d -p "$PID_FILE" \
      -E discovery.type=single-node \
      -E network.host=127.0.0.1 \
      -E http.port="$ES_PORT" \
      -E transport.port=0 \
      -E path.data="$ES_DATA_DIR" \
      -E path.logs="$LOG_DIR" \
      -E xpack.security.enabled=false \
      -E cluster.routing.allocation.disk.threshold_enabled=false \
      >"$RUN_DIR/console.log" 2>&1 \
    || { tail -n 30 "$LOG_DIR/elasticsearch.log" >&2 2>/dev/null || true; die "Elasticsearch failed to start (logs: $LOG_DIR)"; }
  for _ in $(seq 1 120); do
    if curl -fsS -m 2 "$URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
      log "ready at $URL"
      echo "$URL"; return
    fi
    sleep 1
  done
  tail -n 30 "$LOG_DIR/elasticsearch.log" >&2 2>/dev/null || true
  stop || true
  die "Elasticsearch did not answer within 120s (logs: $LOG_DIR)"
}

stop() {
  [[ -f "$PID_FILE" ]] || { log "not running (no $PID_FILE)"; return 0; }
  local pid; pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { log "still running after 30s, killing"; kill -9 "$pid" || true; }
    log "stopped (pid $pid)"
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if answers; then echo "$URL"; else log "not answering at $URL"; exit 1; fi ;;
  fetch) fetch ;;
  *) echo "usage: $0 start|stop|status|fetch" >&2; exit 2 ;;
esac
