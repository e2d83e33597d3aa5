#!/usr/bin/env bash
# Proves the README's quick start in this working tree: runs README's run command exactly as
# written (the block marked `readme-command: run`), waits until the example pipelines have
# written files, then runs every `curl` line of examples/quickstart/README.md against the running
# server. Stops the server afterwards. (scripts/ci/newcomer.sh does the same from a fresh clone.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

log() { printf '[quickstart] %s\n' "$*"; }
command=$(bash scripts/ci/readme-command.sh run)
log "README's run command: $command"
rm -rf .sluice
logfile=$(mktemp)
setsid bash -c "$command" >"$logfile" 2>&1 &
pid=$!
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$logfile"
}
trap cleanup EXIT

ready=0
for _ in $(seq 300); do
  if curl -fsS http://127.0.0.1:8080/healthz >/dev/null 2>&1; then ready=1; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 1
done
if [ "$ready" != 1 ]; then
  log "the server did not come up; its output:"; tail -n 50 "$logfile"; exit 1
fi
log "server is up"

found=0
for _ in $(seq 60); do
  traffic=$( (find .sluice/out/traffic -name '*.ndjson' 2>/dev/null || true) | wc -l)
  alerts=$( (find .sluice/out/alerts -name '*.ndjson' 2>/dev/null || true) | wc -l)
  if [ "$traffic" -gt 0 ] && [ "$alerts" -gt 0 ]; then found=1; break; fi
  sleep 1
done
if [ "$found" != 1 ]; then
  log "no data after 60 s (traffic files: ${traffic:-0}, alert files: ${alerts:-0})"; tail -n 50 "$logfile"; exit 1
fi
log "data is flowing: $traffic traffic file(s), $alerts alert file(s)"

status=0
while IFS= read -r line; do
  log "$line"
  if ! bash -c "$line" >/dev/null; then log "FAILED: $line"; status=1; fi
done < <(grep -E '^curl ' examples/quickstart/README.md)
curl -fsS http://127.0.0.1:8080/metrics | grep -q '^quickstart_sessions{' || { log "no quickstart_sessions metric"; status=1; }
curl -fsS http://127.0.0.1:8080/ | grep -q '<div id="app">' || { log "no dashboard at /"; status=1; }
exit "$status"
