#!/usr/bin/env bash
# Builds (and optionally pushes) the Sluice container image from the repository's Dockerfile.
set -euo pipefail
SCRIPT_NAME=docker-build
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/docker-build.sh [--dry-run] [--image NAME] [--tag TAG] [--platform LIST] [--push]

  --image NAME      image name (default: ghcr.io/sluice-dev/sluice)
  --tag TAG         image tag (default: the version in apps/server/package.json)
  --platform LIST   build for these platforms with buildx (e.g. linux/amd64,linux/arm64)
  --push            push the image after building
  --dry-run         print the commands instead of running them
  -h, --help        show this help
USAGE
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=ghcr.io/sluice-dev/sluice
tag=""
platform=""
push=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --image) require_value "$1" "${2:-}"; image=$2; shift ;;
    --tag) require_value "$1" "${2:-}"; tag=$2; shift ;;
    --platform) require_value "$1" "${2:-}"; platform=$2; shift ;;
    --push) push=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; unknown_option "$1" ;;
  esac
  shift
done
[ -n "$tag" ] || tag=$(node -p "require('$root/apps/server/package.json').version")
need docker

if [ -n "$platform" ]; then
  args=(docker buildx build --platform "$platform" -t "$image:$tag" -f "$root/Dockerfile")
  [ "$push" = 1 ] && args+=(--push)
  run "${args[@]}" "$root"
else
  run docker build -t "$image:$tag" -f "$root/Dockerfile" "$root"
  [ "$push" = 1 ] && run docker push "$image:$tag"
fi
log "image $image:$tag"
