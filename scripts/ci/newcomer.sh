#!/usr/bin/env bash
# A newcomer's first hour, measured. Clones this repository's HEAD (committed work only) into an
# empty temporary folder — nothing beside the clone, so no ../shared — and, with the machine's
# older Node (< 22.12) first on PATH when it has one and every newer Node removed from PATH, runs
# README's run command exactly as written (the block marked `readme-command: run`) in a clean
# environment. Waits for the first record (an NDJSON file of the quick start pipeline, see
# examples/quickstart/sluice.yaml), stops it as Ctrl-C does, starts it again and waits for the
# next record; the restart must neither install nor build. Then runs the RFC 9535 compliance test
# in the clone (its data must be in the repository). Prints the seconds from clone to first record
# and of the restart; exits non-zero when any of it fails.
#
#   bash scripts/ci/newcomer.sh        (KEEP=1 keeps the temporary folder and logs)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
log() { printf '[newcomer] %s\n' "$*"; }
fail() {
  log "FAILED: $*"
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

command=$(bash "$root/scripts/ci/readme-command.sh" run)
port=8080 # examples/quickstart/sluice.yaml
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  fail "something already listens on 127.0.0.1:$port, which the quick start needs"
fi

# The machine's older Node, and a PATH on which no newer one is found.
node_is_new() { "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null; }
old_node=
while IFS= read -r candidate; do
  if [ -x "$candidate" ] && ! node_is_new "$candidate"; then old_node=$candidate; break; fi
done < <({ type -ap node; echo /usr/bin/node; echo /usr/local/bin/node; } | awk '!seen[$0]++')
path=
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  if [ -x "$dir/node" ] && node_is_new "$dir/node"; then continue; fi
  path=${path:+$path:}$dir
done
if [ -n "$old_node" ]; then
  path="$(dirname "$old_node"):$path"
  log "older Node first on PATH: $old_node ($("$old_node" -v))"
else
  log "this machine has no Node older than 22.12; running with $(command -v node) ($(node -v))"
  path=$PATH
fi
PATH=$path command -v npx >/dev/null || fail "no npx on the newcomer's PATH ($path)"

work=$(mktemp -d) # holds the clone and nothing else
logs=$(mktemp -d)
clone=$work/sluice
pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then log "kept $work and the logs in $logs"; else rm -rf "$work" "$logs"; fi
}
trap cleanup EXIT

# A clean environment, as a newcomer's shell: HOME (npm's cache), PATH and a locale. The Nx cache
# goes inside the clone, so removing the clone removes it (Nx keeps it under ~/.nx otherwise).
newcomer_env=(env -i "HOME=$HOME" "PATH=$path" LANG=C.UTF-8 TERM=dumb "NX_CACHE_DIRECTORY=$clone/.nx/cache")
records() { find "$clone/.sluice/out" -name '*.ndjson' -size +0c 2>/dev/null | LC_ALL=C sort; }

# README's command in the clone, in its own process group (its leader's pid is $pid).
start_newcomer() { # log file
  (cd "$clone" && exec "${newcomer_env[@]}" setsid bash -c "$command") >"$1" 2>&1 &
  pid=$!
}
# Polls until a record file not in $3 exists; sets $record. Notes when the quick start's phases
# begin (its log lines), in seconds since $4, unless noted already: $t_build (the install is done,
# the build begins or is up to date) and $t_serve (the server is starting).
wait_for_record() { # log file, limit in seconds, files to ignore, start time
  local logfile=$1 limit=$2 before=$3 t0=$SECONDS
  record=''
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    if [ -z "$t_build" ] && grep -q '^\[quickstart\] build' "$logfile"; then t_build=$(since "$4"); fi
    if [ -z "$t_serve" ] && grep -q '^\[quickstart\] starting the server' "$logfile"; then t_serve=$(since "$4"); fi
    record=$(LC_ALL=C comm -13 <(printf '%s\n' "$before") <(records) | head -n 1)
    if [ -n "$record" ]; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the quick start exited; its output:"; tail -n 40 "$logfile"; return 1
    fi
    sleep 0.5
  done
  log "no record after ${limit} s; the output:"; tail -n 40 "$logfile"; return 1
}
stop() { # as Ctrl-C does: SIGINT to the whole foreground process group
  kill -INT -- "-$pid" 2>/dev/null || true
  local t0=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - t0)) -ge 60 ]; then kill -KILL -- "-$pid" 2>/dev/null || true; fail "the quick start did not stop within 60 s of Ctrl-C"; fi
    sleep 0.2
  done
  wait "$pid" 2>/dev/null || true
  pid=
}

log "README's run command: $command"
t_clone=$(now)
git clone --quiet "$root" "$clone"
log "cloned $(git -C "$clone" rev-parse --short HEAD) into $clone (nothing beside it: $(find "$work" -mindepth 1 -maxdepth 1 | wc -l) entry)"
t_build='' t_serve=''
start_newcomer "$logs/first.log"
wait_for_record "$logs/first.log" 1200 "" "$t_clone" || fail "the first run wrote no record"
first_seconds=$(since "$t_clone")
log "first record after ${first_seconds} s from the clone: ${record#"$clone"/}"
log "  (since the clone: dependencies installed at ${t_build:-?} s, server starting at ${t_serve:-?} s)"
stop
grep -q 'installing the dependencies' "$logs/first.log" || fail "the first run did not install the dependencies (see its log)"

before=$(records)
t_restart=$(now)
t_build='' t_serve=''
start_newcomer "$logs/restart.log"
serving=
for _ in $(seq 600); do
  if [ -z "$t_serve" ] && grep -q '^\[quickstart\] starting the server' "$logs/restart.log"; then t_serve=$(since "$t_restart"); fi
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then serving=$(since "$t_restart"); break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$serving" ] || { tail -n 40 "$logs/restart.log" >&2; fail "the restarted server did not answer /healthz"; }
wait_for_record "$logs/restart.log" 300 "$before" "$t_restart" || fail "the restart wrote no record"
restart_seconds=$(since "$t_restart")
log "after the restart: server starting at ${t_serve:-?} s, serving at ${serving} s, next record at ${restart_seconds} s: ${record#"$clone"/}"
stop
if grep -E '^\[quickstart\] (installing|building)' "$logs/restart.log"; then fail "the restart installed or built again"; fi
grep -q 'dependencies: up to date' "$logs/restart.log" || fail "the restart did not report its dependencies up to date"
grep -q 'build: up to date' "$logs/restart.log" || fail "the restart did not report its build up to date"

# The compliance suite is repository data: it runs in a clone with nothing beside it.
(cd "$clone" && "${newcomer_env[@]}" SLUICE_SKIP_SERVICES=1 npx -y -p node@22 npx vitest run packages/router/src/jsonpath.test.ts) >"$logs/jsonpath.log" 2>&1 ||
  { tail -n 40 "$logs/jsonpath.log" >&2; fail "the RFC 9535 compliance test failed in the clone"; }
log "the RFC 9535 compliance test passes in the clone"

load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
log "clone -> first record: ${first_seconds} s; restart -> next record: ${restart_seconds} s (serving after ${serving} s); load average $load on $(nproc) cores"
