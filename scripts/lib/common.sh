#!/usr/bin/env bash
# Shared helpers of the scripts in scripts/: logging, dry-run execution, argument checks.
# Source it; do not run it.

# DRY_RUN=1 prints each command (shell-quoted) instead of running it.
DRY_RUN=${DRY_RUN:-0}

log() { printf '[%s] %s\n' "${SCRIPT_NAME:-sluice}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# run CMD ARGS...: run a command, or print it in dry-run mode.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    local out="+" arg
    for arg in "$@"; do out+=" $(printf '%q' "$arg")"; done
    printf '%s\n' "$out"
  else
    "$@"
  fi
}

# run_sh 'pipeline | of | commands': for the few steps that need a shell pipeline.
run_sh() {
  if [ "$DRY_RUN" = 1 ]; then printf '+ sh -c %q\n' "$1"; else bash -c "$1"; fi
}

# need TOOL...: fail early when a required command is missing (skipped in dry-run mode).
need() {
  [ "$DRY_RUN" = 1 ] && return 0
  local tool
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required but not installed"; done
}

# require_value FLAG VALUE: a flag that takes a value got one.
require_value() {
  if [ -z "${2:-}" ] || [ "${2#--}" != "$2" ]; then die "$1 needs a value"; fi
}
