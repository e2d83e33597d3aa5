#!/usr/bin/env bash
# The ownership lock of a PGlite data folder, for scripts (scripts/backup.sh). Same protocol as
# the store (packages/store/src/data-dir-lock.ts): the file <dir>/sluice.lock, created with
# O_EXCL (noclobber), names its owner (pid, host, boot id, pid namespace, start time, token).
# An owner on this machine and in this pid namespace is alive exactly when /proc/<pid>/stat shows
# the recorded start time (a reused pid is not the owner); any other owner is judged by its
# heartbeat (the file's mtime moves every 2 s; unchanged for 10 s = gone). A dead owner's lock
# is taken over under the guard <dir>/sluice.lock.takeover (mkdir), after re-reading the file.
# Source it after lib/common.sh; do not run it.

DATA_DIR_LOCK_FILE=sluice.lock
DATA_DIR_LOCK_HEARTBEAT=2 # seconds between heartbeats
DATA_DIR_LOCK_STALE=10    # seconds without a heartbeat after which a not pid-checkable owner is gone

_dl_path=""
_dl_record=""
_dl_heart=""

# _dl_start_time PID: the process's start time (field 22 of /proc/PID/stat); fails when it does not exist.
_dl_start_time() {
  local stat rest fields
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$stat" ] || return 1
  rest=${stat##*) }
  read -ra fields <<<"$rest"
  printf '%s' "${fields[19]:-}"
}

_dl_identity() {
  _dl_host=$(uname -n)
  _dl_boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  _dl_pidns=$(readlink /proc/self/ns/pid 2>/dev/null || true)
}

_dl_field() { # TEXT KEY
  local line
  while IFS= read -r line; do
    case "$line" in "$2="*) printf '%s' "${line#"$2="}"; return 0 ;; esac
  done <<<"$1"
  return 0
}

_dl_mtime() { stat -c %Y "$1" 2>/dev/null || stat -f %m "$1" 2>/dev/null || echo 0; }

# _dl_judge TEXT: sets _dl_verdict (alive, dead or unknown) and _dl_owner (for messages).
_dl_judge() {
  local text=$1 pid host boot pidns start since program token now
  _dl_verdict=unknown
  _dl_owner="a process that is still writing its lock file"
  [ "${text%%$'\n'*}" = "sluice-data-dir-lock 1" ] || return 0
  pid=$(_dl_field "$text" pid)
  host=$(_dl_field "$text" host)
  boot=$(_dl_field "$text" boot)
  pidns=$(_dl_field "$text" pidns)
  start=$(_dl_field "$text" start)
  since=$(_dl_field "$text" since)
  program=$(_dl_field "$text" program)
  token=$(_dl_field "$text" token)
  case "$pid" in '' | *[!0-9]*) return 0 ;; esac
  [ -n "$token" ] || return 0
  if [ "$host" = "$_dl_host" ] && [ "$boot" = "$_dl_boot" ] && [ "$pidns" = "$_dl_pidns" ]; then
    _dl_owner="process $pid (${program:-unknown} on this machine, since ${since:-?})"
    if [ -r /proc/self/stat ]; then
      if now=$(_dl_start_time "$pid") && [ "$now" = "$start" ]; then _dl_verdict=alive; else _dl_verdict=dead; fi
    elif ! ps -p "$pid" >/dev/null 2>&1; then
      _dl_verdict=dead
    fi # else the pid exists but may have been reused: the heartbeat decides
  else
    _dl_owner="process $pid (${program:-unknown} on host ${host:-?}, since ${since:-?})"
  fi
}

# _dl_take_over PATH TEXT: removes PATH if it still holds TEXT (the dead owner's), under the guard.
_dl_take_over() {
  local guard="$1.takeover" current
  if mkdir "$guard" 2>/dev/null; then
    current=$(cat "$1" 2>/dev/null || true)
    if [ "$current" = "$2" ]; then rm -f -- "$1"; fi
    rmdir "$guard" 2>/dev/null || true
  elif [ $(($(date +%s) - $(_dl_mtime "$guard"))) -gt "$DATA_DIR_LOCK_STALE" ]; then
    rmdir "$guard" 2>/dev/null || true # left by a newcomer that died while taking over
  fi
}

_dl_refuse() { # DIR
  die "PGlite data folder $1 is in use by $_dl_owner: one process owns a data folder. Stop that process first (a backup or restore of a folder in use would copy or replace a database that is being written). (Lock file: $1/$DATA_DIR_LOCK_FILE)"
}

# data_dir_lock DIR PROGRAM: takes the lock of DIR (which must exist) until data_dir_unlock or
# exit, or dies naming the folder and the owner's pid.
data_dir_lock() {
  local dir=$1 program=$2 path text start token mtime
  local watched="" watched_mtime="" watched_since=0 tries=0
  local give_up=$((SECONDS + DATA_DIR_LOCK_STALE * 3 + 5))
  dir=$(cd "$dir" && pwd -P) || die "no such data folder: $1"
  path="$dir/$DATA_DIR_LOCK_FILE"
  _dl_identity
  start=$(_dl_start_time $$ || true)
  token=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  _dl_record="sluice-data-dir-lock 1
pid=$$
host=$_dl_host
boot=$_dl_boot
pidns=$_dl_pidns
start=$start
since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
program=$program
token=$token"
  for (( ; ; )); do
    if (set -o noclobber && printf '%s\n' "$_dl_record" >"$path") 2>/dev/null; then break; fi
    if ! text=$(cat "$path" 2>/dev/null); then
      tries=$((tries + 1))
      [ "$tries" -lt 20 ] || die "cannot create the lock file $path"
      continue
    fi
    _dl_judge "$text"
    case "$_dl_verdict" in
      alive) _dl_refuse "$dir" ;;
      dead) _dl_take_over "$path" "$text"; continue ;;
    esac
    mtime=$(_dl_mtime "$path")
    if [ "$text" != "$watched" ]; then
      watched=$text watched_mtime=$mtime watched_since=$SECONDS
    elif [ "$mtime" != "$watched_mtime" ]; then
      _dl_refuse "$dir"
    elif [ $((SECONDS - watched_since)) -ge "$DATA_DIR_LOCK_STALE" ]; then
      _dl_take_over "$path" "$text"
      watched=""
      continue
    fi
    [ "$SECONDS" -le "$give_up" ] || _dl_refuse "$dir"
    sleep 0.25
  done
  _dl_path=$path
  at_exit data_dir_unlock
  # Heartbeat for observers that cannot check our pid; stops when the script or the lock is gone.
  (
    while sleep "$DATA_DIR_LOCK_HEARTBEAT"; do
      kill -0 $$ 2>/dev/null || exit 0
      [ "$(cat "$path" 2>/dev/null)" = "$_dl_record" ] || exit 0
      touch -c "$path"
    done
  ) </dev/null >/dev/null 2>&1 &
  _dl_heart=$!
}

# data_dir_lock_moved DIR: the locked folder was renamed to DIR (the lock file moved with it).
data_dir_lock_moved() {
  [ -n "$_dl_path" ] || return 0
  if [ -n "$_dl_heart" ]; then kill "$_dl_heart" 2>/dev/null || true; _dl_heart=""; fi
  _dl_path="$1/$DATA_DIR_LOCK_FILE"
}

# data_dir_unlock: removes the lock file if it is still ours. Idempotent.
data_dir_unlock() {
  if [ -n "$_dl_heart" ]; then kill "$_dl_heart" 2>/dev/null || true; _dl_heart=""; fi
  if [ -n "$_dl_path" ] && [ "$(cat "$_dl_path" 2>/dev/null)" = "$_dl_record" ]; then rm -f -- "$_dl_path"; fi
  _dl_path=""
}
