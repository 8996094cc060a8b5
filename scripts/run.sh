#!/usr/bin/env bash
# `make run`: migrate, load the demo organization, then run web + Celery worker + beat until Ctrl-C.
# With no DATABASE_URL / REDIS_URL / CELERY_BROKER_URL this is the embedded default: SQLite and a
# filesystem broker under var/, email written to var/mail/.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
# Loopback by default: the demo runs with DEBUG on and a published password. HOST=0.0.0.0 to share it.
HOST=${HOST:-127.0.0.1}
export DEBUG=${DEBUG:-true}
mkdir -p var

"$PY" manage.py migrate --noinput
"$PY" manage.py seed_demo

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping web, worker and beat..."
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

"$PY" -m celery -A spinezone worker --loglevel INFO --concurrency 2 --hostname "worker@%h" &
pids+=($!)
"$PY" -m celery -A spinezone beat --loglevel INFO &
pids+=($!)
"$PY" manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)

sleep 2
cat <<MSG

SpineZone is running: http://$HOST:$PORT/admin/
(the demo logins are listed above; mail goes to ${EMAIL_URL:-var/mail/})
Press Ctrl-C to stop web, worker and beat.
MSG
# Exit (and stop the others) as soon as any of the three stops.
wait -n "${pids[@]}"
