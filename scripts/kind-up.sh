#!/usr/bin/env bash
# npm run kind:up — create the kind cluster "chat-monitoring" from kind-config.yaml (pinned node
# image, Grafana NodePort 30030 published on http://localhost:3030). If it exists, reuses it and
# restores its kubectl context when that is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=kind-config.yaml
CLUSTER="$(sed -n 's/^name: *//p' "$CONFIG" | head -1)"
CLUSTER="${CLUSTER:-chat-monitoring}"
CONTEXT="kind-$CLUSTER"
MIN_KIND="$(sed -n 's/^ *# kind-min-version: *\(v[0-9.]*\).*/\1/p' "$CONFIG" | head -1)"
IMAGE="$(sed -n 's/^ *image: *//p' "$CONFIG" | head -1)"

die() { echo "kind:up: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker not found: install Docker (https://docs.docker.com/get-docker/)"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable ('docker info' fails): start Docker, or check DOCKER_HOST and your permissions on the socket"
command -v kind >/dev/null 2>&1 || die "kind not found: install kind $MIN_KIND or later (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), e.g. 'go install sigs.k8s.io/kind@$MIN_KIND'"
command -v kubectl >/dev/null 2>&1 || die "kubectl not found: install it (https://kubernetes.io/docs/tasks/tools/)"

# The pinned node image needs the kind release that built it, or a later one.
KIND_VERSION="$(kind version 2>/dev/null | grep -o 'v[0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*' | head -1 || true)"
[ -n "$KIND_VERSION" ] || die "cannot read the version from 'kind version': install kind $MIN_KIND or later"
if [ -n "$MIN_KIND" ] && [ "$(printf '%s\n%s\n' "$MIN_KIND" "$KIND_VERSION" | sort -V | head -1)" != "$MIN_KIND" ]; then
  die "kind $KIND_VERSION is older than $MIN_KIND, which built the pinned node image (${IMAGE%%@*} in $CONFIG): upgrade kind (e.g. 'go install sigs.k8s.io/kind@$MIN_KIND')"
fi

if kind get clusters 2>/dev/null | grep -x "$CLUSTER" >/dev/null; then
  echo "kind:up: cluster \"$CLUSTER\" already exists"
  if ! kubectl config get-contexts -o name 2>/dev/null | grep -x "$CONTEXT" >/dev/null; then
    echo "kind:up: kubectl has no context $CONTEXT: exporting it from kind"
    kind export kubeconfig --name "$CLUSTER" >/dev/null
  fi
else
  echo "kind:up: creating cluster \"$CLUSTER\" from $CONFIG"
  kind create cluster --config "$CONFIG" --wait 120s
fi
kubectl config use-context "$CONTEXT" >/dev/null
kubectl --context "$CONTEXT" wait --for=condition=Ready nodes --all --timeout=120s >/dev/null
echo "kind:up: cluster \"$CLUSTER\" is ready (kubectl context $CONTEXT). Next: npm run synth && npm run deploy -- --demo"
