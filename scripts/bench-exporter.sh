#!/usr/bin/env bash
# Exporter throughput: the same N documents into the same local Elasticsearch
# through the built collector (otlp receiver -> elasticsearch_journey) and
# through a plain go-elasticsearch bulk indexer, alternately (A, B, A, B), in
# one run (test/load/esload). Prints a table and the collector/plain ratio with
# PASS/FAIL against 0.9; exits non-zero only on errors.
#
#   scripts/bench-exporter.sh [esload flags]     e.g. scripts/bench-exporter.sh -n 200000 -rounds 2
#
# It starts its own Elasticsearch (scripts/elasticsearch.sh) on a free
# loopback port with its own data directory, so it never touches another
# server, and stops it at the end. `go run ./test/load/esload -h` lists the
# flags (batch size, senders, consumers, compression, -pprof DIR, ...).
#
# Environment:
#   WEBJOURNEY_COLLECTOR_BIN  collector binary (default: _build/otelcol-webjourney, built with
#                             `make build` when missing); it is copied first, so a rebuild
#                             meanwhile cannot change it
#   ES_HEAP                   Elasticsearch heap (default 1g)
#   ESLOAD_PROFILE            a directory: keep a 10 s CPU profile of the collector from round 1
#                             there (collector.cpu.pprof) with `go tool pprof -top` summaries
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${WEBJOURNEY_COLLECTOR_BIN:-$ROOT/_build/otelcol-webjourney}"
if [[ ! -x "$BIN" ]]; then
	echo "bench-exporter.sh: $BIN missing, running make build" >&2
	make build >&2
fi

work="$(mktemp -d)"
chmod 755 "$work" # Elasticsearch may run as another user (see scripts/elasticsearch.sh)
es_port=""
loader=""
cleanup() {
	if [[ -n "$loader" ]]; then kill "$loader" 2>/dev/null || true; wait "$loader" 2>/dev/null || true; fi
	if [[ -n "$es_port" ]]; then ES_PORT="$es_port" ES_DATA_DIR="$work/es-data" scripts/elasticsearch.sh stop >/dev/null 2>&1 || true; fi
	rm -rf "$work" "${WEBJOURNEY_CACHE:-$ROOT/.cache}/elasticsearch-run-$es_port"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$BIN" "$work/otelcol"
echo "bench-exporter.sh: building test/load/esload ..." >&2
go build -o "$work/esload" ./test/load/esload

# A free loopback port for Elasticsearch (its transport port is chosen by itself).
for p in $(shuf -i 19200-19799 -n 50); do
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then es_port="$p"; break; fi
done
[[ -n "$es_port" ]] || { echo "bench-exporter.sh: no free port found" >&2; exit 1; }
mkdir -p "$work/es-data"
es_url="$(ES_PORT="$es_port" ES_DATA_DIR="$work/es-data" ES_HEAP="${ES_HEAP:-1g}" scripts/elasticsearch.sh start)"
es_pid="$(cat "${WEBJOURNEY_CACHE:-$ROOT/.cache}/elasticsearch-run-$es_port/elasticsearch.pid")"

profile=()
[[ -n "${ESLOAD_PROFILE:-}" ]] && profile=(-pprof "$ESLOAD_PROFILE")
echo "bench-exporter.sh: machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$work/esload" -es "$es_url" -es-pid "$es_pid" -collector "$work/otelcol" -config test/load/esload.yaml \
	-work "$work" "${profile[@]}" "$@" &
loader=$!
status=0
wait "$loader" || status=$?
loader=""
echo "bench-exporter.sh: load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

if [[ -n "${ESLOAD_PROFILE:-}" && -s "$ESLOAD_PROFILE/collector.cpu.pprof" ]]; then
	go tool pprof -top -nodecount=40 "$work/otelcol" "$ESLOAD_PROFILE/collector.cpu.pprof" >"$ESLOAD_PROFILE/collector.top.txt" 2>/dev/null || true
	go tool pprof -top -cum -nodecount=60 "$work/otelcol" "$ESLOAD_PROFILE/collector.cpu.pprof" >"$ESLOAD_PROFILE/collector.topcum.txt" 2>/dev/null || true
	echo "bench-exporter.sh: profile in $ESLOAD_PROFILE (collector.top.txt, collector.topcum.txt)" >&2
fi
exit "$status"
