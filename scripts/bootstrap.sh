#!/usr/bin/env bash
# Create .venv with the pinned requirements. Rasa 3.6 needs Python 3.10 exactly.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in "${PYTHON:-}" python3.10 "$HOME/.pyenv/versions/3.10.13/bin/python3.10" \
      /root/.pyenv/versions/3.10.13/bin/python3.10 /usr/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if PYENV_VERSION=3.10.13 "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' \
        2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

if ! python=$(find_python); then
  echo "error: Python 3.10 is needed (Rasa 3.6 supports nothing newer)." >&2
  echo "Install it (e.g. 'pyenv install 3.10.13') or set PYTHON=/path/to/python3.10." >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $python"
  PYENV_VERSION=3.10.13 "$python" -m venv .venv
fi
echo "==> installing pinned requirements into .venv (first time: about 2 minutes)"
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt 2>&1 \
  | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import rasa, spacy, sqlalchemy, fastapi, slack_bolt" \
  || { echo "error: the virtual environment is incomplete; delete .venv and retry" >&2; exit 1; }
echo "==> .venv ready"
