#!/usr/bin/env bash
# Run the whole product on embedded defaults. Grows as the product grows.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "==> guidance assistant (interactive; Ctrl-D to leave)"
exec python -m guidance shell
