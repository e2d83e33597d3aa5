#!/usr/bin/env bash
# PostgreSQL connection URLs in scripts: split the password out of a URL so that it reaches
# libpq through a private password file (PGPASSFILE) instead of a command line. Only shell
# builtins and parameter expansion touch the password (no here-strings, no external commands).
# Source it; do not run it.

# pct_decode TEXT: decodes %XX escapes (URL userinfo and query values).
pct_decode() {
  local s=${1//\\/\\\\}
  s=${s//%/\\x}
  printf '%b' "$s"
}

# pgpass_escape TEXT: escapes \ and : for one field of a .pgpass line.
pgpass_escape() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//:/\\:}"
}

# pg_url_split URL: sets pg_url (URL without any password) and pg_password (decoded, or empty).
# Handles postgres://user:password@host/db and a password=... query parameter.
pg_url_split() {
  local url=$1 scheme rest authority tail userinfo hostport path query param kept=""
  pg_password=""
  scheme=${url%%://*}
  rest=${url#*://}
  authority=${rest%%[/?]*}
  tail=${rest#"$authority"}
  if [[ $authority == *@* ]]; then
    userinfo=${authority%@*}
    hostport=${authority##*@}
    if [[ $userinfo == *:* ]]; then
      pg_password=$(pct_decode "${userinfo#*:}")
      userinfo=${userinfo%%:*}
    fi
    authority="$userinfo@$hostport"
  fi
  if [[ $tail == *\?* ]]; then
    path=${tail%%\?*}
    query=${tail#*\?}
    while [ -n "$query" ]; do
      param=${query%%&*}
      if [[ $query == *'&'* ]]; then query=${query#*&}; else query=""; fi
      case "$param" in
        password=*) pg_password=$(pct_decode "${param#password=}") ;;
        *) kept+="${kept:+&}$param" ;;
      esac
    done
    tail=$path${kept:+?$kept}
  fi
  # shellcheck disable=SC2034 # read by the script that sources this file
  pg_url="$scheme://$authority$tail"
}

# pg_url_has_password URL: succeeds when URL carries a password.
pg_url_has_password() {
  (pg_url_split "$1" && [ -n "$pg_password" ])
}
