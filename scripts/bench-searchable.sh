#!/usr/bin/env bash
# Beacon → searchable in Elasticsearch (issues 20 and 21): how long an event
# takes from its beacon to the first search that finds it, as a dashboard
# sees it, with config/production.yaml (persistent file_storage queue,
# batches of 1000-5000 or 1 s) into an Elasticsearch of its own on this
# machine. Two runs: quiet (probes only) and under a steady load of
# [events/s] beacon events (10 per beacon, test/load/pixelload, open loop)
# for [duration]; test/load/searchlatency sends 5 probe beacons a second
# during each and reports p50/p95/p99/max. The collector runs on core 0, the
# generator and the probes on core 1, Elasticsearch unpinned.
#
#   scripts/bench-searchable.sh [--write] [events/s] [duration]   e.g. scripts/bench-searchable.sh --write 2000 60s
#
# It refuses to run on a busy machine (WEBJOURNEY_BENCH_FORCE=1 measures
# anyway and says so). With --write it replaces the table between the
# bench-searchable markers in docs/benchmarks.md.
#
# Environment:
#   WEBJOURNEY_COLLECTOR_BIN  collector binary (default _build/otelcol-webjourney, `make build` when missing)
#   WEBJOURNEY_LOAD_PORT      first of three loopback ports (default 18190)
#   ES_PORT                   the benchmark's Elasticsearch port (default 9260)
#   ES_HEAP                   its heap (default 1g)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

write=0
if [[ "${1:-}" == --write ]]; then write=1; shift; fi
rate="${1:-2000}"; duration="${2:-60s}"
port="${WEBJOURNEY_LOAD_PORT:-18190}"
listen="127.0.0.1:$port"; health="127.0.0.1:$((port + 1))"; metrics_port=$((port + 2))
es_port="${ES_PORT:-9260}"
server_core=0 gen_core=1

die() { echo "bench-searchable.sh: $*" >&2; exit 1; }
(( $(nproc) >= 2 )) || die "needs two cores, this machine has $(nproc)"
command -v taskset >/dev/null || die "taskset missing (util-linux)"
BIN="${WEBJOURNEY_COLLECTOR_BIN:-$ROOT/_build/otelcol-webjourney}"
[[ -x "$BIN" ]] || make build >&2

work="$(mktemp -d)"
chmod 755 "$work" # Elasticsearch may run as another user (scripts/elasticsearch.sh)
pids=() es_started=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n "$es_started" ]]; then
		ES_PORT="$es_port" ES_DATA_DIR="$work/es-data" scripts/elasticsearch.sh stop >/dev/null 2>&1 || true
		rm -rf "${WEBJOURNEY_CACHE:-$ROOT/.cache}/elasticsearch-run-$es_port"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
idle_busy="$(busy)" skewed=""
if ((idle_busy > 10)); then
	[[ "${WEBJOURNEY_BENCH_FORCE:-}" == 1 ]] ||
		die "the machine is already ${idle_busy}% busy: stop what runs (or WEBJOURNEY_BENCH_FORCE=1 to measure anyway, marked as skewed)"
	skewed=" (machine ${idle_busy}% busy before the run: SKEWED)"
fi
for p in "$port" $((port + 1)) $((port + 2)) "$es_port"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "port $p is in use; stop what listens there or set WEBJOURNEY_LOAD_PORT / ES_PORT"
	fi
done

cp "$BIN" "$work/otelcol"
go build -o "$work/pixelload" ./test/load/pixelload
go build -o "$work/searchlatency" ./test/load/searchlatency

es_url="$(ES_PORT="$es_port" ES_DATA_DIR="$work/es-data" ES_HEAP="${ES_HEAP:-1g}" scripts/elasticsearch.sh start | tail -1)"
es_started=1

# production.yaml's secrets: the anonymizer's, no Elasticsearch credentials
# (the benchmark's node has no security module).
mkdir -p "$work/credentials" "$work/state"
head -c 32 /dev/urandom | base64 | tr -d '\n' >"$work/credentials/anonymizer.secret"
: >"$work/credentials/elasticsearch.password"
: >"$work/credentials/elasticsearch.api_key"
prefix="benchsearch$$"
# The load's and the probes' origin; no per-client rate limit (one client
# sends everything); consent as the probes and the load grant it.
cat >"$work/override.yaml" <<-YAML
	receivers:
	  pixel:
	    rate_limit:
	      requests_per_second: 0
	    sites:
	      - id: example
	        allowed_origins: ["https://shop.example"]
	        consent: {required: false}
	YAML
CREDENTIALS_DIRECTORY="$work/credentials" WEBJOURNEY_STATE_DIR="$work/state" ELASTICSEARCH_URL="$es_url" \
	WEBJOURNEY_INDEX_PREFIX="$prefix" WEBJOURNEY_LISTEN="$listen" WEBJOURNEY_HEALTH="$health" \
	WEBJOURNEY_METRICS_PORT="$metrics_port" \
	taskset -c "$server_core" "$work/otelcol" --config config/production.yaml --config "$work/override.yaml" >"$work/collector.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 150); do
	curl -sf "http://$health/" >/dev/null && break
	sleep 0.2
done
curl -sf "http://$health/" >/dev/null || { cat "$work/collector.log" >&2; die "the collector did not come up"; }
sleep 3 # the exporter installs its templates

probe() { # duration
	taskset -c "$gen_core" "$work/searchlatency" -url "http://$listen/b" -es "$es_url" -index "$prefix-events-*" \
		-rate 5 -d "$1"
}
# Warm-up (not reported): the first probes wait for the events index to
# be created and its shard to start.
probe 5s >/dev/null
echo "bench-searchable.sh: quiet, probes only ..." >&2
quiet="$(probe 20s)"
echo "  $quiet" >&2

echo "bench-searchable.sh: $rate events/s of beacons for $duration, probes alongside ..." >&2
beacons=$((rate / 10))
# CPU time (user + sys, clock ticks) of the collector and of Elasticsearch
# over the load, per event sent.
collector_pid="${pids[0]}"
es_pid="$(cat "${WEBJOURNEY_CACHE:-$ROOT/.cache}/elasticsearch-run-$es_port/elasticsearch.pid")"
c0="$(ticks "$collector_pid")" e0="$(ticks "$es_pid")"
taskset -c "$gen_core" "$work/pixelload" -kind beacon -events 10 -c 8 -rate "$beacons" -warmup 0s -d "$duration" \
	-url "http://$listen/b" >"$work/load.txt" 2>&1 &
load=$!; pids+=("$load")
sleep 5 # into the steady state
secs="${duration%s}"
loaded="$(probe "$((secs > 10 ? secs - 10 : secs))s")"
wait "$load" || true
sleep 2 # the last batches
c1="$(ticks "$collector_pid")" e1="$(ticks "$es_pid")"
hz="$(getconf CLK_TCK)"
events="$((rate * ${duration%s}))"
cpu="$(awk -v c="$((c1 - c0))" -v e="$((e1 - e0))" -v hz="$hz" -v n="$events" \
	'BEGIN { printf "collector %.1f µs and Elasticsearch %.1f µs of CPU per event", 1e6*c/hz/n, 1e6*e/hz/n }')"
loaded="$loaded; $cpu"
echo "  $loaded" >&2
sed 's/^/  load: /' "$work/load.txt" >&2

stamp="$(date -u +%Y-%m-%d)"
table="$(cat <<-EOF
	| Load (beacons of 10 events, $stamp) | Beacon → searchable |
	|---|---|
	| quiet (probes only) | $quiet |
	| $rate events/s for $duration | $loaded |
	EOF
)"
echo
echo "$table$skewed"
if ((write)); then
	python3 - "$table$skewed" <<-'PY'
		import re, sys
		p = "docs/benchmarks.md"
		s = open(p).read()
		start = "<!-- bench-searchable:start (written by scripts/bench-searchable.sh --write) -->"
		block = start + "\n" + sys.argv[1] + "\n<!-- bench-searchable:end -->"
		if start not in s:
		    sys.exit("docs/benchmarks.md has no bench-searchable markers")
		s = re.sub(r"<!-- bench-searchable:start[^>]*-->.*?<!-- bench-searchable:end -->", lambda m: block, s, flags=re.S)
		open(p, "w").write(s)
	PY
fi
