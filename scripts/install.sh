#!/usr/bin/env bash
# Installs Sluice from this checkout: checks Node >= 22.12, installs dependencies, builds the
# packages and writes a starter config that validates and starts (never overwriting an existing
# one): the quick start with fresh secret files next to it.
set -euo pipefail
SCRIPT_NAME=install
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/install.sh [--dry-run] [--prefix DIR | --config FILE] [--skip-build]

Checks that Node.js >= 22.12 is installed, runs `npm ci`, builds every package and creates a
starter config from examples/quickstart/sluice.yaml at FILE (default ./sluice.yaml) unless it
already exists, with the two secret files it references (quickstart-api-key, webhook-secret)
next to it: fresh random values, mode 600, never the repository's demo ones. It prints the
command that starts the server on it (run from the config's folder: the quick start keeps its
data in ./.sluice there).

  --dry-run       print the commands instead of running them
  --prefix DIR    write the starter config to DIR/sluice.yaml (DIR is created)
  --config FILE   where to write the starter config (default: sluice.yaml)
  --skip-build    install dependencies only
  -h, --help      show this help
USAGE
}

config=sluice.yaml
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --config) require_value "$1" "${2:-}"; config=$2; shift ;;
    --prefix) require_value "$1" "${2:-}"; config=$2/sluice.yaml; shift ;;
    --skip-build) build=0 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; unknown_option "$1" ;;
  esac
  shift
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

version=$(node -p 'process.versions.node' 2>/dev/null || echo 0.0.0)
major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}
if [ "$major" -lt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -lt 12 ]; }; then
  die "Node.js >= 22.12 is required, found $version. Run this script on npm's node@22 package instead (the system's Node stays): npx -y -p node@22 bash $0"
fi
log "Node.js $version"

run npm ci --prefix "$root" --no-audit --no-fund
if [ "$build" = 1 ]; then
  run npx --prefix "$root" nx run-many -t build
fi
# new_secret FILE KIND: a fresh random secret in FILE (mode 600; scripts/lib/new-secret.mjs
# writes it itself, so the value is on no command line and in no output).
new_secret() {
  run node "$root/scripts/lib/new-secret.mjs" "$1" "$2"
}

if [ -e "$config" ]; then
  log "$config exists; leaving it as it is"
else
  dir=$(dirname "$config")
  run mkdir -p "$dir"
  run cp "$root/examples/quickstart/sluice.yaml" "$config"
  # The quick start reads its API key and webhook secret from these files, relative to its folder.
  [ -e "$dir/quickstart-api-key" ] || new_secret "$dir/quickstart-api-key" key
  [ -e "$dir/webhook-secret" ] || new_secret "$dir/webhook-secret" whsec
  log "wrote $config and its secret files; start with: cd $(printf '%q' "$dir") && node $(printf '%q' "$root/apps/server/bin/sluice.js") serve --config $(printf '%q' "$(basename "$config")")"
fi
