#!/bin/sh
# otelcol-webjourney pre-install (deb: preinst, rpm: %pre): the service's
# system user and group, before any file owned by them is made.
set -e
if ! getent group otelcol-webjourney >/dev/null; then
  groupadd --system otelcol-webjourney
fi
if ! getent passwd otelcol-webjourney >/dev/null; then
  useradd --system --gid otelcol-webjourney --home-dir /var/lib/otelcol-webjourney \
    --no-create-home --shell /usr/sbin/nologin --comment "otelcol-webjourney service" otelcol-webjourney
fi
exit 0
