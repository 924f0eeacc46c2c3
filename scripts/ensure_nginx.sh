#!/usr/bin/env bash
# Make sure Debian's nginx is installed: `make prod` runs it, and `make test` runs the tests that
# start a real nginx from the production template (tests/ops/test_ops.py).
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  echo "nginx present: $(/usr/sbin/nginx -v 2>&1 || nginx -v 2>&1)"
  exit 0
fi
echo "==> installing nginx (Debian package)"
if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q nginx >/dev/null
elif command -v sudo >/dev/null 2>&1; then sudo apt-get install -y -q nginx >/dev/null
else
  echo "ensure_nginx: installing nginx needs root (or sudo): apt-get install -y nginx" >&2
  exit 1
fi
