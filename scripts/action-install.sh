#!/usr/bin/env bash
# Used by promfleet's GitHub Actions (review/, review-comment/, on-merge/ at the repository root): runs
# the promfleet of the action's own checkout (the tag the workflow pinned) and keeps the pinned tools in
# the runner's tool cache, never under node_modules.
#
#   action-install.sh paths [tool…]     # version=… and tools-dir=… lines, for $GITHUB_OUTPUT; given
#                                       # tools, also needs-go=… and the cache-paths to keep them in
#   action-install.sh install [tool…]   # install and build this checkout, then the tools into tools-dir
#
# tools-dir ($RUNNER_TOOL_CACHE/promfleet/<version>/<uname -m>) is the tools folder promfleet reads
# (<checkout>/.tools links to it). A tool with a release file for this platform in tools/releases.json
# comes from that file, sha256-checked, via the tool cache ($RUNNER_TOOL_CACHE/<tool>/<version>/<arch>,
# see install-release-tools.sh); any other tool, or every tool when PROMFLEET_TOOLS_FROM_SOURCE=1, is
# built with Go by install-tools.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(node -p 'require(process.argv[1]).version' "$root/package.json")"
tool_cache="${RUNNER_TOOL_CACHE:?the runner sets RUNNER_TOOL_CACHE}"
tools_dir="$tool_cache/promfleet/$version/$(uname -m)"

# from_release <tool>: true when the tool comes from its release file (exit 1: from Go; else: stop).
from_release() {
  [[ "${PROMFLEET_TOOLS_FROM_SOURCE:-}" != 1 ]] || return 1
  local rc=0
  bash "$root/scripts/install-release-tools.sh" has "$1" || rc=$?
  ((rc <= 1)) || exit "$rc"
  return "$rc"
}

case "${1:-}" in
  paths)
    shift
    echo "version=$version"
    echo "tools-dir=$tools_dir"
    if [[ $# -gt 0 ]]; then
      needs_go=false
      echo "cache-paths<<PROMFLEET_EOF"
      echo "$tools_dir"
      for tool in "$@"; do
        if from_release "$tool"; then echo "$tool_cache/$tool"; else needs_go=true; fi
      done
      echo "PROMFLEET_EOF"
      echo "needs-go=$needs_go"
    fi
    ;;
  install)
    shift
    # --ignore-scripts: no dependency runs code at install; the build is promfleet's own (tsc, then esbuild
    # bundling the CLI, which needs no install script: its binary comes in the @esbuild/<platform> package)
    (cd "$root" && npm ci --ignore-scripts --no-audit --no-fund && npm run build)
    mkdir -p "$tools_dir"
    ln -sfn "$tools_dir" "$root/.tools" # the installers write, and promfleet reads, <root>/.tools
    from_go=()
    for tool in "$@"; do
      if from_release "$tool"; then
        bash "$root/scripts/install-release-tools.sh" install "$tools_dir" "$tool"
      else
        from_go+=("$tool")
      fi
    done
    if [[ ${#from_go[@]} -gt 0 ]]; then bash "$root/scripts/install-tools.sh" "${from_go[@]}"; fi
    ;;
  *)
    echo "usage: $0 paths [tool...] | install [tool...]" >&2
    exit 2
    ;;
esac
