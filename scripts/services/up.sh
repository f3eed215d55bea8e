#!/usr/bin/env bash
# Starts every server the integration tests use (ctest fixture `services`), or stops them.
#   up.sh        # start PostgreSQL and MariaDB on their default ports
#   up.sh down   # stop the ones that `up.sh` started (a server that was already running, such
#                # as one a developer started by hand, is left alone)
#   up.sh keep   # start them for a working session: a later `up.sh down` (ctest's fixture
#                # cleanup) leaves them running for the other shells that use them
set -euo pipefail
here=$(dirname "$0")
marker=/tmp/sluice-services.started
if [ "${1:-}" = down ]; then
  [ -f "$marker" ] || exit 0
  while read -r svc; do bash "$here/$svc.sh" stop; done <"$marker"
  rm -f "$marker"
  exit 0
fi
for svc in postgres mariadb; do
  if ! bash "$here/$svc.sh" running; then
    bash "$here/$svc.sh" start >/dev/null
    [ "${1:-}" = keep ] || echo "$svc" >>"$marker"
  fi
done
bash "$here/postgres.sh" env
bash "$here/mariadb.sh" env
