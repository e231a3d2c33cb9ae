#!/usr/bin/env bash
# Fetches the third-party test data used by tests into <repo>/.cache/npm (git-ignored):
#   - crawler-user-agents (MIT): source of botdetect/patterns_generated.go
#     (go generate) and of the bot instances the botdetect tests check.
#   - @ip-location-db/geo-whois-asn-country-mmdb (CC0): a small country
#     MMDB that the geoip tests look up known addresses in.
#   - vega (BSD-3-Clause): the Vega runtime Kibana's Vega visualization
#     uses; renders the Kibana Vega spec in tests (test/vegarender).
#   - @plausible-analytics/tracker (MIT): Plausible's own tracker, which a
#     browser test runs against the receiver's Plausible Events API.
#   - matomo-tracker (MIT): the Node.js client of Matomo's HTTP Tracking
#     API, which a test runs against the receiver's matomo.php (single and
#     bulk requests).
#   - @snowplow/browser-tracker, @snowplow/browser-plugin-link-click-tracking
#     and @snowplow/browser-plugin-form-tracking (BSD-3-Clause): Snowplow's
#     own browser tracker and its link click and form plugins, which a
#     browser test runs against the receiver's Snowplow endpoints. 4.6.8:
#     the newest release of which the npm mirror here serves all three.
# Versions are pinned so generated code and test expectations are
# reproducible; bump them deliberately (and re-run go generate).
# Idempotent: does nothing when the pinned versions are already installed.
# Works from any directory.
set -euo pipefail

CRAWLER_USER_AGENTS_VERSION=1.60.0
GEOIP_COUNTRY_MMDB_VERSION=2.3.2026061719
IABTCF_CORE_VERSION=1.5.6
VEGA_VERSION=5.33.1
PLAUSIBLE_TRACKER_VERSION=0.4.6
MATOMO_TRACKER_VERSION=2.2.4
SNOWPLOW_TRACKER_VERSION=4.6.8

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$root/.cache/npm"

pkgs=(
  "crawler-user-agents@$CRAWLER_USER_AGENTS_VERSION"
  "@ip-location-db/geo-whois-asn-country-mmdb@$GEOIP_COUNTRY_MMDB_VERSION"
  "@iabtcf/core@$IABTCF_CORE_VERSION"
  "vega@$VEGA_VERSION"
  "@plausible-analytics/tracker@$PLAUSIBLE_TRACKER_VERSION"
  "matomo-tracker@$MATOMO_TRACKER_VERSION"
  "@snowplow/browser-tracker@$SNOWPLOW_TRACKER_VERSION"
  "@snowplow/browser-plugin-link-click-tracking@$SNOWPLOW_TRACKER_VERSION"
  "@snowplow/browser-plugin-form-tracking@$SNOWPLOW_TRACKER_VERSION"
)

# installed_version NAME prints the version of an installed package, if any.
installed_version() {
  local pj="$prefix/node_modules/$1/package.json"
  [[ -f "$pj" ]] || return 0
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pj" | head -1
}

need=0
for p in "${pkgs[@]}"; do
  name="${p%@*}" want="${p##*@}"
  if [[ "$(installed_version "$name")" != "$want" ]]; then need=1; fi
done
if ((need == 0)); then
  echo "fetch-testdata: up to date in $prefix" >&2
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  cat >&2 <<'MSG'
fetch-testdata: npm is not installed. Install Node.js and npm, e.g.
  sudo apt-get update && sudo apt-get install -y npm
(or from https://nodejs.org/), then run this script again.
MSG
  exit 1
fi

mkdir -p "$prefix"
echo "fetch-testdata: installing ${pkgs[*]} into $prefix" >&2
npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "${pkgs[@]}"
echo "fetch-testdata: done" >&2
