# Shared by the deploy scripts: --dry-run, required settings, printing each command before running it.
# Sourced, not run.
set -euo pipefail

DRY_RUN=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (only --dry-run and --help)" >&2; exit 2 ;;
  esac
done

# The defaults of server/config.ts; tests/deploy.test.ts checks they agree.
REST_PORT=8080
GRPC_PORT=50051
HEALTH_PATH=/health
APP=genkit-flow-gateway
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$DEPLOY_DIR/../.." && pwd)"

# need VAR "what it is": a setting the deployment cannot guess. A dry run shows <VAR> in its place.
need() {
  local name="$1" what="$2"
  if [ -z "${!name:-}" ]; then
    if [ "$DRY_RUN" = 1 ]; then
      printf -v "$name" '<%s>' "$name"
    else
      echo "Set $name: $what" >&2
      exit 2
    fi
  fi
}

# quote ARG: the argument as a shell word (single quotes only where needed).
quote() {
  if [[ "$1" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}

# run CMD ARGS...: prints the command (copy-pastable), then runs it unless --dry-run.
run() {
  local line="+" arg
  for arg in "$@"; do line+=" $(quote "$arg")"; done
  echo "$line"
  if [ "$DRY_RUN" = 0 ]; then "$@"; fi
}

# The image: built from the Containerfile and pushed, unless SKIP_BUILD=1 (already in the registry).
build_and_push() {
  if [ "${SKIP_BUILD:-0}" = 1 ]; then return; fi
  local engine
  engine="$(command -v podman || command -v docker || echo podman)"
  run "$(basename "$engine")" build -f "$REPO_DIR/Containerfile" -t "$IMAGE" "$REPO_DIR"
  run "$(basename "$engine")" push "$IMAGE"
}
