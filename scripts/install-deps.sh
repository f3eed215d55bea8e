#!/usr/bin/env bash
# Installs the Debian packages sluice needs to build, test and benchmark. Idempotent: when every
# package is present it does nothing. Uses sudo when not root.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libyaml-cpp-dev libcli11-dev libsimdjson-dev libfast-float-dev libfmt-dev nlohmann-json3-dev
  libre2-dev libsqlite3-dev sqlite3 zlib1g-dev libzstd-dev zstd libxxhash-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  gzip coreutils procps python3
  time  # /usr/bin/time: peak memory in bench/run.sh
  libvalijson-dev  # JSON Schema (draft 7) contracts
  libpq-dev postgresql postgresql-contrib  # postgres connector; the server for integration tests
  libmariadb-dev mariadb-server mariadb-client  # mysql connector; the server for integration tests
  chromium  # renders `sluice report` pages in tests
  unixodbc-dev odbc-postgresql libsqliteodbc  # odbc source, tested with the PostgreSQL and SQLite drivers
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
