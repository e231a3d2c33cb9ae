#!/bin/sh
# otelcol-webjourney post-remove (deb: postrm, rpm: %postun). A removal keeps
# the state (persistent queue, attribution state, cookieless salts) and the
# secrets, so a reinstall carries on where it stopped; a purge (deb) deletes
# them. The system user stays, as Debian does for system users: files it owns
# may remain elsewhere. rpm has no purge: delete /var/lib/otelcol-webjourney and
# /etc/otelcol-webjourney/secrets by hand (docs/deploy.md).
# Arguments: deb "remove" / "purge" / "upgrade" / ...; rpm "0" (erase) or "1" (upgrade).
set -e
if [ "$1" = purge ]; then
  rm -rf /var/lib/otelcol-webjourney /etc/otelcol-webjourney/secrets
  rmdir /etc/otelcol-webjourney 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
