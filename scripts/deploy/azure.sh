#!/usr/bin/env bash
# Deploys to Azure Container Apps: two apps from one image (ingress routes one target port per app).
#
#   IMAGE=myregistry.azurecr.io/genkit-flow-gateway:1 RESOURCE_GROUP=my-rg ENVIRONMENT=my-env \
#   scripts/deploy/azure.sh [--dry-run]
#
#   genkit-flow-gateway-rest  REST on 8080 (--transport http), gRPC off
#   genkit-flow-gateway-grpc  gRPC on 50051 (--transport http2, end to end)
# Optional: APPLICATIONINSIGHTS_CONNECTION_STRING exports traces to Azure Monitor (CONTAINER_APP_NAME
# is set by the platform). SKIP_BUILD=1 deploys an image that is already pushed.

source "$(dirname "$0")/lib.sh"
need IMAGE "the image reference to build, push and deploy"
need RESOURCE_GROUP "the Azure resource group"
need ENVIRONMENT "the Container Apps environment"

telemetry=()
secrets=()
if [ -n "${APPLICATIONINSIGHTS_CONNECTION_STRING:-}" ]; then
  telemetry=("APPLICATIONINSIGHTS_CONNECTION_STRING=secretref:appinsights")
  secrets=(--secrets "appinsights=$APPLICATIONINSIGHTS_CONNECTION_STRING")
fi
grpc_env=()
[ ${#telemetry[@]} -gt 0 ] && grpc_env=(--env-vars "${telemetry[@]}")

build_and_push
run az containerapp create --name "$APP-rest" --resource-group "$RESOURCE_GROUP" --environment "$ENVIRONMENT" \
  --image "$IMAGE" --ingress external --target-port "$REST_PORT" --transport http \
  "${secrets[@]}" --env-vars GRPC_ENABLED=false "${telemetry[@]}" --cpu 0.5 --memory 1Gi --min-replicas 1
run az containerapp create --name "$APP-grpc" --resource-group "$RESOURCE_GROUP" --environment "$ENVIRONMENT" \
  --image "$IMAGE" --ingress external --target-port "$GRPC_PORT" --transport http2 \
  "${secrets[@]}" "${grpc_env[@]}" --cpu 0.5 --memory 1Gi --min-replicas 1
