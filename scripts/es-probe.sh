#!/usr/bin/env bash
# Asks an Elasticsearch what a client meets at start: GET /, the product
# header, the version, and whether REST API compatibility media types
# (compatible-with=8 / =9) are accepted. One line per check; for
# docs/elasticsearch-versions.md, not a test.
#
#   scripts/es-probe.sh http://127.0.0.1:9200
set -euo pipefail
URL="${1:?usage: $0 ES_URL}"
URL="${URL%/}"
index="es-probe-$$"

# check NAME CURL_ARGS...: prints the HTTP status and, for an error, its type.
check() {
  local name="$1"; shift
  local body code
  body="$(curl -sS -m 10 -w '\n%{http_code}' "$@" 2>/dev/null || printf '\n000')"
  code="${body##*$'\n'}"
  body="${body%$'\n'*}"
  printf '%-44s %s %s\n' "$name" "$code" "$(sed -n 's/.*"type":"\([^"]*\)".*/\1/p' <<<"${body:0:400}" | head -1)"
}

header() { curl -sS -m 10 -o /dev/null -D - "$@" | tr -d '\r' | sed -n 's/^[Xx]-[Ee]lastic-[Pp]roduct: //p'; }

version="$(curl -sS -m 10 "$URL/_nodes/_local?filter_path=nodes.*.version" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')"
echo "version (GET /_nodes/_local)               $version"
echo "X-Elastic-Product on GET /_cluster/health   $(header "$URL/_cluster/health")"
check "GET /" "$URL/"
for v in 8 9; do
  mt="application/vnd.elasticsearch+json;compatible-with=$v"
  nd="application/vnd.elasticsearch+x-ndjson;compatible-with=$v"
  check "GET /_cluster/health Accept compat=$v" -H "Accept: $mt" "$URL/_cluster/health"
  check "PUT /$index-$v compat=$v" -X PUT -H "Accept: $mt" -H "Content-Type: $mt" \
    -d '{"settings":{"number_of_replicas":0}}' "$URL/$index-$v"
  bulk="$(printf '{"index":{"_index":"%s"}}\n{"a":1}\n' "$index-$v")"$'\n'
  check "POST /_bulk compat=$v (x-ndjson)" -X POST -H "Accept: $mt" -H "Content-Type: $nd" \
    --data-binary "$bulk" "$URL/_bulk?refresh=true"
  # What go-elasticsearch's compatibility mode sends: the +json type on every body.
  check "POST /_bulk compat=$v (+json, as go-es sends)" -X POST -H "Accept: $mt" -H "Content-Type: $mt" \
    --data-binary "$bulk" "$URL/_bulk?refresh=true"
  check "POST /_search compat=$v" -X POST -H "Accept: $mt" -H "Content-Type: $mt" \
    -d '{"query":{"match_all":{}}}' "$URL/$index-$v/_search"
  curl -sS -m 10 -o /dev/null -X DELETE "$URL/$index-$v" || true
done
