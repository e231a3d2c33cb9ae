#!/usr/bin/env bash
# Issue 21: whole-pipeline CPU per event, measured fairly on two cores, in one
# run. The collector (and the bare server) run on one core, the load
# generator on the other (taskset), so that server CPU per request is not
# the generator's. Loopback only. Phases, each for [duration] after a
# warm-up, closed loop with [connections] keep-alive workers
# (test/load/pixelload):
#   bare      GETs against test/load/baregif, a bare net/http GIF server
#   pixel     pixel receiver -> memory_limiter -> nop          (test/load/nop.yaml)
#   otlp      otlp receiver, one record per request -> ml -> nop (test/load/compare.yaml)
#   default   pixel hits through the default pipeline's processors
#             (memory_limiter, consent, anonymizer, attribution) -> nop (test/load/pipeline.yaml)
#   beacon    beacons of 10 events through the same pipeline -> nop, per event
#   open      the default pipeline again, open loop at 50 % of its closed-loop peak with
#             few workers, latency from each request's scheduled send time; the generator's
#             own send lag is reported next to it
#   es        config/default.yaml into a real Elasticsearch of its own, pixel hits open loop
#             at WEBJOURNEY_BENCH_ES_RATE per second (default 1000): collector CPU and
#             Elasticsearch CPU per stored document, events and entity documents (visits,
#             visitors, credits) counted, until every document is searchable
# It refuses to report when the machine is busy before it starts (other
# processes skew every number) unless WEBJOURNEY_BENCH_FORCE=1, and then says
# so in the table. With --write it replaces the table between the
# bench-pipeline markers in docs/benchmarks.md.
#
#   scripts/bench-pipeline.sh [--write] [connections] [duration]    e.g. scripts/bench-pipeline.sh --write 16 10s
#
# Environment:
#   WEBJOURNEY_COLLECTOR_BIN  collector binary (default _build/otelcol-webjourney, built with
#                             `make build` when missing; copied first)
#   WEBJOURNEY_LOAD_PORT      first of seven loopback ports (default 18090)
#   WEBJOURNEY_BENCH_ROUNDS   rounds of the closed-loop phases (default 3; medians reported)
#   WEBJOURNEY_BENCH_ES       0 skips the Elasticsearch phase
#   WEBJOURNEY_BENCH_PROFILE  a directory: also take a 10 s CPU profile of the default pipeline
#                             under load (pipeline.cpu.pprof and `go tool pprof -top` summaries)
#   WEBJOURNEY_BENCH_FORCE    1 measures on a busy machine (the table says it is skewed)
#   ES_HEAP                   heap of the benchmark's Elasticsearch (default 1g)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

write=0
if [[ "${1:-}" == --write ]]; then write=1; shift; fi
conns="${1:-16}"; duration="${2:-10s}"
warmup="${WEBJOURNEY_LOAD_WARMUP:-3s}"
port="${WEBJOURNEY_LOAD_PORT:-18090}"
pixel="127.0.0.1:$port"; bare="127.0.0.1:$((port + 1))"; otlp="127.0.0.1:$((port + 2))"
metrics_port=$((port + 3)); pprof="127.0.0.1:$((port + 4))"; pipeline="127.0.0.1:$((port + 5))"
es_listen="127.0.0.1:$((port + 6))"
es_rate="${WEBJOURNEY_BENCH_ES_RATE:-1000}"
rounds="${WEBJOURNEY_BENCH_ROUNDS:-3}"
server_core=0 gen_core=1

die() { echo "bench-pipeline.sh: $*" >&2; exit 1; }
(( $(nproc) >= 2 )) || die "needs two cores (server and generator on their own), this machine has $(nproc)"
command -v taskset >/dev/null || die "taskset missing (util-linux)"

BIN="${WEBJOURNEY_COLLECTOR_BIN:-$ROOT/_build/otelcol-webjourney}"
if [[ ! -x "$BIN" ]]; then
	echo "bench-pipeline.sh: $BIN missing, running make build" >&2
	make build >&2
fi

work="$(mktemp -d)"
chmod 755 "$work" # Elasticsearch may run as another user (see scripts/elasticsearch.sh)
pids=() es_port=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n "$es_port" ]]; then
		ES_PORT="$es_port" ES_DATA_DIR="$work/es-data" scripts/elasticsearch.sh stop >/dev/null 2>&1 || true
		rm -rf "${WEBJOURNEY_CACHE:-$ROOT/.cache}/elasticsearch-run-$es_port"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
idle_busy="$(busy)"
skewed=""
if ((idle_busy > 10)); then
	[[ "${WEBJOURNEY_BENCH_FORCE:-}" == 1 ]] ||
		die "the machine is already ${idle_busy}% busy before the run: the numbers would measure the other processes. Stop them (or set WEBJOURNEY_BENCH_FORCE=1 to measure anyway, marked as skewed)."
	skewed=" (machine ${idle_busy}% busy before the run: SKEWED)"
fi

# Every port must be free: a leftover server would answer the load instead.
for p in "$port" $((port + 1)) $((port + 2)) $((port + 3)) $((port + 4)) $((port + 5)) $((port + 6)) $((port + 7)); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "port $p is in use (ss -ltnp | grep :$p); stop what listens there or set WEBJOURNEY_LOAD_PORT"
	fi
done

cp "$BIN" "$work/otelcol"
echo "bench-pipeline.sh: building the load generator and the bare server ..." >&2
go build -o "$work/pixelload" ./test/load/pixelload
go build -o "$work/baregif" ./test/load/baregif
head -c 32 /dev/urandom | base64 >"$work/anonymizer.secret"

ready() { # url [curl args]: wait until anything answers
	local u="$1"; shift
	for _ in $(seq 1 150); do
		[[ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$u" || true)" != 000 ]] && return 0
		sleep 0.2
	done
	cat "$work"/*.log >&2 || true
	die "$u did not come up"
}

WEBJOURNEY_LISTEN="$pixel" WEBJOURNEY_OTLP_LISTEN="$otlp" WEBJOURNEY_METRICS_PORT="$metrics_port" \
	WEBJOURNEY_PPROF_LISTEN="$pprof" WEBJOURNEY_PIPELINE_LISTEN="$pipeline" \
	WEBJOURNEY_ANONYMIZER_SECRET_FILE="$work/anonymizer.secret" \
	taskset -c "$server_core" "$work/otelcol" --config test/load/nop.yaml --config test/load/compare.yaml \
	--config test/load/pipeline.yaml --config test/load/pprof.yaml >"$work/collector.log" 2>&1 &
col=$!; pids+=("$col")
taskset -c "$server_core" "$work/baregif" -listen "$bare" >"$work/baregif.log" 2>&1 &
barepid=$!; pids+=("$barepid")
ready "http://$pixel/p.gif"
ready "http://$pipeline/p.gif"
ready "http://$bare/p.gif"
ready "http://$otlp/v1/logs" -X POST -H 'Content-Type: application/json' -d '{}'
metrics="http://127.0.0.1:$metrics_port/metrics"
ready "$metrics"

load() { # phase, then pixelload flags; keeps the result line in $work/<phase>.out
	local name="$1"; shift
	echo "[$name] $*" >&2
	taskset -c "$gen_core" "$work/pixelload" -d "$duration" -warmup "$warmup" "$@" >"$work/$name.out" 2>&1 || true
	cat "$work/$name.out" >&2
}
values() { # phase key -> the value of every round, one a line
	local f
	for f in "$work/$1".*.out; do
		[[ -f "$f" ]] && tr ' ' '\n' <"$f" | sed -n "s/^$2=//p" | head -1
	done
}
med() { # phase key -> median over the rounds (or "-")
	values "$1" "$2" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
spread() { # phase key -> "min–max" over the rounds
	values "$1" "$2" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR > 1) printf "%s–%s", lo, hi }'
}
field() { # phase key -> value (or "-")
	local v=""
	[[ -f "$work/$1.out" ]] && v="$(tr ' ' '\n' <"$work/$1.out" | sed -n "s/^$2=//p" | head -1)"
	echo "${v:--}"
}

# The closed-loop phases run in rounds, alternating, and the table shows
# each one's median and range: one 10 s phase can be off by a third on a
# VM (two runs of one commit differed that much).
for r in $(seq 1 "$rounds"); do
	load "bare.$r" -c "$conns" -kind pixel -url "http://$bare/p.gif" -pid "$barepid"
	load "pixel.$r" -c "$conns" -kind pixel -url "http://$pixel/p.gif" -pid "$col" -metrics "$metrics" -receiver pixel
	load "otlp.$r" -c "$conns" -kind otlp -url "http://$otlp/v1/logs" -pid "$col" -metrics "$metrics" -receiver otlp
	load "default.$r" -c "$conns" -kind pixel -url "http://$pipeline/p.gif" -pid "$col" -metrics "$metrics" -receiver pixel/pipeline
	load "beacon.$r" -c "$conns" -kind beacon -events 10 -url "http://$pipeline/b" -pid "$col" -metrics "$metrics" -receiver pixel/pipeline
done
# Open loop with 4 workers: few enough that the generator's own lag stays
# small on its core, enough that a slow answer does not stall the schedule.
half="$(awk -v r="$(med default rps)" 'BEGIN { printf "%.0f", (r == "-" ? 0 : r / 2) }')"
if ((half > 0)); then
	load open -c 4 -kind pixel -rate "$half" -url "http://$pipeline/p.gif" -pid "$col" -metrics "$metrics" -receiver pixel/pipeline
fi

if [[ -n "${WEBJOURNEY_BENCH_PROFILE:-}" ]]; then
	dir="$WEBJOURNEY_BENCH_PROFILE"; mkdir -p "$dir"
	echo "[profile] default pipeline under closed-loop load, 10 s CPU profile" >&2
	taskset -c "$gen_core" "$work/pixelload" -c "$conns" -d 14s -warmup 1s -url "http://$pipeline/p.gif" >"$work/profile.out" 2>&1 &
	lp=$!; pids+=("$lp")
	sleep 2
	curl -s -o "$dir/pipeline.cpu.pprof" "http://$pprof/debug/pprof/profile?seconds=10"
	wait "$lp" || true
	go tool pprof -top -nodecount=50 "$work/otelcol" "$dir/pipeline.cpu.pprof" >"$dir/pipeline.top.txt" 2>/dev/null || true
	go tool pprof -top -cum -nodecount=80 "$work/otelcol" "$dir/pipeline.cpu.pprof" >"$dir/pipeline.topcum.txt" 2>/dev/null || true
	echo "profile: $dir/pipeline.cpu.pprof (pipeline.top.txt, pipeline.topcum.txt)" >&2
fi
kill "$col" "$barepid" 2>/dev/null || true
wait "$col" "$barepid" 2>/dev/null || true

# ticks PID prints the process's CPU time so far in clock ticks (utime+stime).
hz="$(getconf CLK_TCK)"

es_docs="-" es_col_us="-" es_es_us="-" es_rps="-" es_drain="-"
if [[ "${WEBJOURNEY_BENCH_ES:-1}" != 0 ]]; then
	for p in $(shuf -i 19200-19799 -n 50); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then es_port="$p"; break; fi
	done
	[[ -n "$es_port" ]] || die "no free port for Elasticsearch"
	mkdir -p "$work/es-data"
	es_url="$(ES_PORT="$es_port" ES_DATA_DIR="$work/es-data" ES_HEAP="${ES_HEAP:-1g}" scripts/elasticsearch.sh start)"
	es_pid="$(cat "${WEBJOURNEY_CACHE:-$ROOT/.cache}/elasticsearch-run-$es_port/elasticsearch.pid")"
	# Elasticsearch is not pinned: on the generator's core it starved the
	# generator, which then sent one request per wake-up of the collector
	# and tripled the collector's CPU per request (syscalls). CPU time is
	# still counted per process.
	prefix="benchpipe$$"
	cat >"$work/es-override.yaml" <<-YAML
		receivers:
		  pixel:
		    rate_limit:
		      requests_per_second: 0
		    sites:
		      - id: example
		        allowed_origins: ["https://shop.example"]
	YAML
	ELASTICSEARCH_URL="$es_url" WEBJOURNEY_INDEX_PREFIX="$prefix" WEBJOURNEY_LISTEN="$es_listen" \
		WEBJOURNEY_HEALTH="127.0.0.1:$((port + 7))" WEBJOURNEY_ANONYMIZER_SECRET_FILE="$work/anonymizer.secret" \
		taskset -c "$server_core" "$work/otelcol" --config config/default.yaml --config "$work/es-override.yaml" >"$work/collector-es.log" 2>&1 &
	escol=$!; pids+=("$escol")
	ready "http://$es_listen/p.gif"
	sleep 3 # the exporter installs its templates
	c0="$(ticks "$escol")" e0="$(ticks "$es_pid")" t0="$(date +%s.%N)"
	# Open loop at a fixed rate: CPU per request depends on the load (how
	# many requests one wake-up serves), so runs compare at the same rate.
	load es -c 8 -kind pixel -rate "$es_rate" -url "http://$es_listen/p.gif" -pid "$escol"
	# Until every document is searchable: the count is stable for 3 s.
	count() {
		curl -s -X POST "$es_url/$prefix-*/_refresh" >/dev/null
		curl -s "$es_url/$prefix-*/_count" | sed -n 's/.*"count":\([0-9]*\).*/\1/p'
	}
	last=-1 same=0
	for _ in $(seq 1 120); do
		n="$(count)"
		if [[ "$n" == "$last" ]]; then same=$((same + 1)); else same=0; fi
		last="$n"
		((same >= 3)) && break
		sleep 1
	done
	t1="$(date +%s.%N)"
	c1="$(ticks "$escol")" e1="$(ticks "$es_pid")"
	es_docs="$last"
	es_rps="$(field es rps)"
	if [[ "$es_docs" =~ ^[0-9]+$ ]] && ((es_docs > 0)); then
		es_col_us="$(awk -v t="$((c1 - c0))" -v hz="$hz" -v n="$es_docs" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
		es_es_us="$(awk -v t="$((e1 - e0))" -v hz="$hz" -v n="$es_docs" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
	fi
	es_drain="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')"
fi

ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x == "-" || y == "-" || y == 0) print "-"; else printf "%.2f", x / y }'; }
minus() { awk -v x="$1" -v y="$2" 'BEGIN { if (x == "-" || y == "-") print "-"; else printf "%.1f", x - y }'; }
bare_us="$(med bare server_cpu_us_per_req)"; pixel_us="$(med pixel server_cpu_us_per_req)"
default_us="$(med default server_cpu_us_per_req)"
{
	echo "<!-- bench-pipeline:start (written by scripts/bench-pipeline.sh --write) -->"
	echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, commit $(git rev-parse --short HEAD), server on core $server_core," \
		"generator on core $gen_core, $conns connections, $duration per phase after $warmup warm-up${skewed}:"
	echo "\`scripts/bench-pipeline.sh --write $conns $duration\`."
	echo
	echo "Medians of $rounds rounds (range in brackets); other processes: the most any round saw."
	echo
	echo "| phase | req/s | server CPU per request | per event | other processes |"
	echo "|---|---:|---:|---:|---:|"
	cell() { echo "$(med "$1" "$2") µs ($(spread "$1" "$2"))"; }
	other() { values "$1" other_cpu_pct | sort -g | tail -1 | awk '{ print ($1 < 0 ? 0 : $1) }'; }
	row() { echo "| $1 | $(med "$2" rps) | $(cell "$2" server_cpu_us_per_req) | ${3:-$(cell "$2" server_cpu_us_per_req)} | $(other "$2") % |"; }
	row "bare net/http GIF server" bare
	row "pixel → memory_limiter → nop" pixel
	row "otlp (one record) → memory_limiter → nop" otlp
	row "pixel → default processors → nop" default
	row "beacon of 10 events → default processors → nop" beacon "$(cell beacon server_cpu_us_per_event)"
	echo
	echo "- pixel → nop / bare: **$(ratio "$pixel_us" "$bare_us")×** (target ≤ 1.5×)."
	echo "- The three processors in the built collector: **$(minus "$default_us" "$pixel_us") µs** per event" \
		"(default − pixel; target ≤ 10 µs). Beacon events: **$(med beacon server_cpu_us_per_event) µs** each (target ≤ 12 µs)."
	echo "- Open loop at $half req/s (50 % of the default pipeline's peak), 4 workers, latency from the scheduled send:" \
		"p50 $(field open p50_ms) ms, p90 $(field open p90_ms) ms, p99 $(field open p99_ms) ms, max $(field open max_ms) ms;" \
		"the generator's own largest send lag was $(field open max_send_lag_ms) ms."
	if [[ "$es_docs" != "-" ]]; then
		echo "- Into Elasticsearch (config/default.yaml, its own 8.19 node, not pinned), open loop at $es_rate hits/s:" \
			"$es_rps hits/s answered (p99 $(field es p99_ms) ms, generator lag $(field es max_send_lag_ms) ms), $es_docs documents stored" \
			"(events and entities, the warm-up's included), all searchable ${es_drain} s after the load began;" \
			"collector **$es_col_us µs** and Elasticsearch **$es_es_us µs** of CPU per stored document, from the start of the load until all were searchable."
	fi
	echo "<!-- bench-pipeline:end -->"
} >"$work/table.md"
echo
cat "$work/table.md"
if ((write)); then
	doc=docs/benchmarks.md
	grep -q '<!-- bench-pipeline:start' "$doc" || die "$doc has no bench-pipeline markers"
	awk -v table="$work/table.md" '
		/<!-- bench-pipeline:start/ { while ((getline l < table) > 0) print l; skip = 1; next }
		/<!-- bench-pipeline:end -->/ { skip = 0; next }
		!skip { print }' "$doc" >"$work/benchmarks.md"
	cp "$work/benchmarks.md" "$doc"
	echo "bench-pipeline.sh: table written to $doc" >&2
fi
