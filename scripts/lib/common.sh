#!/usr/bin/env bash
# Shared helpers of the scripts in scripts/: logging, dry-run execution, argument checks, and
# secret handling. Source it; do not run it.
#
# Secrets (passwords, connection URLs with a password) never go on a command line (every user
# of the machine sees argv in `ps` and /proc/<pid>/cmdline) and are never printed: they travel
# through mode-600 temporary files removed on exit (secret_file) or through standard input
# (run_with_input).

# DRY_RUN=1 prints each command (shell-quoted) instead of running it.
DRY_RUN=${DRY_RUN:-0}

log() { printf '[%s] %s\n' "${SCRIPT_NAME:-sluice}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# run CMD ARGS...: run a command, or print it in dry-run mode. Never pass a secret as an argument.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    local out="+" arg
    for arg in "$@"; do out+=" $(printf '%q' "$arg")"; done
    printf '%s\n' "$out"
  else
    "$@"
  fi
}

# run_with_input DATA CMD ARGS...: run a command with DATA on its standard input (printf is a
# shell builtin, so DATA is on no command line). Dry-run mode prints the command, not DATA.
run_with_input() {
  local data=$1; shift
  if [ "$DRY_RUN" = 1 ]; then
    run "$@"
    printf '  (standard input: %s bytes from the script, not shown)\n' "${#data}"
  else
    printf '%s' "$data" | "$@"
  fi
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

# unknown_option ARG: fails naming the option only (an `--opt=value` may carry a secret).
unknown_option() {
  die "unknown option: ${1%%=*}"
}

# Clean-up on exit, whichever way the script ends (error, Ctrl-C, SIGTERM).
_AT_EXIT=()
_REMOVE_AT_EXIT=()
_run_at_exit() {
  local fn path
  for fn in "${_AT_EXIT[@]}"; do "$fn" || true; done
  for path in "${_REMOVE_AT_EXIT[@]}"; do rm -f -- "$path"; done
}
trap _run_at_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# at_exit FUNCTION: call FUNCTION (no arguments) when the script exits.
at_exit() { _AT_EXIT+=("$1"); }
# remove_at_exit PATH: delete PATH when the script exits.
remove_at_exit() { _REMOVE_AT_EXIT+=("$1"); }

# secret_file VAR: creates an empty mode-600 temporary file, removed on exit, and stores its
# path in VAR (write the secret into it with printf, a builtin).
secret_file() {
  local path
  path=$(umask 077 && mktemp "${TMPDIR:-/tmp}/sluice-secret.XXXXXXXX") || die "cannot create a temporary file"
  chmod 600 "$path"
  remove_at_exit "$path"
  printf -v "$1" '%s' "$path"
}

# new_password: 48 random hex characters (192 bits), safe in URLs and YAML without escaping.
new_password() {
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}
