#!/usr/bin/env bash
# Starts or stops a throwaway MariaDB 10.11 server on loopback for integration tests and benches.
#   mariadb.sh start [PORT]   # default 33069; data in /tmp/sluice-mariadb-PORT
#   mariadb.sh stop  [PORT]
#   mariadb.sh env   [PORT]
# Row-based binlog with full images and metadata (for CDC), GTIDs, TLS with a self-signed
# certificate, and a user `sluice` (password `sluice`, all privileges) with the database `sluice`.
set -euo pipefail

cmd=${1:-start}
PORT=${2:-${SLUICE_MYSQL_PORT:-33069}}
DIR=/tmp/sluice-mariadb-$PORT
USER_OPT=()
if [ "$(id -u)" -eq 0 ]; then USER_OPT=(--user=mysql); fi

dsn() { echo "mysql://sluice:sluice@127.0.0.1:$PORT/sluice"; }
client() { mariadb --no-defaults -S "$DIR/mysqld.sock" -u root "$@"; }

case "$cmd" in
  start)
    if [ -S "$DIR/mysqld.sock" ] && client -e 'SELECT 1' >/dev/null 2>&1; then dsn; exit 0; fi
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] \
      || { echo "mariadb.sh: mariadbd not found (apt install mariadb-server)" >&2; exit 1; }
    rm -rf "$DIR"; mkdir -p "$DIR/data"
    [ "$(id -u)" -eq 0 ] && chown -R mysql: "$DIR"
    openssl req -new -x509 -days 365 -nodes -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$DIR/server.key" -out "$DIR/server.crt" >/dev/null 2>&1
    cp "$DIR/server.crt" "$DIR/ca.crt"
    [ "$(id -u)" -eq 0 ] && chown mysql: "$DIR"/server.* "$DIR/ca.crt"
    mariadb-install-db --no-defaults "${USER_OPT[@]}" --datadir="$DIR/data" --auth-root-authentication-method=normal \
      --skip-test-db >"$DIR/install.log" 2>&1 || { cat "$DIR/install.log" >&2; exit 1; }
    /usr/sbin/mariadbd --no-defaults "${USER_OPT[@]}" --datadir="$DIR/data" --socket="$DIR/mysqld.sock" \
      --pid-file="$DIR/mysqld.pid" --port="$PORT" --bind-address=127.0.0.1 \
      --log-bin="$DIR/data/binlog" --server-id=1 --binlog-format=ROW --binlog-row-image=FULL \
      --binlog-row-metadata=FULL --log-slave-updates=ON \
      --ssl-cert="$DIR/server.crt" --ssl-key="$DIR/server.key" \
      --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --innodb-buffer-pool-size=256M \
      --max-connections=200 --local-infile=1 \
      --log-error="$DIR/server.log" >/dev/null 2>&1 &
    for _ in $(seq 1 120); do
      client -e 'SELECT 1' >/dev/null 2>&1 && break
      sleep 0.5
    done
    client -e 'SELECT 1' >/dev/null 2>&1 || { cat "$DIR/server.log" >&2; exit 1; }
    client <<SQL
CREATE DATABASE sluice;
CREATE USER 'sluice'@'%' IDENTIFIED BY 'sluice';
CREATE USER 'sluice'@'localhost' IDENTIFIED BY 'sluice';
GRANT ALL PRIVILEGES ON *.* TO 'sluice'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'sluice'@'localhost' WITH GRANT OPTION;
SQL
    dsn
    ;;
  stop)
    if [ -f "$DIR/mysqld.pid" ]; then
      pid=$(cat "$DIR/mysqld.pid"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -rf "$DIR"
    ;;
  running)
    [ -S "$DIR/mysqld.sock" ] && client -e 'SELECT 1' >/dev/null 2>&1
    ;;
  env)
    echo "SLUICE_MYSQL_DSN=$(dsn)"
    echo "SLUICE_MYSQL_CA=$DIR/ca.crt"
    ;;
  *) echo "usage: mariadb.sh start|stop|running|env [PORT]" >&2; exit 2 ;;
esac
