#!/usr/bin/env bash
# Print this install's development SECRET_KEY, creating it on first use: 32 random bytes in
# DIR/secret_key (default var/), mode 0600, reused by every later `make run`. Production sets
# SECRET_KEY itself (settings.py refuses a short one there).
#   scripts/dev_secret.sh [DIR]
set -euo pipefail
dir=${1:-"$(dirname "$0")/../var"}
file="$dir/secret_key"
mkdir -p "$dir"
if [ ! -s "$file" ]; then
  umask 077  # the file is created 0600: no other user of the machine can read it
  tmp=$(mktemp "$dir/.secret_key.XXXXXX")
  python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$tmp"
  mv -n "$tmp" "$file"  # a concurrent first run keeps whichever key landed first
  rm -f "$tmp"
fi
chmod 600 "$file"
cat "$file"
