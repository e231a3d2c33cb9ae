#!/bin/sh
# otelcol-webjourney pre-remove (deb: prerm, rpm: %preun): stop and disable the
# service when the package goes away, not on an upgrade.
# Arguments: deb "remove" / "upgrade" / ...; rpm "0" (erase) or "1" (upgrade).
set -e
case "$1" in
  remove | 0)
    if [ -d /run/systemd/system ]; then
      systemctl stop otelcol-webjourney.service || true
      systemctl disable otelcol-webjourney.service || true
    fi
    ;;
esac
exit 0
