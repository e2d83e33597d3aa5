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
newcomer() {
  env -i HOME="$HOME" PATH="$path" LANG=C.UTF-8 TERM=dumb NX_CACHE_DIRECTORY="$clone/.nx/cache" "$@"
}
records() { find "$clone/.sluice/out" -name '*.ndjson' -size +0c 2>/dev/null | LC_ALL=C sort; }

# README's command in the clone, in its own process group (its leader's pid is $pid).
start_newcomer() { # log file
  (cd "$clone" && exec env -i HOME="$HOME" PATH="$path" LANG=C.UTF-8 TERM=dumb \
    NX_CACHE_DIRECTORY="$clone/.nx/cache" setsid bash -c "$command") >"$1" 2>&1 &
  pid=$!
}
wait_for_record() { # log file, seconds, files to ignore -> prints the new file
  local logfile=$1 limit=$2 before=$3 t0=$SECONDS file
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    file=$(LC_ALL=C comm -13 <(printf '%s\n' "$before") <(records) | head -n 1)
    if [ -n "$file" ]; then printf '%s\n' "$file"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the quick start exited; its output:"; tail -n 40 "$logfile" >&2; return 1
    fi
    sleep 0.5
  done
  log "no record after ${limit} s; the output:"; tail -n 40 "$logfile" >&2; return 1
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
start_newcomer "$logs/first.log"
first=$(wait_for_record "$logs/first.log" 1200 "") || fail "the first run wrote no record"
first_seconds=$(since "$t_clone")
log "first record after ${first_seconds} s from the clone: ${first#"$clone"/}"
stop
grep -q 'installing the dependencies' "$logs/first.log" || fail "the first run did not install the dependencies (see its log)"

before=$(records)
t_restart=$(now)
start_newcomer "$logs/restart.log"
serving=
for _ in $(seq 600); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then serving=$(since "$t_restart"); break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$serving" ] || { tail -n 40 "$logs/restart.log" >&2; fail "the restarted server did not answer /healthz"; }
next=$(wait_for_record "$logs/restart.log" 300 "$before") || fail "the restart wrote no record"
restart_seconds=$(since "$t_restart")
log "after the restart: serving in ${serving} s, next record after ${restart_seconds} s: ${next#"$clone"/}"
stop
if grep -E '^\[quickstart\] (installing|building)' "$logs/restart.log"; then fail "the restart installed or built again"; fi
grep -q 'dependencies: up to date' "$logs/restart.log" || fail "the restart did not report its dependencies up to date"
grep -q 'build: up to date' "$logs/restart.log" || fail "the restart did not report its build up to date"

# The compliance suite is repository data: it runs in a clone with nothing beside it.
(cd "$clone" && newcomer SLUICE_SKIP_SERVICES=1 npx -y -p node@22 npx vitest run packages/router/src/jsonpath.test.ts) >"$logs/jsonpath.log" 2>&1 ||
  { tail -n 40 "$logs/jsonpath.log" >&2; fail "the RFC 9535 compliance test failed in the clone"; }
log "the RFC 9535 compliance test passes in the clone"

log "clone -> first record: ${first_seconds} s; restart -> next record: ${restart_seconds} s (serving after ${serving} s)"
