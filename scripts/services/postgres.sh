#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 server on loopback for integration tests and benches.
#   postgres.sh start [PORT]   # default 54329; data in /tmp/sluice-pg-PORT
#   postgres.sh stop  [PORT]
#   postgres.sh env   [PORT]   # prints the DSNs
# The server has wal_level=logical (for CDC), TLS with a self-signed certificate, and a role
# `sluice` (password `sluice`, superuser) that owns the database `sluice`. It runs as an
# unprivileged user: PostgreSQL refuses to run as root.
set -euo pipefail

cmd=${1:-start}
PORT=${2:-${SLUICE_PG_PORT:-54329}}
DIR=/tmp/sluice-pg-$PORT
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$BIN/initdb" ] || { echo "postgres.sh: PostgreSQL server binaries not found (apt install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

dsn() { echo "postgresql://sluice:sluice@127.0.0.1:$PORT/sluice"; }

case "$cmd" in
  start)
    if [ -f "$DIR/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
      dsn; exit 0
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$DIR"
    as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; exit 1; }
    as_pg openssl req -new -x509 -days 365 -nodes -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$DIR/data/server.key" -out "$DIR/data/server.crt" >/dev/null 2>&1
    chmod 600 "$DIR/data/server.key"
    cp "$DIR/data/server.crt" "$DIR/ca.crt"; chmod 644 "$DIR/ca.crt"
    cat >>"$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 100
ssl = on
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_wal_size = 4GB
CONF
    cat >"$DIR/data/pg_hba.conf" <<HBA
local all postgres trust
local all all scram-sha-256
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
HBA
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null \
      || { cat "$DIR/server.log" >&2; exit 1; }
    as_pg "$BIN/psql" -q -h "$DIR" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE ROLE sluice LOGIN SUPERUSER REPLICATION PASSWORD 'sluice';
CREATE DATABASE sluice OWNER sluice;
SQL
    dsn
    ;;
  stop)
    if [ -d "$DIR/data" ]; then as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$DIR"
    ;;
  running)
    [ -f "$DIR/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
    ;;
  env)
    echo "SLUICE_PG_DSN=$(dsn)"
    echo "SLUICE_PG_CA=$DIR/ca.crt"
    ;;
  *) echo "usage: postgres.sh start|stop|running|env [PORT]" >&2; exit 2 ;;
esac
