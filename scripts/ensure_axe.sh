#!/usr/bin/env bash
# Install axe-core (pinned in tests/portal/browser/package-lock.json) for the portal's browser
# accessibility checks, into tests/portal/browser/node_modules (gitignored). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../tests/portal/browser"
WANT=$(python3 -c 'import json; print(json.load(open("package.json"))["dependencies"]["axe-core"])')
HAVE=$(python3 -c 'import json; print(json.load(open("node_modules/axe-core/package.json"))["version"])' 2>/dev/null || true)
if [[ "$HAVE" == "$WANT" && -f node_modules/axe-core/axe.min.js ]]; then
    echo "axe-core $HAVE present"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "ensure_axe: npm is needed to install axe-core $WANT (Debian: apt-get install npm)" >&2
    exit 1
fi
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
echo "axe-core $WANT installed"
