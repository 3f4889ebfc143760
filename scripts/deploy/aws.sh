#!/usr/bin/env bash
# Deploys to AWS: App Runner for REST (App Runner routes one HTTP/1.1 port), and an ECS task
# definition with both ports for ECS/Fargate behind an ALB (target groups: HTTP for 8080, gRPC for
# 50051; health checks on /health and grpc.health.v1). Creating the ECS cluster, service and ALB is
# left to your infrastructure code; the task definition carries what the image needs.
#
#   IMAGE=123456789012.dkr.ecr.eu-west-1.amazonaws.com/genkit-flow-gateway:1 REGION=eu-west-1 \
#   ACCESS_ROLE_ARN=arn:aws:iam::123456789012:role/AppRunnerECRAccess \
#   EXECUTION_ROLE_ARN=arn:aws:iam::123456789012:role/ecsTaskExecutionRole scripts/deploy/aws.sh [--dry-run]
#
# Traces: on ECS/App Runner the server exports OTLP to an ADOT collector on localhost:4318 (run it as a
# sidecar) with X-Ray trace ids. SKIP_BUILD=1 deploys an image that is already pushed.

source "$(dirname "$0")/lib.sh"
need IMAGE "the ECR image reference to build, push and deploy"
need REGION "the AWS region, e.g. eu-west-1"
need ACCESS_ROLE_ARN "the IAM role App Runner uses to pull from ECR"
need EXECUTION_ROLE_ARN "the ECS task execution role"

source_config=$(cat <<JSON
{"ImageRepository":{"ImageIdentifier":"$IMAGE","ImageRepositoryType":"ECR","ImageConfiguration":{"Port":"$REST_PORT","RuntimeEnvironmentVariables":{"GRPC_ENABLED":"false"}}},"AuthenticationConfiguration":{"AccessRoleArn":"$ACCESS_ROLE_ARN"},"AutoDeploymentsEnabled":false}
JSON
)
# The task definition with this image and role (and region for its logs), in a temp file.
work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT
task_definition="$work_dir/ecs-task-definition.json"
sed -e "s#\"<IMAGE>\"#\"$IMAGE\"#" -e "s#\"<EXECUTION_ROLE_ARN>\"#\"$EXECUTION_ROLE_ARN\"#" \
  -e "s#\"awslogs-region\": \"[^\"]*\"#\"awslogs-region\": \"$REGION\"#" "$DEPLOY_DIR/ecs-task-definition.json" >"$task_definition"
echo "# $task_definition:"
sed 's/^/#   /' "$task_definition"

build_and_push
run aws apprunner create-service --region "$REGION" --service-name "$APP-rest" \
  --source-configuration "$source_config" \
  --health-check-configuration "Protocol=HTTP,Path=$HEALTH_PATH,Interval=10,Timeout=5,HealthyThreshold=1,UnhealthyThreshold=3" \
  --instance-configuration "Cpu=1 vCPU,Memory=2 GB"
run aws ecs register-task-definition --region "$REGION" --cli-input-json "file://$task_definition"
