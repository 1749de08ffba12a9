#!/usr/bin/env bash
# scripts/demo.sh - the README's first command: set up and run mailbot on embedded defaults
# (SQLite, a local Maildir, simulated participants). Everything goes to ./demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
if [ ! -x "$VENV/bin/mailbot" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e .
fi
exec "$VENV/bin/mailbot" demo --out "${1:-demo-out}"
