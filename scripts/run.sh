#!/usr/bin/env bash
# `make run`: starts Elasticsearch (unless ELASTICSEARCH_URL is set), then the
# collector with config/default.yaml, and tells you where to point a page.
# Ctrl-C stops the collector and the Elasticsearch this script started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/_build/otelcol-webjourney"
CONFIG="${WEBJOURNEY_CONFIG:-$ROOT/config/default.yaml}"
[[ -x "$BIN" ]] || { echo "run.sh: $BIN missing; run make build" >&2; exit 1; }

stops="the collector"
if [[ -z "${ELASTICSEARCH_URL:-}" ]]; then
  stops="the collector and the Elasticsearch started for it"
  trap '"$ROOT/scripts/elasticsearch.sh" stop' EXIT
  ELASTICSEARCH_URL="$("$ROOT/scripts/elasticsearch.sh" start)"
else
  echo "run.sh: using Elasticsearch at $ELASTICSEARCH_URL" >&2
fi
export ELASTICSEARCH_URL

# The anonymizer's master secret: kept in a git-ignored file made once with
# 32 random bytes, unless WEBJOURNEY_ANONYMIZER_SECRET_FILE names another.
if [[ -z "${WEBJOURNEY_ANONYMIZER_SECRET_FILE:-}" ]]; then
  WEBJOURNEY_ANONYMIZER_SECRET_FILE="$ROOT/.cache/anonymizer.secret"
  if [[ ! -s "$WEBJOURNEY_ANONYMIZER_SECRET_FILE" ]]; then
    mkdir -p "$ROOT/.cache"
    (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$WEBJOURNEY_ANONYMIZER_SECRET_FILE")
    echo "run.sh: made a new anonymizer secret in $WEBJOURNEY_ANONYMIZER_SECRET_FILE (keep it: pseudonyms depend on it)" >&2
  fi
fi
export WEBJOURNEY_ANONYMIZER_SECRET_FILE

listen="${WEBJOURNEY_LISTEN:-localhost:8090}"
site="${WEBJOURNEY_SITE:-example}"
prefix="${WEBJOURNEY_INDEX_PREFIX:-webjourney}"
base="http://$listen"
ua="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
cat >&2 <<MSG

  otelcol-webjourney is starting with $CONFIG

  Put the tag on a page (site id "$site"; the site requires consent by
  default, so until the page calls webjourney('consent', {analytics: 'granted'})
  the tag measures without cookies or identifiers):
    <script>window.webjourney=window.webjourney||function(){(webjourney.q=webjourney.q||[]).push(arguments)}</script>
    <script async src="$base/wj.js" data-site="$site"></script>
  The log line "Starting pixel receiver" shows tag_integrity, the SRI hash
  for <script integrity="..." crossorigin="anonymous">.

  Or a pixel, for pages without JavaScript and e-mails:
    <img src="$base/p.gif?s=$site&url=https%3A%2F%2Fshop.example%2F&t=Home" width="1" height="1" alt="">
    <noscript><img src="$base/p.gif?s=$site" alt=""></noscript>   (page URL taken from the Referer header)

  Or, where only an iframe is allowed:
    <iframe src="$base/p.html?s=$site&t=Home" width="1" height="1" style="display:none" title=""></iframe>

  Send a hit from a shell (curl's own user agent is on the crawler list, and
  bots are dropped by default, so these send a browser's):
    curl -s -A "$ua" -o /dev/null -w '%{http_code} %{content_type} %{size_download} bytes\n' \\
      '$base/p.gif?s=$site&url=https%3A%2F%2Fshop.example%2Fpricing&t=Pricing&vid=v1&sid=s1'

  Send a beacon batch:
    curl -s -A "$ua" -H 'Content-Type: application/json' '$base/b' \\
      -d '{"site":"$site","visitor_id":"v1","session_id":"s1","events":[{"type":"page_view","url":"https://shop.example/"},{"type":"custom","name":"signup","url":"https://shop.example/join","props":{"plan":"pro"}}]}'

  See the events in Elasticsearch (they arrive within about a second):
    curl -s '$ELASTICSEARCH_URL/$prefix-events-*/_search?pretty&size=5&sort=@timestamp:desc'

  Ctrl-C stops $stops.

MSG
# Not exec: the EXIT trap must run after the collector stops.
"$BIN" --config "$CONFIG"
