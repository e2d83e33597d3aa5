#!/usr/bin/env bash
# Backs up and restores the Sluice store: a PostgreSQL database (pg_dump/pg_restore) or an
# embedded PGlite data folder (a tarball; stop the server first so the folder is consistent).
set -euo pipefail
SCRIPT_NAME=backup
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/backup.sh backup  (--pg-url URL | --data-dir DIR) --file FILE [--dry-run]
       scripts/backup.sh restore (--pg-url URL | --data-dir DIR) --file FILE [--dry-run]

  --pg-url URL     PostgreSQL store (store.url): pg_dump custom format / pg_restore --clean
  --data-dir DIR   PGlite data folder (store.dataDir, default ./.sluice): tar.gz of the folder
  --file FILE      backup file to write or read
  --dry-run        print the commands instead of running them
  -h, --help       show this help

Restoring a PGlite folder moves the current one aside to DIR.before-restore-<timestamp>.
Stop every server using the store before a PGlite backup or any restore.
USAGE
}

[ $# -gt 0 ] || { usage >&2; exit 2; }
action=$1; shift
case "$action" in
  backup|restore) ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; die "first argument must be backup or restore" ;;
esac
url=""
dir=""
file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --pg-url) require_value "$1" "${2:-}"; url=$2; shift ;;
    --data-dir) require_value "$1" "${2:-}"; dir=$2; shift ;;
    --file) require_value "$1" "${2:-}"; file=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
[ -n "$file" ] || die "--file is required"
if [ -n "$url" ] && [ -n "$dir" ]; then die "give --pg-url or --data-dir, not both"; fi
[ -n "$url$dir" ] || die "give --pg-url or --data-dir"

if [ -n "$url" ]; then
  if [ "$action" = backup ]; then
    need pg_dump
    run pg_dump --format=custom --no-owner --file "$file" "$url"
  else
    need pg_restore
    [ "$DRY_RUN" = 1 ] || [ -f "$file" ] || die "no such backup file: $file"
    run pg_restore --clean --if-exists --no-owner --dbname "$url" "$file"
  fi
else
  parent=$(dirname "$dir")
  base=$(basename "$dir")
  if [ "$action" = backup ]; then
    [ "$DRY_RUN" = 1 ] || [ -d "$dir" ] || die "no such data folder: $dir"
    run tar -czf "$file" -C "$parent" "$base"
  else
    [ "$DRY_RUN" = 1 ] || [ -f "$file" ] || die "no such backup file: $file"
    if [ -e "$dir" ]; then run mv "$dir" "$dir.before-restore-$(date +%Y%m%d%H%M%S)"; fi
    run mkdir -p "$parent"
    run tar -xzf "$file" -C "$parent"
  fi
fi
log "$action done ($file)"
