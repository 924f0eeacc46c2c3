#!/usr/bin/env bash
# make run: the assistant on embedded defaults (SQLite under var/, no external service).
#   1. train the Rasa model if its data changed (cached by hash: scripts/train.sh);
#   2. migrate and seed the demo MASH database;
#   3. start the action server (127.0.0.1:5055) and Rasa with the signed channel (127.0.0.1:5005);
#   4. start the outbox dispatcher, Slack if configured, and the schools portal (127.0.0.1:8000);
#   5. print the address and demo accounts; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export TF_CPP_MIN_LOG_LEVEL=3
# Everything this run writes under var/ (logs holding what practitioners typed, the SQLite
# database, the escalation spool, secrets) is for this account only: files 0600, directories
# 0700. No nginx here (unlike scripts/prod.sh, whose nginx workers must traverse var/), so the
# whole run can keep a umask of 077. An existing var/ loses group and other read/write.
umask 077
mkdir -p var
chmod go-rw var

# Without a configured token, this run gets its own random one: nothing else on the machine
# can call the action server (Rasa and the action server share it through the environment).
if [ -z "${ACTION_SERVER_TOKEN:-}" ]; then
  ACTION_SERVER_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(24))')
fi
export ACTION_SERVER_TOKEN
# The portal's SECRET_KEY (it keys the stored hashes of session tokens): random, made once per
# install in var/secret_key (0600) and reused, so sessions survive a restart.
if [ -z "${SECRET_KEY:-}" ]; then
  SECRET_KEY=$(scripts/dev_secret.sh var)
fi
export SECRET_KEY
# Likewise the secret the chat relay signs every message to Rasa with (chat/signing.py): only
# the portal and the Slack app of this run can speak to Rasa, as the users they signed in.
if [ -z "${CHANNEL_SECRET:-}" ]; then
  CHANNEL_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
fi
export CHANNEL_SECRET
# Everything else comes from the one settings object.
eval "$(python - <<'PY'
import shlex
from urllib.parse import urlsplit
from settings import Settings
s = Settings.from_env()
rasa, actions = urlsplit(s.rasa_url), urlsplit(s.action_server_url)
for name, value in {
    "DATABASE_URL": s.database_url,
    "ACTION_SERVER_URL": s.action_server_url,
    "RASA_HOST": rasa.hostname or "127.0.0.1", "RASA_PORT": rasa.port or 5005,
    "ACTIONS_HOST": actions.hostname or "127.0.0.1", "ACTIONS_PORT": actions.port or 5055,
}.items():
    print(f"export {name}={shlex.quote(str(value))}")
PY
)"

echo "==> guidance classifier (cached in models/guidance/ by a hash of its inputs)"
python -m guidance train

echo "==> Rasa model"
model=$(scripts/train.sh)

echo "==> MASH database ($DATABASE_URL)"
python -m mash migrate
python -m mash seed-demo

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "==> stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "==> stopped"
}
trap stop INT TERM EXIT

echo "==> action server on http://$ACTIONS_HOST:$ACTIONS_PORT (token required)"
python -m bot.action_server --host "$ACTIONS_HOST" --port "$ACTIONS_PORT" \
  > var/action_server.log 2>&1 &
pids+=($!)

echo "==> Rasa on http://$RASA_HOST:$RASA_PORT (signed channel; loading the model takes ~30 s)"
# No --enable-api: the portal and the Slack app need only the signed channel, and the HTTP API
# would let anything on this machine read or rewrite conversations. The default log level
# (INFO) keeps message text out of var/rasa.log; --debug would write it there.
rasa run -m "$model" --endpoints bot/endpoints.yml --credentials bot/credentials.yml \
  -i "$RASA_HOST" -p "$RASA_PORT" > var/rasa.log 2>&1 &
pids+=($!)

export RASA_URL="http://$RASA_HOST:$RASA_PORT"
for _ in $(seq 1 180); do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "a server exited; see var/rasa.log and var/action_server.log" >&2; exit 1; }
  done
  if python -m chat.say --quiet --timeout 5 --conversation make-run hi; then
    break
  fi
  sleep 1
done

echo "==> outbox dispatcher (notifications with retries; log: var/dispatch.log)"
python -m mash dispatch > var/dispatch.log 2>&1 &
pids+=($!)

if python -m slack_app --check > var/slack-check.log 2>&1; then
  if [ -n "${SLACK_APP_TOKEN:-}" ]; then
    echo "==> Slack on (Socket Mode; log: var/slack.log)"
    python -m slack_app > var/slack.log 2>&1 &
    pids+=($!)
  else
    echo "==> Slack on: events at http://127.0.0.1:${PORTAL_PORT:-8000}/slack/events"
  fi
else
  echo "==> $(tail -n 1 var/slack-check.log)"
fi

echo "==> schools portal on http://127.0.0.1:${PORTAL_PORT:-8000}/ (log: var/portal.log)"
python -m schools_portal --host 127.0.0.1 --port "${PORTAL_PORT:-8000}" > var/portal.log 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "the portal exited; see var/portal.log" >&2; exit 1; }
  curl -sf -m 2 -o /dev/null "http://127.0.0.1:${PORTAL_PORT:-8000}/signin" && break
  sleep 1
done

cat <<EOT

==> Ready. Open the portal: http://127.0.0.1:${PORTAL_PORT:-8000}/
$(sed -n '/^Demo users/,/^$/p' var/portal.log)
  Staff sign in with a second factor: after the password, type the code from
    .venv/bin/python -m mash totp EMAIL
  (development only), or add the DEVELOPMENT TOTP secret above to an authenticator app.

  Logs: var/rasa.log, var/action_server.log, var/portal.log, var/dispatch.log

  Talk to Rasa directly (every message must be signed with this run's CHANNEL_SECRET; the
  portal and Slack sign theirs with the signed-in user's identity):
    CHANNEL_SECRET=$CHANNEL_SECRET RASA_URL=$RASA_URL \\
      .venv/bin/python -m chat.say --user 5 --role dsl --organisation 2 "who is our MASH contact?"

  Or a terminal chat (a second Rasa on port 5006 using this action server):
    ACTION_SERVER_URL=$ACTION_SERVER_URL ACTION_SERVER_TOKEN=$ACTION_SERVER_TOKEN \\
      .venv/bin/rasa shell -m $model --endpoints bot/endpoints.yml -p 5006

Ctrl-C stops everything.
EOT
wait -n "${pids[@]}" || true
echo "a process stopped; see the logs in var/" >&2
