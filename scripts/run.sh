#!/usr/bin/env bash
# `make run`: migrate, load the demo data, start one task worker, serve HTTP and WebSocket with daphne.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG="${DEBUG:-1}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
PY=.venv/bin/python
mkdir -p var

$PY manage.py migrate --noinput
$PY manage.py seed_demo
if [ "$DEBUG" != "1" ] && [ "$DEBUG" != "true" ]; then
  $PY manage.py collectstatic --noinput >/dev/null
fi

# One task worker, and the scheduler so timed jobs (reminders, overdue appeals) also fire locally.
$PY manage.py db_worker --no-reload &
WORKER_PID=$!
$PY manage.py run_scheduler &
SCHEDULER_PID=$!
trap 'kill "$WORKER_PID" "$SCHEDULER_PID" 2>/dev/null || true' EXIT INT TERM

BASE="http://${HOST}:${PORT}"
cat <<MSG

  API docs      ${BASE}/api/docs/
  Schema        ${BASE}/api/schema/
  Console       ${BASE}/admin/
  Health        ${BASE}/healthz
  WebSocket     ws://${HOST}:${PORT}/ws/notices/
  Demo accounts printed above by seed_demo (only when DEBUG is on); see README "Demo data".

MSG

# Client messages on the socket are small JSON: larger frames are refused by daphne itself with 1009
# (as in compose.yaml; backend/wsserver.py is daphne sending its close codes instead of dropping).
.venv/bin/python -m backend.wsserver -b "$HOST" -p "$PORT" --websocket-max-message-size=16384 backend.asgi:application
