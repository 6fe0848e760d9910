#!/usr/bin/env bash
# Stop backing services started by up.sh (by pid: SIGTERM, then SIGKILL after a timeout).
#   scripts/infra/down.sh              stop all and delete their state (clean slate)
#   scripts/infra/down.sh kafka nats   stop only these; their data is kept, so
#                                      up.sh kafka nats brings them back with it
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$INFRA_DIR/services.sh"

services=("$@")
((${#services[@]})) || services=("${ALL_SERVICES[@]}")
validate_services "${services[@]}"

take_lock

pids=()
for s in "${services[@]}"; do
  (svc_down "$s") &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
((rc == 0)) || die "some services could not be stopped"

if (($# == 0)); then
  # remove only what up.sh creates, never the whole directory tree blindly
  for d in "${ALL_SERVICES[@]}" logs pids; do rm -rf "${INFRA_STATE:?}/$d"; done
  rmdir "$INFRA_STATE" 2>/dev/null || true
  log "down: all stopped, state removed ($INFRA_STATE)"
else
  log "down: ${services[*]} stopped (data kept in $INFRA_STATE)"
fi
