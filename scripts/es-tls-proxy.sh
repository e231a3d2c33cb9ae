#!/usr/bin/env bash
# A TLS and credentials front for a test Elasticsearch, which itself has no
# security module: Debian's nginx as a TLS-terminating reverse proxy that
# checks credentials the way Elasticsearch's security does (401/403 with
# Elasticsearch-shaped error bodies), with certificates from a test CA made
# here with openssl.
#
#   scripts/es-tls-proxy.sh start http://127.0.0.1:9200[,http://127.0.0.1:9201...]
#       prints the path of a JSON file with the endpoints, CA files and
#       credentials the tests need (see docs/elasticsearch-versions.md)
#   scripts/es-tls-proxy.sh stop     # stops nginx and deletes keys, certs and logs
#   scripts/es-tls-proxy.sh status   # prints the JSON path if nginx answers
#
# Endpoints, on consecutive loopback ports from TLS_PROXY_PORT (each server
# presents its certificate followed by its CA, as Elasticsearch does):
#   credentials  +0  server cert from the test CA; needs basic auth, an API key or a bearer token
#   mtls         +1  needs a client certificate from the test CA (and nothing else)
#   expired      +2  like credentials, but the server certificate has expired
#   wrong_ca     +3  like credentials, but the server certificate is from another CA
#   server_name  +4  like credentials, but the certificate names only es.webjourney.test
#
# Credentials (random for each start): a basic-auth user (htpasswd), an API key
# (Authorization: ApiKey base64(id:key)) and a bearer token are let through;
# a "limited" API key gets 403 on everything but GET /_cluster/health; a
# "revoked" API key gets 401 as an invalidated key does.
#
# Environment (the same for stop):
#   TLS_PROXY_PORT   first port, default 9243
#   TLS_PROXY_DIR    working directory, default .cache/es-tls-proxy-$TLS_PROXY_PORT
#   WEBJOURNEY_CACHE cache directory, default <repo>/.cache
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${WEBJOURNEY_CACHE:-$ROOT/.cache}"
PORT="${TLS_PROXY_PORT:-9243}"
DIR="${TLS_PROXY_DIR:-$CACHE/es-tls-proxy-$PORT}"
JSON="$DIR/proxy.json"
SERVER_NAME="es.webjourney.test"
# nginx's workers drop root; they read the htpasswd file and write temp files.
WORKER_USER="nobody"

log() { echo "es-tls-proxy.sh: $*" >&2; }
die() { log "$*"; exit 1; }

find_nginx() {
  command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } \
    || die "nginx not found: run scripts/install-deps.sh (apt-get install -y nginx)"
}

# sign NAME CA SUBJECT EXTENSIONS START END: a P-256 key and a certificate
# signed by CA (ca or other-ca) valid from START to END (openssl ca dates).
# `openssl ca` rather than `x509 -req` because only it takes a start date,
# which the expired certificate needs (OpenSSL 3.0 on Debian 12).
sign() {
  local name="$1" ca="$2" subject="$3" ext="$4" start="$5" end="$6"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
    -keyout "$DIR/$name.key" -out "$DIR/pki/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$DIR/pki/$name.ext"
  openssl ca -batch -notext -config "$DIR/pki/$ca.cnf" -in "$DIR/pki/$name.csr" -out "$DIR/$name.crt" \
    -startdate "$start" -enddate "$end" -extfile "$DIR/pki/$name.ext" 2>/dev/null \
    || die "openssl could not sign $name"
  chmod 600 "$DIR/$name.key"
}

make_ca() {
  local ca="$1" cn="$2"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=$cn" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$DIR/$ca.key" -out "$DIR/$ca.crt" 2>/dev/null
  chmod 600 "$DIR/$ca.key"
  mkdir -p "$DIR/pki/$ca"
  : >"$DIR/pki/$ca/index.txt"
  openssl rand -hex 8 >"$DIR/pki/$ca/serial"
  cat >"$DIR/pki/$ca.cnf" <<EOF
[ca]
default_ca = this
[this]
dir = $DIR/pki/$ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $DIR/$ca.crt
private_key = $DIR/$ca.key
default_md = sha256
policy = anything
unique_subject = no
[anything]
commonName = supplied
EOF
}

make_pki() {
  local now_minus_hour in_30_days month_ago yesterday
  now_minus_hour="$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)"
  in_30_days="$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)"
  month_ago="$(date -u -d '-30 days' +%Y%m%d%H%M%SZ)"
  yesterday="$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)"
  local server_ext client_ext
  server_ext=$'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1'
  client_ext=$'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
  make_ca ca "webjourney test CA"
  make_ca other-ca "webjourney other test CA"
  sign server ca "/CN=localhost" "$server_ext" "$now_minus_hour" "$in_30_days"
  sign expired ca "/CN=localhost" "$server_ext" "$month_ago" "$yesterday"
  sign wrong-ca other-ca "/CN=localhost" "$server_ext" "$now_minus_hour" "$in_30_days"
  sign named ca "/CN=$SERVER_NAME" \
    $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:'"$SERVER_NAME" \
    "$now_minus_hour" "$in_30_days"
  sign client ca "/CN=webjourney-exporter" "$client_ext" "$now_minus_hour" "$in_30_days"
  # The servers present their CA after their certificate, as Elasticsearch's
  # auto-configured HTTP certificate does (what a CA fingerprint pins).
  local name
  for name in server expired named; do cat "$DIR/$name.crt" "$DIR/ca.crt" >"$DIR/$name-chain.crt"; done
  cat "$DIR/wrong-ca.crt" "$DIR/other-ca.crt" >"$DIR/wrong-ca-chain.crt"
  sign untrusted-client other-ca "/CN=webjourney-exporter" "$client_ext" "$now_minus_hour" "$in_30_days"
}

rand() { openssl rand -hex "$1"; }

# Writes nginx.conf. Every endpoint but mtls shares one auth block: the
# Authorization header is sorted by a map; API keys and bearer tokens are
# compared exactly there, basic auth is checked by auth_basic against htpasswd.
write_nginx_conf() {
  local upstreams="$1" api_key="$2" limited_key="$3" revoked_key="$4" token="$5"
  local url servers=""
  IFS=, read -ra urls <<<"$upstreams"
  for url in "${urls[@]}"; do
    [[ "$url" =~ ^http://([^/]+)/?$ ]] || die "upstream must be http://host:port, got '$url'"
    servers+="    server ${BASH_REMATCH[1]} max_fails=0;"$'\n'
  done
  local user_directive=""
  [[ "$(id -u)" == 0 ]] && user_directive="user $WORKER_USER nogroup;"
  cat >"$DIR/nginx.conf" <<EOF
# Written by scripts/es-tls-proxy.sh; deleted by its stop.
$user_directive
worker_processes 1;
daemon on;
pid $DIR/nginx.pid;
error_log $DIR/error.log warn;
events { worker_connections 512; }

http {
  access_log $DIR/access.log;
  client_body_temp_path $DIR/tmp/body;
  proxy_temp_path $DIR/tmp/proxy;
  fastcgi_temp_path $DIR/tmp/fastcgi;
  uwsgi_temp_path $DIR/tmp/uwsgi;
  scgi_temp_path $DIR/tmp/scgi;
  # Elasticsearch's own limit (http.max_content_length).
  client_max_body_size 100m;
  default_type application/json;
  # The map keys are whole Authorization headers.
  map_hash_bucket_size 256;
  server_tokens off;

  upstream elasticsearch {
$servers    keepalive 16;
  }

  # Who the Authorization header claims to be.
  map \$http_authorization \$wj_principal {
    default                       "unknown";
    ""                            "none";
    "~^Basic "                    "basic";
    "ApiKey $api_key"             "api_key";
    "ApiKey $limited_key"         "limited";
    "ApiKey $revoked_key"         "revoked";
    "Bearer $token"               "bearer";
  }
  # auth_basic only for basic credentials; the others were decided above.
  map \$wj_principal \$wj_basic_realm {
    default "off";
    "basic" "security";
  }
  # The limited key may only ask for the cluster health (monitor privilege).
  map "\$wj_principal \$request_method \$uri" \$wj_forbidden {
    default                               0;
    "~^limited (GET|HEAD) /_cluster/health" 0;
    "~^limited "                          1;
  }

  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache off;

  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host \$host;
  # Elasticsearch behind the proxy has no security: it never sees credentials.
  proxy_set_header Authorization "";
  proxy_request_buffering off;
  proxy_buffering off;
  proxy_read_timeout 300s;

EOF
  local name port cert
  for name in credentials expired wrong_ca server_name; do
    case "$name" in
      credentials) port=$PORT; cert=server ;;
      expired) port=$((PORT + 2)); cert=expired ;;
      wrong_ca) port=$((PORT + 3)); cert=wrong-ca ;;
      server_name) port=$((PORT + 4)); cert=named ;;
    esac
    cat >>"$DIR/nginx.conf" <<EOF
  server {   # $name
    listen 127.0.0.1:$port ssl;
    ssl_certificate $DIR/$cert-chain.crt;
    ssl_certificate_key $DIR/$cert.key;
    set \$wj_reason "unable to authenticate user [\$remote_user] for REST request [\$uri]";
    error_page 401 = @unauthorized;
    if (\$wj_principal = "none") {
      set \$wj_reason "missing authentication credentials for REST request [\$uri]";
      return 401;
    }
    if (\$wj_principal = "unknown") {
      set \$wj_reason "unable to authenticate with provided credentials and anonymous access is not allowed for this request";
      return 401;
    }
    if (\$wj_principal = "revoked") {
      set \$wj_reason "unable to authenticate with provided credentials: api key has been invalidated";
      return 401;
    }
    if (\$wj_forbidden) {
      return 403 '{"error":{"root_cause":[{"type":"security_exception","reason":"action [\$request_method \$uri] is unauthorized for API key id [limited] of user [webjourney-limited]"}],"type":"security_exception","reason":"action [\$request_method \$uri] is unauthorized for API key id [limited] of user [webjourney-limited]"},"status":403}';
    }
    location / {
      auth_basic \$wj_basic_realm;
      auth_basic_user_file $DIR/htpasswd;
      proxy_pass http://elasticsearch;
    }
    location @unauthorized {
      add_header WWW-Authenticate 'Basic realm="security", charset="UTF-8"' always;
      add_header WWW-Authenticate 'Bearer realm="security"' always;
      add_header WWW-Authenticate 'ApiKey' always;
      return 401 '{"error":{"root_cause":[{"type":"security_exception","reason":"\$wj_reason"}],"type":"security_exception","reason":"\$wj_reason"},"status":401}';
    }
  }
EOF
  done
  cat >>"$DIR/nginx.conf" <<EOF
  server {   # mtls: the client certificate is the credential (a PKI realm)
    listen 127.0.0.1:$((PORT + 1)) ssl;
    ssl_certificate $DIR/server-chain.crt;
    ssl_certificate_key $DIR/server.key;
    ssl_client_certificate $DIR/ca.crt;
    # optional_no_ca: nginx verifies but lets us answer with an Elasticsearch-shaped 401.
    ssl_verify_client optional_no_ca;
    if (\$ssl_client_verify != "SUCCESS") {
      return 401 '{"error":{"root_cause":[{"type":"security_exception","reason":"client certificate required and not trusted: \$ssl_client_verify"}],"type":"security_exception","reason":"client certificate required and not trusted: \$ssl_client_verify"},"status":401}';
    }
    location / {
      proxy_pass http://elasticsearch;
    }
  }
}
EOF
}

start() {
  local upstreams="${1:-}"
  [[ -n "$upstreams" ]] || die "usage: $0 start http://127.0.0.1:PORT[,http://...]"
  if [[ -f "$DIR/nginx.pid" ]] && kill -0 "$(cat "$DIR/nginx.pid")" 2>/dev/null; then
    log "already running (pid $(cat "$DIR/nginx.pid"))"
    echo "$JSON"; return
  fi
  local nginx; nginx="$(find_nginx)"
  command -v openssl >/dev/null 2>&1 || die "openssl not found: run scripts/install-deps.sh"
  rm -rf "$DIR"
  mkdir -p "$DIR/pki" "$DIR/tmp"
  make_pki

  local user password limited_id limited_secret revoked_id revoked_secret api_id api_secret token
  user="webjourney"
  password="$(rand 12)"
  api_id="$(rand 10)"; api_secret="$(rand 11)"
  limited_id="$(rand 10)"; limited_secret="$(rand 11)"
  revoked_id="$(rand 10)"; revoked_secret="$(rand 11)"
  token="$(rand 24)"
  local api_key limited_key revoked_key
  api_key="$(printf '%s:%s' "$api_id" "$api_secret" | base64 -w0)"
  limited_key="$(printf '%s:%s' "$limited_id" "$limited_secret" | base64 -w0)"
  revoked_key="$(printf '%s:%s' "$revoked_id" "$revoked_secret" | base64 -w0)"
  printf '%s:%s\n' "$user" "$(openssl passwd -apr1 "$password")" >"$DIR/htpasswd"
  write_nginx_conf "$upstreams" "$api_key" "$limited_key" "$revoked_key" "$token"
  if [[ "$(id -u)" == 0 ]]; then
    chown -R "$WORKER_USER" "$DIR/tmp" "$DIR/htpasswd"
  fi
  chmod 600 "$DIR/htpasswd"

  "$nginx" -t -q -p "$DIR" -c "$DIR/nginx.conf" || die "nginx rejected $DIR/nginx.conf"
  "$nginx" -p "$DIR" -c "$DIR/nginx.conf" || die "nginx did not start (see $DIR/error.log)"

  local ca_sha256
  ca_sha256="$(openssl x509 -in "$DIR/ca.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')"
  cat >"$JSON" <<EOF
{
  "upstream": "$upstreams",
  "endpoints": {
    "credentials": "https://127.0.0.1:$PORT",
    "mtls": "https://127.0.0.1:$((PORT + 1))",
    "expired": "https://127.0.0.1:$((PORT + 2))",
    "wrong_ca": "https://127.0.0.1:$((PORT + 3))",
    "server_name": "https://127.0.0.1:$((PORT + 4))"
  },
  "server_name": "$SERVER_NAME",
  "ca_file": "$DIR/ca.crt",
  "ca_sha256": "$ca_sha256",
  "other_ca_file": "$DIR/other-ca.crt",
  "client_cert_file": "$DIR/client.crt",
  "client_key_file": "$DIR/client.key",
  "untrusted_client_cert_file": "$DIR/untrusted-client.crt",
  "untrusted_client_key_file": "$DIR/untrusted-client.key",
  "basic": {"username": "$user", "password": "$password"},
  "api_key": {"id": "$api_id", "key": "$api_secret", "encoded": "$api_key"},
  "bearer_token": "$token",
  "limited_api_key": {"id": "$limited_id", "key": "$limited_secret", "encoded": "$limited_key"},
  "revoked_api_key": {"id": "$revoked_id", "key": "$revoked_secret", "encoded": "$revoked_key"}
}
EOF
  chmod 600 "$JSON"

  local first="${upstreams%%,*}"
  for _ in $(seq 1 50); do
    if curl -fsS -m 2 --cacert "$DIR/ca.crt" -u "$user:$password" "https://127.0.0.1:$PORT/_cluster/health" >/dev/null 2>&1; then
      log "TLS proxy for $upstreams on https://127.0.0.1:$PORT-$((PORT + 4)) (details: $JSON)"
      echo "$JSON"; return
    fi
    sleep 0.2
  done
  stop || true
  die "the proxy did not answer through to $first (is Elasticsearch running?)"
}

stop() {
  if [[ -f "$DIR/nginx.pid" ]]; then
    local pid; pid="$(cat "$DIR/nginx.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -QUIT "$pid"  # graceful: finishes the requests in flight
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -TERM "$pid"
      log "stopped (pid $pid)"
    fi
  else
    log "not running (no $DIR/nginx.pid)"
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop ;;
  status)
    if [[ -f "$DIR/nginx.pid" ]] && kill -0 "$(cat "$DIR/nginx.pid")" 2>/dev/null; then echo "$JSON"
    else log "not running"; exit 1; fi ;;
  *) echo "usage: $0 start ES_URL[,ES_URL...]|stop|status" >&2; exit 2 ;;
esac
