#!/bin/sh
# otelcol-webjourney post-install (deb: postinst, rpm: %post). Makes the state
# directory and the secrets the service reads as systemd credentials, each
# only when missing: an upgrade or reinstall never replaces a secret (the
# anonymizer's pseudonyms depend on it). Then starts the service on a fresh
# install and restarts it on an upgrade.
# Arguments: deb "configure [old-version]"; rpm "1" (install) or "2" (upgrade).
set -e
user=otelcol-webjourney
state=/var/lib/otelcol-webjourney
secrets=/etc/otelcol-webjourney/secrets

case "$1" in
  configure | 1 | 2) ;;
  *) exit 0 ;;
esac
fresh=false
if [ "$1" = 1 ] || { [ "$1" = configure ] && [ -z "${2:-}" ]; }; then fresh=true; fi

install -d -m 0750 -o "$user" -g "$user" "$state"
install -d -m 0700 -o "$user" -g "$user" "$secrets"
umask 077
if [ ! -s "$secrets/anonymizer.secret" ]; then
  # 32 random bytes as 64 hex digits, without a newline (what `webjourneyctl keygen` makes).
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$secrets/anonymizer.secret.new"
  chown "$user:$user" "$secrets/anonymizer.secret.new"
  chmod 0600 "$secrets/anonymizer.secret.new"
  mv "$secrets/anonymizer.secret.new" "$secrets/anonymizer.secret"
fi
# Empty until an operator fills one in: no Elasticsearch credentials.
for f in elasticsearch.password elasticsearch.api_key; do
  if [ ! -e "$secrets/$f" ]; then
    : >"$secrets/$f"
    chown "$user:$user" "$secrets/$f"
    chmod 0600 "$secrets/$f"
  fi
done

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$fresh" = true ]; then
    systemctl enable otelcol-webjourney.service
    systemctl start otelcol-webjourney.service || true
  else
    systemctl try-restart otelcol-webjourney.service || true
  fi
fi
exit 0
