#!/usr/bin/env bash
# Backs up and restores the Sluice store: a PostgreSQL database (pg_dump/pg_restore) or an
# embedded PGlite data folder (a tarball, taken while holding the folder's ownership lock, so it
# refuses a folder that a server is using and no server can open the folder meanwhile).
set -euo pipefail
SCRIPT_NAME=backup
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/data-dir-lock.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/data-dir-lock.sh"
# shellcheck source=lib/pg-url.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/pg-url.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/backup.sh backup  (--pg-url-env NAME | --pg-url-file FILE | --pg-url URL | --data-dir DIR) --file FILE [--dry-run]
       scripts/backup.sh restore (--pg-url-env NAME | --pg-url-file FILE | --pg-url URL | --data-dir DIR) --file FILE [--dry-run]

  --pg-url-env NAME   PostgreSQL store: read its URL from the environment variable NAME
                      (e.g. SLUICE_STORE_URL); pg_dump custom format / pg_restore --clean
  --pg-url-file FILE  PostgreSQL store: read its URL from FILE (- for standard input)
  --pg-url URL        PostgreSQL store URL without a password (the password then comes from
                      ~/.pgpass or PGPASSFILE); a URL with a password is refused, because a
                      command line is visible to every user of the machine
  --data-dir DIR      PGlite data folder (store.dataDir, default ./.sluice): tar.gz of the folder
  --file FILE         backup file to write or read
  --dry-run           print the commands instead of running them
  -h, --help          show this help

The password of a PostgreSQL URL reaches pg_dump/pg_restore through a mode-600 temporary
password file (PGPASSFILE) removed on exit, never through a command line.
A PGlite folder that a process (a server, a migrate, another backup) is using is refused with
the owner's pid: stop it first. Restoring a PGlite folder moves the current one aside to
DIR.before-restore-<timestamp>. Stop every server using the store before any restore.
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
url_given=0
dir=""
file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --pg-url)
      require_value "$1" "${2:-}"; url=$2; url_given=$((url_given + 1)); shift
      pg_url_has_password "$url" && die "--pg-url must not contain a password (it would be visible in ps to every user): use --pg-url-env NAME, --pg-url-file FILE or ~/.pgpass"
      ;;
    --pg-url-env)
      require_value "$1" "${2:-}"
      case "$2" in [A-Za-z_]*) ;; *) die "--pg-url-env needs an environment variable name" ;; esac
      case "$2" in *[!A-Za-z0-9_]*) die "--pg-url-env needs an environment variable name" ;; esac
      url=${!2:-}; url_given=$((url_given + 1))
      [ -n "$url" ] || die "the environment variable $2 is empty or not set"
      shift
      ;;
    --pg-url-file)
      require_value "$1" "${2:-}"
      if [ "$2" = - ]; then url=$(cat); else [ -r "$2" ] || die "cannot read $2"; url=$(cat -- "$2"); fi
      url=${url%$'\r'}; url_given=$((url_given + 1))
      [ -n "$url" ] || die "$2 holds no URL"
      shift
      ;;
    --data-dir) require_value "$1" "${2:-}"; dir=$2; shift ;;
    --file) require_value "$1" "${2:-}"; file=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; unknown_option "$1" ;;
  esac
  shift
done
[ -n "$file" ] || die "--file is required"
[ "$url_given" -le 1 ] || die "give one of --pg-url, --pg-url-env and --pg-url-file"
if [ -n "$url" ] && [ -n "$dir" ]; then die "give --pg-url or --data-dir, not both"; fi
[ -n "$url$dir" ] || die "give --pg-url or --data-dir"

if [ -n "$url" ]; then
  case "$url" in postgres://* | postgresql://*) ;; *) die "the store URL must start with postgres:// or postgresql://" ;; esac
  # The password goes to a private password file; the URL on the command line has none.
  pg_url_split "$url"
  if [ -n "$pg_password" ]; then
    pgpass=""
    secret_file pgpass
    printf '*:*:*:*:%s\n' "$(pgpass_escape "$pg_password")" >"$pgpass"
    export PGPASSFILE="$pgpass"
  fi
  if [ "$action" = backup ]; then
    need pg_dump
    run pg_dump --format=custom --no-owner --file "$file" "$pg_url"
  else
    need pg_restore
    [ "$DRY_RUN" = 1 ] || [ -f "$file" ] || die "no such backup file: $file"
    run pg_restore --clean --if-exists --no-owner --dbname "$pg_url" "$file"
  fi
else
  parent=$(dirname "$dir")
  base=$(basename "$dir")
  # The lock file is not part of a backup (it names the process that held the folder).
  exclude=(--exclude "$base/$DATA_DIR_LOCK_FILE" --exclude "$base/$DATA_DIR_LOCK_FILE.takeover")
  if [ "$action" = backup ]; then
    [ "$DRY_RUN" = 1 ] || [ -d "$dir" ] || die "no such data folder: $dir"
    if [ "$DRY_RUN" = 1 ]; then log "would take the ownership lock $dir/$DATA_DIR_LOCK_FILE (refusing a folder in use)"; else data_dir_lock "$dir" backup.sh; fi
    run tar -czf "$file" "${exclude[@]}" -C "$parent" "$base"
  else
    [ "$DRY_RUN" = 1 ] || [ -f "$file" ] || die "no such backup file: $file"
    if [ "$DRY_RUN" = 1 ]; then log "would take the ownership lock $dir/$DATA_DIR_LOCK_FILE (refusing a folder in use)"; fi
    if [ -e "$dir" ]; then
      aside="$dir.before-restore-$(date +%Y%m%d%H%M%S)"
      [ "$DRY_RUN" = 1 ] || data_dir_lock "$dir" backup.sh
      run mv "$dir" "$aside"
      data_dir_lock_moved "$aside"
      data_dir_unlock
    fi
    run mkdir -p "$dir"
    # Hold the new folder while it is being filled: a server starting meanwhile is refused.
    [ "$DRY_RUN" = 1 ] || data_dir_lock "$dir" backup.sh
    run tar -xzf "$file" "${exclude[@]}" -C "$parent"
  fi
  data_dir_unlock
fi
log "$action done ($file)"
