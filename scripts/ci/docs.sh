#!/usr/bin/env bash
# Docs CI step: builds the documentation site (generated pages, TypeDoc package reference,
# VitePress with dead-link checking) and fails when a committed generated page is stale.
# Needs the packages built first (`npx nx run-many -t build`, the CI "build" step).
# Usage: bash scripts/ci/docs.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

# Check before building: docs:build rewrites the generated pages, which would hide staleness.
node tools/docs/generate.mjs --check
npm run docs:build
