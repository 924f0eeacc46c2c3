#!/usr/bin/env bash
# make prod: the production profile on this machine, in the foreground (Ctrl-C stops it all).
#   PostgreSQL (application + Rasa tracker store), Redis lock store, RASA_REPLICAS Rasa servers
#   and ACTION_REPLICAS action servers behind nginx, the portal and the outbox dispatcher.
#
# Configuration comes only from the environment: deploy/production.env (never committed) is
# loaded if present. Without one, a local file is generated from deploy/production.env.example
# with fresh random secrets and this machine's PostgreSQL (user postgres on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export TF_CPP_MIN_LOG_LEVEL=3

env_file="${PROD_ENV_FILE:-deploy/production.env}"
if [ ! -f "$env_file" ]; then
  echo "==> $env_file not found: writing a local one (random secrets, local PostgreSQL)"
  # The secrets file alone is private: a umask left at 077 for the rest of the start-up closed
  # var/ to nginx's unprivileged workers.
  (umask 077; python - "$env_file") <<'PY'
import re, secrets, sys
text = open("deploy/production.env.example", encoding="utf-8").read()
for name in ("SECRET_KEY", "ACTION_SERVER_TOKEN", "CHANNEL_SECRET"):
    text = re.sub(rf"^{name}=.*$", f"{name}={secrets.token_urlsafe(32)}", text, flags=re.M)
# The local superuser owns the schema and migrates; the services run as guidance_app, which
# `python -m ops prepare` creates and grants (no DDL, audit rows insert-only: mash/roles.py).
text = re.sub(r"^DATABASE_OWNER_URL=.*$", "DATABASE_OWNER_URL=postgresql://postgres@127.0.0.1:5432/guidance_prod", text, flags=re.M)
text = re.sub(r"^DATABASE_URL=.*$", f"DATABASE_URL=postgresql://guidance_app:{secrets.token_hex(24)}@127.0.0.1:5432/guidance_prod", text, flags=re.M)
text = re.sub(r"^TRACKER_DATABASE_URL=.*$", "TRACKER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/guidance_prod_rasa", text, flags=re.M)
# A Redis of the profile's own with a password (ops/private_redis.py), not the machine's open one.
text = re.sub(r"^REDIS_URL=.*$", f"REDIS_URL=redis://:{secrets.token_urlsafe(24)}@127.0.0.1:6390/3", text, flags=re.M)
open(sys.argv[1], "w", encoding="utf-8").write(text)
PY
fi
if ! grep -q '^CHANNEL_SECRET=' "$env_file"; then
  # A file written before the signed channel existed: add its secret (Rasa refuses to start
  # without one, and the relay signs with it).
  echo "==> $env_file has no CHANNEL_SECRET: adding a random one"
  printf 'CHANNEL_SECRET=%s\n' "$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    >> "$env_file"
fi
if grep -q '^REDIS_URL=redis://127\.0\.0\.1' "$env_file"; then
  # A file written before production refused an open Redis: move to a private one.
  echo "==> $env_file has a REDIS_URL without a password: using a private Redis on port 6390"
  sed -i "s|^REDIS_URL=.*$|REDIS_URL=redis://:$(python -c 'import secrets; print(secrets.token_urlsafe(24))')@127.0.0.1:6390/3|" "$env_file"
fi
# The file's values, except where the environment already sets one (the environment wins).
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  name="${line%%=*}"
  [ -n "${!name+x}" ] || export "$name=${line#*=}"
done < "$env_file"

scripts/ensure_nginx.sh >/dev/null
for tool in pg_isready redis-server; do
  command -v "$tool" >/dev/null || { echo "prod: $tool not found (PostgreSQL and Redis are needed)" >&2; exit 3; }
done
# Starts the profile's private Redis when REDIS_URL is on loopback and nothing answers there.
python -m ops redis || exit 3

# Before any server starts, so the replicas load one model rather than each training it.
echo "==> guidance classifier (cached in models/guidance/ by a hash of its inputs)"
python -m guidance train

if [ -z "${RASA_MODEL:-}" ]; then
  echo "==> Rasa model"
  RASA_MODEL=$(scripts/train.sh)
  export RASA_MODEL
fi

exec python -m ops up
