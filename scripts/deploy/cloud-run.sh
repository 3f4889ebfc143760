#!/usr/bin/env bash
# Deploys to Google Cloud Run: two services from one image (Cloud Run routes one port per service).
#
#   IMAGE=europe-west1-docker.pkg.dev/my-project/apps/genkit-flow-gateway:1 \
#   PROJECT=my-project REGION=europe-west1 scripts/deploy/cloud-run.sh [--dry-run]
#
#   genkit-flow-gateway-rest  REST on 8080 (HTTP/1.1), gRPC off
#   genkit-flow-gateway-grpc  gRPC on 50051 with HTTP/2 end to end (--use-http2); REST moved off the
#                             service port (Cloud Run sets PORT to the service port, --port wins)
# Optional: GEMINI_SECRET / API_KEYS_SECRET name Secret Manager secrets for GEMINI_API_KEY / API_KEYS.
# SKIP_BUILD=1 deploys an image that is already pushed. Traces go to Cloud Trace (K_SERVICE is set).
# Cloud Run allows 10 s between SIGTERM and SIGKILL: SHUTDOWN_GRACE_MS=4000 for in-flight calls leaves
# up to 5 s to flush traces.

source "$(dirname "$0")/lib.sh"
need IMAGE "the image reference to build, push and deploy"
need PROJECT "the Google Cloud project ID"
need REGION "the Cloud Run region, e.g. europe-west1"

secrets=()
[ -n "${GEMINI_SECRET:-}" ] && secrets+=("GEMINI_API_KEY=${GEMINI_SECRET}:latest")
[ -n "${API_KEYS_SECRET:-}" ] && secrets+=("API_KEYS=${API_KEYS_SECRET}:latest")
secret_flag=()
[ ${#secrets[@]} -gt 0 ] && secret_flag=(--set-secrets "$(IFS=,; echo "${secrets[*]}")")

build_and_push
run gcloud run deploy "$APP-rest" --project "$PROJECT" --region "$REGION" --image "$IMAGE" \
  --port "$REST_PORT" --set-env-vars "GRPC_ENABLED=false,SHUTDOWN_GRACE_MS=4000" \
  --cpu 1 --memory 512Mi --concurrency 80 --allow-unauthenticated "${secret_flag[@]}"
run gcloud run deploy "$APP-grpc" --project "$PROJECT" --region "$REGION" --image "$IMAGE" \
  --port "$GRPC_PORT" --use-http2 --args=--port=8081 --set-env-vars "SHUTDOWN_GRACE_MS=4000" \
  --cpu 1 --memory 512Mi --concurrency 80 --allow-unauthenticated "${secret_flag[@]}"
