#!/usr/bin/env bash
# npm run kind:down — delete the kind cluster "chat-monitoring" (and everything in it).
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER="$(sed -n 's/^name: *//p' kind-config.yaml | head -1)"
CLUSTER="${CLUSTER:-chat-monitoring}"

command -v kind >/dev/null 2>&1 || { echo "kind:down: kind not found, so no kind cluster to delete"; exit 0; }
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind delete cluster --name "$CLUSTER"
else
  echo "kind:down: no cluster \"$CLUSTER\""
fi
