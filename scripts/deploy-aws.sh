#!/usr/bin/env bash
# Deploys the Sluice server to AWS ECS Fargate with an RDS PostgreSQL store, using the AWS CLI.
set -euo pipefail
SCRIPT_NAME=deploy-aws
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/deploy-aws.sh --image IMAGE --subnets IDS --security-groups IDS [options]

Deploys (or updates) an ECS Fargate service running the Sluice server. The store is an RDS
PostgreSQL instance whose URL is kept in AWS Secrets Manager and injected as SLUICE_STORE_URL;
the sluice.yaml comes from the SLUICE_CONFIG secret. Several tasks may run: they share the store.

Required:
  --image IMAGE             container image (e.g. 123.dkr.ecr.eu-central-1.amazonaws.com/sluice:0.1.0)
  --subnets IDS             comma-separated subnet ids for the tasks
  --security-groups IDS     comma-separated security group ids for the tasks
Options:
  --region REGION           AWS region (default: $AWS_REGION or eu-central-1)
  --cluster NAME            ECS cluster (default: sluice)
  --service NAME            ECS service (default: sluice)
  --desired-count N         number of tasks (default: 2)
  --create-db               create the RDS PostgreSQL instance first (db.t4g.micro, 20 GiB)
  --db-instance NAME        RDS instance identifier (default: sluice)
  --execution-role ARN      task execution role (default: ecsTaskExecutionRole in the account)
  --dry-run                 print the AWS CLI commands instead of running them
  -h, --help                show this help
USAGE
}

region=${AWS_REGION:-eu-central-1}
cluster=sluice
service=sluice
count=2
create_db=0
db=sluice
image=""
subnets=""
groups=""
role=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --image) require_value "$1" "${2:-}"; image=$2; shift ;;
    --subnets) require_value "$1" "${2:-}"; subnets=$2; shift ;;
    --security-groups) require_value "$1" "${2:-}"; groups=$2; shift ;;
    --region) require_value "$1" "${2:-}"; region=$2; shift ;;
    --cluster) require_value "$1" "${2:-}"; cluster=$2; shift ;;
    --service) require_value "$1" "${2:-}"; service=$2; shift ;;
    --desired-count) require_value "$1" "${2:-}"; count=$2; shift ;;
    --create-db) create_db=1 ;;
    --db-instance) require_value "$1" "${2:-}"; db=$2; shift ;;
    --execution-role) require_value "$1" "${2:-}"; role=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; unknown_option "$1" ;;
  esac
  shift
done
[ -n "$image" ] || die "--image is required"
[ -n "$subnets" ] || die "--subnets is required"
[ -n "$groups" ] || die "--security-groups is required"
case "$count" in ''|*[!0-9]*) die "--desired-count must be a number" ;; esac
need aws

if [ -z "$role" ]; then
  if [ "$DRY_RUN" = 1 ]; then
    role="arn:aws:iam::<account>:role/ecsTaskExecutionRole"
  else
    role="arn:aws:iam::$(aws sts get-caller-identity --query Account --output text):role/ecsTaskExecutionRole"
  fi
fi

if [ "$create_db" = 1 ]; then
  log "creating RDS PostgreSQL instance $db (the master password is generated and kept by Secrets Manager)"
  run aws rds create-db-instance --region "$region" --db-instance-identifier "$db" \
    --engine postgres --engine-version 16 --db-instance-class db.t4g.micro --allocated-storage 20 \
    --master-username sluice --manage-master-user-password --db-name sluice \
    --vpc-security-group-ids "${groups//,/ }" --no-publicly-accessible --backup-retention-period 7
  run aws rds wait db-instance-available --region "$region" --db-instance-identifier "$db"
  log "store the connection URL as the secret 'sluice/store-url' (postgres://sluice:<password>@<endpoint>:5432/sluice)"
fi

run aws ecs create-cluster --region "$region" --cluster-name "$cluster"

taskdef=$(mktemp)
remove_at_exit "$taskdef"
cat >"$taskdef" <<JSON
{
  "family": "$service",
  "requiresCompatibilities": ["FARGATE"],
  "networkMode": "awsvpc",
  "cpu": "512",
  "memory": "1024",
  "executionRoleArn": "$role",
  "containerDefinitions": [{
    "name": "sluice",
    "image": "$image",
    "essential": true,
    "portMappings": [{ "containerPort": 8080, "protocol": "tcp" }],
    "secrets": [
      { "name": "SLUICE_STORE_URL", "valueFrom": "sluice/store-url" },
      { "name": "SLUICE_CONFIG", "valueFrom": "sluice/config" }
    ],
    "healthCheck": {
      "command": ["CMD", "node", "apps/server/dist/healthcheck.js"],
      "interval": 15, "timeout": 5, "retries": 3, "startPeriod": 30
    },
    "stopTimeout": 60,
    "logConfiguration": {
      "logDriver": "awslogs",
      "options": { "awslogs-group": "/ecs/$service", "awslogs-region": "$region", "awslogs-stream-prefix": "sluice", "awslogs-create-group": "true" }
    }
  }]
}
JSON
if [ "$DRY_RUN" = 1 ]; then log "task definition:"; cat "$taskdef"; fi
run aws ecs register-task-definition --region "$region" --cli-input-json "file://$taskdef"

network="awsvpcConfiguration={subnets=[$subnets],securityGroups=[$groups],assignPublicIp=DISABLED}"
exists=0
if [ "$DRY_RUN" != 1 ]; then
  status=$(aws ecs describe-services --region "$region" --cluster "$cluster" --services "$service" \
    --query 'services[0].status' --output text 2>/dev/null || true)
  [ "$status" = ACTIVE ] && exists=1
fi
if [ "$exists" = 1 ]; then
  run aws ecs update-service --region "$region" --cluster "$cluster" --service "$service" \
    --task-definition "$service" --desired-count "$count"
else
  run aws ecs create-service --region "$region" --cluster "$cluster" --service-name "$service" \
    --task-definition "$service" --desired-count "$count" --launch-type FARGATE \
    --network-configuration "$network" --deployment-configuration "minimumHealthyPercent=100,maximumPercent=200"
fi
run aws ecs wait services-stable --region "$region" --cluster "$cluster" --services "$service"
log "deployed $image as $cluster/$service ($count task(s))"
