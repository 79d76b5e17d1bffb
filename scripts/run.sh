#!/usr/bin/env bash
# `make run`: migrate, load the demo data, serve HTTP and WebSocket with daphne running the task worker
# inside its process (backend/core/embedded.py: without Redis, sockets and cache live in that process).
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBUG="${DEBUG:-1}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
PY=.venv/bin/python

# DEBUG pages list every URL and setting: on a network address they need a deliberate yes.
case "$HOST" in
  127.*|localhost|::1|"[::1]") ;;
  *)
    if { [ "$DEBUG" = "1" ] || [ "$DEBUG" = "true" ]; } && [ "${DEBUG_ON_NETWORK:-0}" != "1" ]; then
      echo "run.sh: refusing to serve DEBUG pages on $HOST; use HOST=127.0.0.1, or DEBUG_ON_NETWORK=1 for a trusted network (a phone on your LAN)" >&2
      exit 2
    fi
    ;;
esac
mkdir -p var

$PY manage.py migrate --noinput
$PY manage.py seed_demo
if [ "$DEBUG" != "1" ] && [ "$DEBUG" != "true" ]; then
  $PY manage.py collectstatic --noinput >/dev/null
fi

BASE="http://${HOST}:${PORT}"

# WeChat is the fake one (devtools/fake_wechat.py, docs/wechat.md) unless WECHAT_API_BASE names another:
# logins, phone numbers, subscribe messages and content checks then work offline, verdicts pushed back here.
FAKE_WECHAT_PID=""
if [ -z "${WECHAT_API_BASE:-}" ]; then
  FAKE_WECHAT_PORT="${FAKE_WECHAT_PORT:-9800}"
  $PY -m devtools.fake_wechat --host 127.0.0.1 --port "$FAKE_WECHAT_PORT" --push-url "${BASE}/api/v1/wechat/push/" &
  FAKE_WECHAT_PID=$!
  export WECHAT_API_BASE="http://127.0.0.1:${FAKE_WECHAT_PORT}"
fi

# The scheduler, so timed jobs (reminders, overdue appeals) also fire locally; it only enqueues them.
# The task worker runs inside the server's process (backend/core/embedded.py): with the in-memory
# channel layer, events sent from background work reach the sockets only from there.
$PY manage.py run_scheduler &
SCHEDULER_PID=$!
trap 'kill "$SCHEDULER_PID" $FAKE_WECHAT_PID 2>/dev/null || true' EXIT INT TERM
cat <<MSG

  API docs      ${BASE}/api/docs/
  Schema        ${BASE}/api/schema/
  Console       ${BASE}/admin/
  Health        ${BASE}/healthz
  WeChat API    ${WECHAT_API_BASE}
  WebSocket     ws://${HOST}:${PORT}/ws/notices/
  Demo accounts printed above by seed_demo (only when DEBUG is on); see README "Demo data".

MSG

# Client messages on the socket are small JSON: larger frames are refused by daphne itself with 1009
# (as in compose.yaml; backend/wsserver.py is daphne sending its close codes instead of dropping).
$PY -m backend.core.embedded -b "$HOST" -p "$PORT" --websocket-max-message-size=16384 backend.asgi:application
