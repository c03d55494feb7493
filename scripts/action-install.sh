#!/usr/bin/env bash
# Used by promfleet's GitHub Actions (review/, review-comment/, on-merge/ at the repository root): runs
# the promfleet of the action's own checkout (the tag the workflow pinned) and keeps the pinned tools in
# the runner's tool cache, keyed by promfleet's version, never under node_modules.
#
#   action-install.sh paths             # version=… and tools-dir=… lines, for $GITHUB_OUTPUT
#   action-install.sh install [tool…]   # install and build this checkout, then the tools into tools-dir
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(node -p 'require(process.argv[1]).version' "$root/package.json")"
tools_dir="${RUNNER_TOOL_CACHE:?the runner sets RUNNER_TOOL_CACHE}/promfleet/$version/$(uname -m)"

case "${1:-}" in
  paths)
    echo "version=$version"
    echo "tools-dir=$tools_dir"
    ;;
  install)
    shift
    # --ignore-scripts: no dependency runs code at install; the build is promfleet's own tsc
    (cd "$root" && npm ci --ignore-scripts --no-audit --no-fund && npm run build)
    mkdir -p "$tools_dir"
    ln -sfn "$tools_dir" "$root/.tools" # install-tools.sh writes, and promfleet reads, <root>/.tools
    if [[ $# -gt 0 ]]; then bash "$root/scripts/install-tools.sh" "$@"; fi
    ;;
  *)
    echo "usage: $0 paths | install [tool...]" >&2
    exit 2
    ;;
esac
