#!/usr/bin/env bash
# Deploys the Sluice server to Google Cloud Run with a Cloud SQL PostgreSQL store, using gcloud.
set -euo pipefail
SCRIPT_NAME=deploy-gcp
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/deploy-gcp.sh --project ID --image IMAGE [options]

Deploys (or updates) a Cloud Run service running the Sluice server, connected to a Cloud SQL
PostgreSQL instance. The store URL and sluice.yaml come from Secret Manager (secrets
sluice-store-url and sluice-config). CPU is always allocated and at least one instance stays up,
because cron schedules and workers run inside the service.

Required:
  --project ID          Google Cloud project
  --image IMAGE         container image (e.g. europe-docker.pkg.dev/PROJECT/sluice/sluice:0.1.0)
Options:
  --region REGION       region (default: europe-west3)
  --service NAME        Cloud Run service (default: sluice)
  --sql-instance NAME   Cloud SQL instance (default: sluice)
  --create-db           create the Cloud SQL PostgreSQL instance, the database and the user
                        sluice with a generated password, and store the URL as the secret
                        sluice-store-url (the password is never printed or put on a command line)
  --min-instances N     minimum instances (default: 1)
  --max-instances N     maximum instances (default: 4)
  --dry-run             print the gcloud commands instead of running them
  -h, --help            show this help
USAGE
}

project=""
image=""
region=europe-west3
service=sluice
sql=sluice
create_db=0
min=1
max=4
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --project) require_value "$1" "${2:-}"; project=$2; shift ;;
    --image) require_value "$1" "${2:-}"; image=$2; shift ;;
    --region) require_value "$1" "${2:-}"; region=$2; shift ;;
    --service) require_value "$1" "${2:-}"; service=$2; shift ;;
    --sql-instance) require_value "$1" "${2:-}"; sql=$2; shift ;;
    --create-db) create_db=1 ;;
    --min-instances) require_value "$1" "${2:-}"; min=$2; shift ;;
    --max-instances) require_value "$1" "${2:-}"; max=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; unknown_option "$1" ;;
  esac
  shift
done
[ -n "$project" ] || die "--project is required"
[ -n "$image" ] || die "--image is required"
for n in "$min" "$max"; do case "$n" in ''|*[!0-9]*) die "instance counts must be numbers" ;; esac; done
need gcloud

if [ "$create_db" = 1 ]; then
  run gcloud sql instances create "$sql" --project "$project" --region "$region" \
    --database-version POSTGRES_16 --tier db-custom-1-3840 --storage-auto-increase --backup
  run gcloud sql databases create sluice --project "$project" --instance "$sql"
  # The generated password is never printed and never on a command line: gcloud reads it from a
  # mode-600 flags file (removed on exit), Secret Manager from standard input.
  password=$(new_password)
  flags=""
  secret_file flags
  printf '{"--password": "%s"}\n' "$password" >"$flags"
  run gcloud sql users create sluice --project "$project" --instance "$sql" --flags-file "$flags"
  store_url="postgres://sluice:$password@/sluice?host=/cloudsql/$project:$region:$sql"
  if [ "$DRY_RUN" != 1 ] && gcloud secrets describe sluice-store-url --project "$project" >/dev/null 2>&1; then
    run_with_input "$store_url" gcloud secrets versions add sluice-store-url --project "$project" --data-file=-
  else
    run_with_input "$store_url" gcloud secrets create sluice-store-url --project "$project" --replication-policy automatic --data-file=-
  fi
  unset password store_url
  log "stored postgres://sluice:<generated password>@/sluice?host=/cloudsql/$project:$region:$sql as the secret sluice-store-url (the password is not shown)"
fi

run gcloud run deploy "$service" --project "$project" --region "$region" --image "$image" \
  --port 8080 --no-cpu-throttling --min-instances "$min" --max-instances "$max" \
  --add-cloudsql-instances "$project:$region:$sql" \
  --set-secrets "SLUICE_STORE_URL=sluice-store-url:latest,SLUICE_CONFIG=sluice-config:latest" \
  --no-allow-unauthenticated
log "deployed $image as Cloud Run service $service in $region"
