#!/usr/bin/env bash
# Deploys scripts/deploy/kubernetes.yaml (Deployment + Service) with the given image.
#
#   IMAGE=registry.example.com/genkit-flow-gateway:1 [NAMESPACE=default] scripts/deploy/kubernetes.sh [--dry-run]
#
# Secrets (optional; the pods start without them: offline model, open API with a warning):
#   kubectl create secret generic genkit-flow-gateway --from-literal=GEMINI_API_KEY=… --from-literal=API_KEYS=alice:…
# SKIP_BUILD=1 deploys an image that is already pushed.

source "$(dirname "$0")/lib.sh"
need IMAGE "the image reference to build, push and deploy"
NAMESPACE="${NAMESPACE:-default}"

build_and_push
run kubectl --namespace "$NAMESPACE" apply -f "$DEPLOY_DIR/kubernetes.yaml"
run kubectl --namespace "$NAMESPACE" set image "deployment/$APP" "server=$IMAGE"
run kubectl --namespace "$NAMESPACE" rollout status "deployment/$APP" --timeout=180s
