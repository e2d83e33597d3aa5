#!/usr/bin/env bash
# Prints the command README.md marks with `<!-- readme-command: NAME -->`: the first line of the
# fenced code block right after the marker. CI runs these commands exactly as written — `test`
# in .ci/run, `run` in scripts/ci/quickstart.sh and scripts/ci/newcomer.sh — so what README
# says and what CI proves cannot drift apart.
#
#   bash scripts/ci/readme-command.sh run|test [README.md]
set -euo pipefail
name=${1:?usage: readme-command.sh NAME [README.md]}
readme=${2:-"$(dirname "${BASH_SOURCE[0]}")/../../README.md"}
command=$(awk -v marker="<!-- readme-command: $name -->" '
  state == 0 && $0 == marker { state = 1; next }
  state == 1 && /^```/ { state = 2; next }
  state == 1 { exit }
  state == 2 { print; exit }
' "$readme")
if [ -z "$command" ]; then
  echo "readme-command: README has no \"<!-- readme-command: $name -->\" followed by a code block ($readme)" >&2
  exit 1
fi
printf '%s\n' "$command"
