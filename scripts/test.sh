#!/usr/bin/env bash
# Everything CI runs (`make test` calls this after `make build`):
#   go vet, every unit and integration test, and the end-to-end test of the
#   built distribution, all against a real Elasticsearch.
# Starts a throw-away Elasticsearch on port ${WEBJOURNEY_TEST_ES_PORT:-9250}
# unless ELASTICSEARCH_URL points at one, and always stops what it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -z "${ELASTICSEARCH_URL:-}" ]]; then
  export ES_PORT="${WEBJOURNEY_TEST_ES_PORT:-9250}"
  ES_DATA_DIR="$(mktemp -d /tmp/webjourney-test-es.XXXXXX)"
  export ES_DATA_DIR
  cleanup() { scripts/elasticsearch.sh stop || true; rm -rf "$ES_DATA_DIR"; }
  trap cleanup EXIT
  ELASTICSEARCH_URL="$(scripts/elasticsearch.sh start)"
fi
export ELASTICSEARCH_URL
# Integration tests fail (instead of skipping) when Elasticsearch, the
# browser, the test data or the release artefacts (make dist-host) are missing.
export WEBJOURNEY_REQUIRE_ES=1
export WEBJOURNEY_REQUIRE_BROWSER=1
export WEBJOURNEY_REQUIRE_TESTDATA=1
export WEBJOURNEY_REQUIRE_DIST=1
scripts/fetch-testdata.sh
export WEBJOURNEY_COLLECTOR_BIN="$ROOT/_build/otelcol-webjourney"
[[ -x "$WEBJOURNEY_COLLECTOR_BIN" ]] || { echo "test.sh: $WEBJOURNEY_COLLECTOR_BIN missing; run make build" >&2; exit 1; }

echo "== go vet ./..."
go vet ./...
echo "== go test ./... (Elasticsearch: $ELASTICSEARCH_URL)"
go test -count=1 ./...
echo "== all tests passed"
