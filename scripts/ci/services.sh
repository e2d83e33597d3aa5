#!/usr/bin/env bash
# Starts the local services the test suite needs unless they already answer, and waits until
# they do. Idempotent and fast when everything runs (a few hundred ms): vitest's global setup
# (test/global-setup.ts) runs it before every test run. Needs root (or passwordless sudo) only
# to start something or to install a missing tool.
set -euo pipefail

log() { printf '[services] %s\n' "$*"; }
# root, or sudo without a password (a CI runner's user); nothing else can start system services.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else log "root is needed for: $*"; return 1
  fi
}

wait_for() { # name, attempts, command...
  local name=$1 tries=$2; shift 2
  for _ in $(seq "$tries"); do
    if "$@" >/dev/null 2>&1; then log "$name is up"; return 0; fi
    sleep 1
  done
  log "$name did not come up"; return 1
}

# PostgreSQL (trust auth on 127.0.0.1:5432)
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  log "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" | sort | head -n1)" main start || true
fi
wait_for PostgreSQL 60 pg_isready -h 127.0.0.1 -p 5432

# MariaDB (root without password on 127.0.0.1:3306)
if ! mysqladmin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
  log "starting MariaDB"
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
wait_for MariaDB 60 mysqladmin -h 127.0.0.1 -u root ping

# Tools some tests run: Debian's prometheus (the scrape end-to-end test starts its own
# instance; its promtool checks the server's /metrics in test/e2e/metrics-exposition.test.ts), the
# scripts' linter shellcheck, and chromium (the dashboard's browser tests in test/browser drive
# it headless through playwright-core; no browser is downloaded).
missing=()
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || missing+=(prometheus)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a system instance on :9090 we don't need; tests use their own ports.
command -v prometheus >/dev/null && log "prometheus $(prometheus --version 2>&1 | head -n1 | awk '{print $3}')"
