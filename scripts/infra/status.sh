#!/usr/bin/env bash
# One line per service: running/starting/stopped/foreign, pid, port(s).
#   scripts/infra/status.sh [service...]    exit 0 if all of them are up, else 1
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$INFRA_DIR/services.sh"

services=("$@")
((${#services[@]})) || services=("${ALL_SERVICES[@]}")
validate_services "${services[@]}"

rc=0
for s in "${services[@]}"; do
  svc_status "$s" || rc=1
done
exit "$rc"
