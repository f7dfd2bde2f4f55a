#!/usr/bin/env bash
# Runs the unit and snapshot suites under each supported Node line: scripts/test-node-versions.sh [MAJOR...]
# (default 20 22 24). The newest release of each line comes from the npm registry's
# node-<platform>-<arch> package (the official Node build packed for npm), cached in
# ${XDG_CACHE_HOME:-~/.cache}/chat-monitoring/node/; the installed node is used when it is of that line.
set -euo pipefail
cd "$(dirname "$0")/.."
export CDK8S_CHECK_UPGRADE=false

MAJORS=("$@")
[ ${#MAJORS[@]} -gt 0 ] || MAJORS=(20 22 24)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/chat-monitoring/node"
PACKAGE="node-$(node -p 'process.platform')-$(node -p 'process.arch')"
[ -x node_modules/.bin/jest ] || { echo "test-node-versions: node_modules/ is missing: run npm ci first" >&2; exit 1; }

# Prints the directory holding a `node` of line $1.
node_bin_dir() {
  local major="$1"
  if [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
    dirname "$(command -v node)"
    return
  fi
  local dir="$CACHE/$PACKAGE-$major"
  if [ ! -x "$dir/package/bin/node" ]; then
    local tmp
    tmp="$(mktemp -d)"
    echo "test-node-versions: fetching $PACKAGE@$major from the npm registry" >&2
    (cd "$tmp" && npm pack --silent "$PACKAGE@$major" >/dev/null) || { rm -rf "$tmp"; echo "test-node-versions: cannot fetch $PACKAGE@$major" >&2; return 1; }
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$tmp"/*.tgz -C "$dir"
    rm -rf "$tmp"
  fi
  echo "$dir/package/bin"
}

summary=()
failed=0
for major in "${MAJORS[@]}"; do
  bin="$(node_bin_dir "$major")" || { summary+=("Node $major: could not be fetched"); failed=1; continue; }
  version="$("$bin/node" --version)"
  echo "--- Node $version: npx jest test/unit test/snapshot"
  start=$(date +%s)
  # PATH first, so jest and every `node` the tests spawn run on this version.
  if PATH="$bin:$PATH" node node_modules/.bin/jest --ci test/unit test/snapshot; then result=passed; else result=FAILED; failed=1; fi
  summary+=("Node $version: $result in $(( $(date +%s) - start )) s")
done
echo "--- summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
