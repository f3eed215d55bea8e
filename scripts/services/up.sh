#!/usr/bin/env bash
# Starts every server the integration tests use (ctest fixture `services`), or stops them.
#   up.sh        # start PostgreSQL and MariaDB on their default ports
#   up.sh down   # stop them
set -euo pipefail
here=$(dirname "$0")
if [ "${1:-}" = down ]; then
  bash "$here/postgres.sh" stop
  bash "$here/mariadb.sh" stop
  exit 0
fi
bash "$here/postgres.sh" start >/dev/null
bash "$here/mariadb.sh" start >/dev/null
bash "$here/postgres.sh" env
bash "$here/mariadb.sh" env
