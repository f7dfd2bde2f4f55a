#!/usr/bin/env bash
# npm run kind:up — create the kind cluster "chat-monitoring" from kind-config.yaml (pinned node
# image, Grafana NodePort 30030 published on http://localhost:3030). Does nothing if it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=kind-config.yaml
CLUSTER="$(sed -n 's/^name: *//p' "$CONFIG" | head -1)"
CLUSTER="${CLUSTER:-chat-monitoring}"

die() { echo "kind:up: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker not found: install Docker (https://docs.docker.com/get-docker/)"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable ('docker info' fails): start Docker, or check DOCKER_HOST and your permissions on the socket"
command -v kind >/dev/null 2>&1 || die "kind not found: install it (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), e.g. 'go install sigs.k8s.io/kind@latest' or your package manager"
command -v kubectl >/dev/null 2>&1 || die "kubectl not found: install it (https://kubernetes.io/docs/tasks/tools/)"

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "kind:up: cluster \"$CLUSTER\" already exists"
else
  echo "kind:up: creating cluster \"$CLUSTER\" from $CONFIG"
  kind create cluster --config "$CONFIG" --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null
kubectl --context "kind-$CLUSTER" wait --for=condition=Ready nodes --all --timeout=120s >/dev/null
echo "kind:up: cluster \"$CLUSTER\" is ready (kubectl context kind-$CLUSTER). Next: npm run synth && npm run deploy -- --demo"
