#!/usr/bin/env bash
# Installs Sluice from this checkout: checks Node >= 22.12, installs dependencies, builds the
# packages and writes a starter config (never overwriting an existing one).
set -euo pipefail
SCRIPT_NAME=install
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/install.sh [--dry-run] [--config FILE] [--skip-build]

Checks that Node.js >= 22.12 is installed, runs `npm ci`, builds every package and creates a
starter config from examples/quickstart/sluice.yaml at FILE (default ./sluice.yaml) unless it
already exists.

  --dry-run       print the commands instead of running them
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
if [ -e "$config" ]; then
  log "$config exists; leaving it as it is"
else
  run cp "$root/examples/quickstart/sluice.yaml" "$config"
  log "wrote $config; start with: node $root/apps/server/bin/sluice.js serve --config $config"
fi
