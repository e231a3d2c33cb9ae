#!/usr/bin/env bash
# Pixel hits/s through the built collector into a pipeline that ends in the
# nop exporter (test/load/nop.yaml). Loopback only.
#   scripts/load-pixel.sh [connections] [duration]     e.g. scripts/load-pixel.sh 16 20s
# WEBJOURNEY_COLLECTOR_BIN overrides the binary. For pixel vs bare net/http vs the
# otlp receiver, and latency at half load, see scripts/load-compare.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${WEBJOURNEY_COLLECTOR_BIN:-$ROOT/_build/otelcol-webjourney}"
[[ -x "$BIN" ]] || { echo "load-pixel.sh: run make build first" >&2; exit 1; }
conns="${1:-16}"; duration="${2:-20s}"
listen="127.0.0.1:${WEBJOURNEY_LOAD_PORT:-18090}"
WEBJOURNEY_LISTEN="$listen" "$BIN" --config "$ROOT/test/load/nop.yaml" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs -o /dev/null "http://$listen/p.gif" && break; sleep 0.2; done
(cd "$ROOT" && go run ./test/load/pixelload -url "http://$listen/p.gif" -c "$conns" -d "$duration")
