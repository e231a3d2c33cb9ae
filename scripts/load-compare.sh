#!/usr/bin/env bash
# Issue 3: pixel receiver vs bare net/http vs the core otlp receiver, in one run.
# Loopback only. Measures, each for [duration] after a 3 s warm-up, with
# [connections] closed-loop keep-alive workers (test/load/pixelload):
#   (a) pixel GET /p.gif through the built collector: pixel -> memory_limiter -> nop
#       (test/load/nop.yaml, unchanged);
#   (b) the same GETs against test/load/baregif, a bare net/http server answering the
#       same 43-byte GIF with the same headers, run as its own process;
#   (c) POST /v1/logs to the core otlp receiver (OTLP/HTTP JSON, one page-view log
#       record) through otlp -> memory_limiter -> nop (test/load/compare.yaml, merged
#       on top of nop.yaml, same collector process);
#   (d) the pixel again, open loop at 50% of (a)'s rate, latency from the scheduled
#       send time (no coordinated omission): p50/p90/p99/max.
# Then prints a table and PASS/FAIL for a >= 0.5 b, a >= 1.2 c, p99 <= 5 ms.
# These are measurements, not tests: the script exits 0 whatever they say.
# The load generator shares the machine's cores with the server: compare the
# ratios, not the absolute numbers.
#
#   scripts/load-compare.sh [connections] [duration]        e.g. scripts/load-compare.sh 16 15s
#
# Environment:
#   WEBJOURNEY_COLLECTOR_BIN   collector binary (default _build/otelcol-webjourney; copy it
#                              elsewhere first if someone may rebuild _build meanwhile)
#   WEBJOURNEY_LOAD_PORT       first of five loopback ports (default 18090): pixel, bare,
#                              otlp, collector metrics, pprof
#   WEBJOURNEY_LOAD_WARMUP     warm-up per phase (default 3s)
#   WEBJOURNEY_LOAD_PROFILE    a directory: also take a 10 s CPU profile of the collector
#                              during an extra closed-loop pixel run, written there as
#                              pixel.cpu.pprof with a `go tool pprof -top` summary
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${WEBJOURNEY_COLLECTOR_BIN:-$ROOT/_build/otelcol-webjourney}"
[[ -x "$BIN" ]] || { echo "load-compare.sh: $BIN missing: run make build first" >&2; exit 1; }
conns="${1:-16}"; duration="${2:-15s}"
warmup="${WEBJOURNEY_LOAD_WARMUP:-3s}"
profile_dir="${WEBJOURNEY_LOAD_PROFILE:-}"
port="${WEBJOURNEY_LOAD_PORT:-18090}"
pixel="127.0.0.1:$port"; bare="127.0.0.1:$((port + 1))"; otlp="127.0.0.1:$((port + 2))"
metrics_port=$((port + 3)); pprof="127.0.0.1:$((port + 4))"

work="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building test/load/pixelload and test/load/baregif ..." >&2
(cd "$ROOT" && go build -o "$work/pixelload" ./test/load/pixelload && go build -o "$work/baregif" ./test/load/baregif)

# How busy the machine already is: other processes skew every number.
busy() { # percent of all CPUs busy over 2 s, from /proc/stat
	local a b
	read -r -a a < <(grep '^cpu ' /proc/stat); sleep 2; read -r -a b < <(grep '^cpu ' /proc/stat)
	awk -v u="$(( (b[1]+b[2]+b[3]+b[6]+b[7]) - (a[1]+a[2]+a[3]+a[6]+a[7]) ))" \
		-v i="$(( (b[4]+b[5]) - (a[4]+a[5]) ))" 'BEGIN { printf "%.0f", 100*u/(u+i) }'
}
idle_busy="$(busy)"
if (( idle_busy > 15 )); then
	echo "load-compare.sh: warning: the machine is already ${idle_busy}% busy; the numbers will be skewed" >&2
fi

config=(--config "$ROOT/test/load/nop.yaml" --config "$ROOT/test/load/compare.yaml")
[[ -n "$profile_dir" ]] && config+=(--config "$ROOT/test/load/pprof.yaml")
WEBJOURNEY_LISTEN="$pixel" WEBJOURNEY_OTLP_LISTEN="$otlp" WEBJOURNEY_METRICS_PORT="$metrics_port" \
	WEBJOURNEY_PPROF_LISTEN="$pprof" "$BIN" "${config[@]}" >"$work/collector.log" 2>&1 &
col=$!; pids+=("$col")
"$work/baregif" -listen "$bare" >"$work/baregif.log" 2>&1 &
barepid=$!; pids+=("$barepid")

ready() { # url [curl args]: wait until anything answers
	local u="$1"; shift
	for _ in $(seq 1 100); do
		[[ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$u" || true)" != 000 ]] && return 0
		sleep 0.2
	done
	echo "load-compare.sh: $u did not come up" >&2; cat "$work/collector.log" >&2; exit 1
}
ready "http://$pixel/p.gif"
ready "http://$bare/p.gif"
ready "http://$otlp/v1/logs" -X POST -H 'Content-Type: application/json' -d '{}'
ready "http://127.0.0.1:$metrics_port/metrics"

load() { # phase name, then pixelload flags; prints and keeps the result line
	local name="$1"; shift
	echo "[$name] $*" >&2
	"$work/pixelload" -c "$conns" -d "$duration" -warmup "$warmup" "$@" >"$work/$name.out" 2>&1 || true
	cat "$work/$name.out" >&2
}
field() { # phase key -> value (or "-")
	local v
	v="$(tr ' ' '\n' <"$work/$1.out" | sed -n "s/^$2=//p" | head -1)"
	echo "${v:--}"
}
metrics="http://127.0.0.1:$metrics_port/metrics"

load a -kind pixel -url "http://$pixel/p.gif" -pid "$col" -metrics "$metrics" -receiver pixel
load b -kind pixel -url "http://$bare/p.gif" -pid "$barepid"
load c -kind otlp -url "http://$otlp/v1/logs" -pid "$col" -metrics "$metrics" -receiver otlp
half="$(awk -v r="$(field a rps)" 'BEGIN { printf "%.0f", (r == "-" ? 0 : r / 2) }')"
if (( half > 0 )); then
	load d -kind pixel -url "http://$pixel/p.gif" -rate "$half" -pid "$col" -metrics "$metrics" -receiver pixel
else
	echo "ok=0 errors=- rps=0" >"$work/d.out"
fi

if [[ -n "$profile_dir" ]]; then
	mkdir -p "$profile_dir"
	echo "[profile] closed-loop pixel load with a 10 s CPU profile of the collector" >&2
	"$work/pixelload" -c "$conns" -d 14s -warmup 1s -url "http://$pixel/p.gif" >"$work/p.out" 2>&1 &
	lp=$!; pids+=("$lp")
	sleep 2
	curl -s -o "$profile_dir/pixel.cpu.pprof" "http://$pprof/debug/pprof/profile?seconds=10"
	wait "$lp" || true
	cat "$work/p.out" >&2
	(cd "$ROOT" && go tool pprof -top -nodecount=40 "$BIN" "$profile_dir/pixel.cpu.pprof" \
		>"$profile_dir/pixel.top.txt" 2>/dev/null) || true
	(cd "$ROOT" && go tool pprof -top -cum -nodecount=60 "$BIN" "$profile_dir/pixel.cpu.pprof" >"$profile_dir/pixel.topcum.txt" 2>/dev/null) || true
	echo "profile: $profile_dir/pixel.cpu.pprof (top: pixel.top.txt, pixel.topcum.txt)" >&2
fi

a="$(field a rps)"; b="$(field b rps)"; c="$(field c rps)"; p99="$(field d p99_ms)"
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (x == "-" || y == "-" || y == 0) print "-"; else printf "%.2f", x / y }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
	if (v == "-") { print "FAIL (no value)"; exit }
	ok = (op == ">=") ? v + 0 >= t + 0 : v + 0 <= t + 0; print (ok ? "PASS" : "FAIL") }'; }

echo
echo "load-compare: connections=$conns duration=$duration warmup=$warmup cores=$(nproc) GOMAXPROCS=default" \
	"machine busy before start=${idle_busy}% collector=$BIN"
printf '%-44s %8s %7s %9s %15s %13s %12s\n' "phase" "req/s" "errors" "accepted" "server CPU/req" "client CPU s" "other CPU s"
row() { printf '%-44s %8s %7s %9s %15s %13s %12s\n' "$1" "$(field "$2" rps)" "$(field "$2" errors)" "$(field "$2" accepted)" \
	"$(field "$2" server_cpu_us_per_req) us" "$(field "$2" client_cpu_s)" "$(field "$2" other_cpu_s)"; }
row "(a) pixel receiver -> memory_limiter -> nop" a
row "(b) bare net/http GIF server" b
row "(c) otlp receiver (HTTP/JSON) -> ml -> nop" c
row "(d) pixel, open loop at $half req/s" d
echo "(d) latency from scheduled send: p50=$(field d p50_ms) ms p90=$(field d p90_ms) ms p99=$(field d p99_ms) ms max=$(field d max_ms) ms (generator max send lag $(field d max_send_lag_ms) ms)"
echo "(other CPU s: CPU time used by other processes on the machine during the phase; should be near 0)"
for ph in a b c d; do
	o="$(field "$ph" other_cpu_pct)"
	if [[ "$o" != - ]] && (( o > 5 )); then
		echo "WARNING: other processes used ${o}% of the machine during ($ph): its numbers are skewed; re-run on a quiet machine"
	fi
done
echo "a/b = $(ratio "$a" "$b")   a/c = $(ratio "$a" "$c")"
echo "target a >= 0.5 x b : $(verdict "$(ratio "$a" "$b")" '>=' 0.5)"
echo "target a >= 1.2 x c : $(verdict "$(ratio "$a" "$c")" '>=' 1.2)"
echo "target p99 <= 5 ms at half load : $(verdict "$p99" '<=' 5)"
exit 0
