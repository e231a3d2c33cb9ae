#!/usr/bin/env bash
# Installs what a fresh machine lacks for `make run` / `make test`:
# a JDK 17 and Maven (to fetch and run Elasticsearch 8.19 and to build the
# launcher of an assembled 9.x node), unzip and curl, nginx and openssl (the
# TLS and credentials front of scripts/es-tls-proxy.sh), Chromium (the browser
# end-to-end tests drive the real tag in it) and npm (test data: the crawler
# list and the CC0 geo database, see scripts/fetch-testdata.sh).
# Elasticsearch 9.x also needs a full JDK 21+, which Debian 12 does not
# package: this machine kind has Temurin 25 (docs/elasticsearch-versions.md).
# Uses apt-get when something is missing (needs root or sudo); does nothing
# when everything is present. Go must already be installed (go.mod says which).
set -euo pipefail

missing=()
command -v java  >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn   >/dev/null 2>&1 || missing+=(maven)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
command -v curl  >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# /usr/sbin is not on every user's PATH.
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v npm   >/dev/null 2>&1 || missing+=(npm)

if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: Go is not installed; install Go >= 1.25 from https://go.dev/dl/" >&2
  exit 1
fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [[ -n "$java_major" && "$java_major" -lt 17 ]]; then
  echo "install-deps: Elasticsearch 8.19 needs Java 17 or newer, found $java_major" >&2
  exit 1
fi
echo "install-deps: ok (go $(go env GOVERSION), java $java_major, $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g'))" >&2
