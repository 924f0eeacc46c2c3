#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it. Each stage says what it does.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export APP_ENV=test
export TF_CPP_MIN_LOG_LEVEL=3
mkdir -p artefacts

stage() { echo; echo "==> $1"; shift; local t=$SECONDS; "$@"; echo "    ($(( SECONDS - t )) s)"; }

stage "lint (ruff)" ruff check .
stage "guidance pack is valid" python -m guidance validate
stage "guidance classifier (trained only if its inputs changed)" python -m guidance train
stage "real tools for the tests (Debian chromium and nginx, axe-core)" \
  bash -c "scripts/ensure_chromium.sh && scripts/ensure_nginx.sh && scripts/ensure_axe.sh"
stage "unit and service tests (SQLite)" python -m pytest -q -m "not slow"
stage "MASH service tests (PostgreSQL)" scripts/with_postgres.sh python -m pytest -q -m postgres tests/mash
stage "Rasa assistant checks (validate, cross-validation, test stories, end to end)" scripts/bot_checks.sh
echo; echo "==> all checks passed"
