#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the portal's browser tests (Playwright drives it
# through executable_path=/usr/bin/chromium; Playwright never downloads a browser here).
# Installs the Debian packages `chromium` and `fonts-liberation` with apt-get when missing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [[ -x "$CHROMIUM" ]]; then
    echo "chromium present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: $CHROMIUM is missing and apt-get is not available." >&2
    echo "Install Debian's (or your distribution's) chromium package so that $CHROMIUM exists," >&2
    echo "plus a basic font package (e.g. fonts-liberation), then run the tests again." >&2
    exit 1
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "ensure_chromium: installing chromium needs root (or sudo):" >&2
        echo "    apt-get install -y --no-install-recommends chromium fonts-liberation" >&2
        exit 1
    fi
fi

echo "ensure_chromium: installing Debian packages chromium and fonts-liberation"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
if [[ ! -x "$CHROMIUM" ]]; then
    echo "ensure_chromium: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
