#!/usr/bin/env bash
# Install Schemathesis (pinned) into a venv cached outside the repo, once; prints the `st` path.
#   scripts/contract-fuzz-install.sh
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
VENV="${SCHEMATHESIS_VENV:-$HOME/.cache/shop-infra/venv-schemathesis}"
ST="$VENV/bin/st"

if [[ -x "$ST" ]] && "$VENV/bin/python" -m pip show schemathesis 2>/dev/null | grep -qx "Version: $SCHEMATHESIS_VERSION"; then
  echo "$ST"
  exit 0
fi

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' || {
  echo "contract-fuzz: $PYTHON is older than 3.9" >&2
  exit 1
}
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
"$ST" --version >&2
echo "$ST"
