#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1 for the test suite: start them when they are
# installed but stopped, install them with apt-get when missing and we are root.
set -euo pipefail

PGHOST=127.0.0.1
PGPORT=${PGPORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

say() { printf 'services: %s\n' "$*"; }
is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
  if ! is_root; then
    say "$* is not installed and this is not root: install it, then run again." >&2
    exit 1
  fi
  say "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() {  # wait_for <what> <command...>
  local what=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  say "$what did not come up within 30 s" >&2
  exit 1
}

postgres_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT"; }

trust_loopback() {  # a cluster we just installed: let user postgres in from 127.0.0.1 without a password
  local hba
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -n 1)
  say "trusting loopback connections in $hba (a freshly installed, test-only cluster)"
  sed -i -E 's#^(host\s+all\s+all\s+(127\.0\.0\.1/32|::1/128)\s+)\S+#\1trust#' "$hba"
}

ensure_postgres() {
  if postgres_up; then
    :
  elif ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql
    trust_loopback
    installed_postgres=1
  fi
  local version
  version=$(pg_lsclusters --no-header 2>/dev/null | awk '$2 == "main" {print $1}' | sort -V | tail -n 1)
  if ! postgres_up; then
    if [ -z "$version" ]; then
      say "no PostgreSQL cluster named main exists" >&2
      exit 1
    fi
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
  wait_for PostgreSQL postgres_up
  if [ -n "${installed_postgres:-}" ]; then pg_ctlcluster --skip-systemctl-redirect "$version" main reload; fi
  if ! psql -h "$PGHOST" -p "$PGPORT" -U postgres -Atqc 'select 1' >/dev/null 2>&1; then
    say "PostgreSQL on $PGHOST:$PGPORT does not accept user postgres without a password (trust auth expected)" >&2
    exit 1
  fi
}

redis_up() { redis-cli -h "$PGHOST" -p "$REDIS_PORT" ping | grep -q PONG; }

ensure_redis() {
  if ! redis_up && ! command -v redis-server >/dev/null 2>&1; then apt_install redis-server; fi
  if ! redis_up; then
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
  fi
  wait_for Redis redis_up
}

ensure_postgres
ensure_redis
say "PostgreSQL and Redis are up on 127.0.0.1"
