#!/usr/bin/env bash
# Installs what a fresh machine lacks for `make run` / `make test` (both call
# it first, so the README's two commands set a machine up themselves):
#   run   a JDK 17 and Maven (to fetch and run Elasticsearch 8.19 and to build
#         the launcher of an assembled 9.x node), unzip and curl
#   test  the same, plus nginx and openssl (the TLS and credentials front of
#         scripts/es-tls-proxy.sh; nginx also fronts the site of the first-party
#         proxy test), NSS's certutil (that test's Chromium trusts its test CA
#         through an NSS database), Chromium (the browser end-to-end tests drive the real
#         tag in it), npm (test data: the crawler list, the CC0 geo database,
#         vega; see scripts/fetch-testdata.sh), lintian, rpm and systemd
#         (test/deploy checks the .deb with lintian, reads the .rpm and runs
#         `systemd-analyze verify` on the unit)
# Usage: scripts/install-deps.sh [run|test]   (default: test)
# Does nothing when everything is present. Otherwise installs the missing
# Debian packages with apt-get as root, or through sudo when sudo works without
# a password; if neither, it stops at once and prints the one command to run.
# Elasticsearch 9.x also needs a full JDK 21+, which Debian 12 does not
# package: this machine kind has Temurin 25 (docs/elasticsearch-versions.md).
# Go must already be installed (go.mod says which version).
set -euo pipefail

profile="${1:-test}"
case "$profile" in
  run | test) ;;
  *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac

if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: Go is not installed; install Go >= 1.26 from https://go.dev/dl/ and run make again" >&2
  exit 1
fi

# need COMMAND PACKAGE: PACKAGE is missing when COMMAND is not on PATH.
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need java openjdk-17-jdk-headless
need javac openjdk-17-jdk-headless
need mvn maven
need unzip unzip
need curl curl
if [[ "$profile" == test ]]; then
  need openssl openssl
  # /usr/sbin is not on every user's PATH.
  [[ -x /usr/sbin/nginx ]] || need nginx nginx
  need chromium chromium
  need certutil libnss3-tools
  need chromedriver chromium-driver
  need npm npm
  need lintian lintian
  need rpm rpm
  need systemd-analyze systemd
fi

if ((${#missing[@]})); then
  if [[ "$(id -u)" == 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
  else
    # A password prompt in the middle of `make` would hang CI and surprise
    # a person: say exactly what to run instead.
    echo "install-deps: missing ${missing[*]}; install them once with:" >&2
    echo "  sudo $(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/install-deps.sh $profile" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [[ -n "$java_major" && "$java_major" -lt 17 ]]; then
  echo "install-deps: Elasticsearch 8.19 needs Java 17 or newer, found $java_major" >&2
  exit 1
fi
echo "install-deps: ok (go $(go env GOVERSION), java $java_major)" >&2
