#!/usr/bin/env bash
# Start the backing services natively on 127.0.0.1 (installing/building what is
# missing), wait until each answers, and write <repo>/.infra.env.
#   scripts/infra/up.sh [nats redis kafka mongo mailpit]   (no args = all)
# Idempotent: a service that is already running is left alone.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$INFRA_DIR/services.sh"

services=("$@")
((${#services[@]})) || services=("${ALL_SERVICES[@]}")
validate_services "${services[@]}"

take_lock
mkdir -p "$INFRA_STATE" "$LOG_DIR" "$PID_DIR" "$INFRA_CACHE"

# Debian packages first (one apt-get run), and chromium for the docs page test (lib.sh), then
# each service in parallel.
install_apt_packages "${services[@]}"
install_chromium

pids=()
for s in "${services[@]}"; do
  (svc_up "$s") &
  pids+=($!)
done
failed=()
for i in "${!services[@]}"; do
  wait "${pids[$i]}" || failed+=("${services[$i]}")
done

cat >"$REPO_ROOT/.infra.env" <<ENV
TRANSPORTER=nats://$INFRA_HOST:$NATS_PORT
MONGO_URI=mongodb://$INFRA_HOST:$MONGO_PORT/shop
KAFKA_BROKERS=$INFRA_HOST:$KAFKA_PORT
SMTP_URL=smtp://$INFRA_HOST:$MAILPIT_SMTP_PORT
MAILPIT_URL=http://$INFRA_HOST:$MAILPIT_HTTP_PORT
REDIS_URL=redis://$INFRA_HOST:$REDIS_PORT
ZIPKIN_URL=http://$INFRA_HOST:$ZIPKIN_PORT
STRIPE_API_BASE=http://$INFRA_HOST:$STRIPE_MOCK_PORT
ENV

((${#failed[@]} == 0)) || die "failed to start: ${failed[*]} (logs in $LOG_DIR)"
log "up: ${services[*]} ready in ${SECONDS}s; wrote $REPO_ROOT/.infra.env"
