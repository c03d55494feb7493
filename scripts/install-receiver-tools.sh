#!/usr/bin/env bash
# Build the remote-write stores the receiver tests write to (test/receiver-*.test.ts): Thanos (one binary
# for `thanos receive` and `thanos query`), VictoriaMetrics single-node and Grafana Mimir (one process,
# `-target=all`); and upstream Prometheus 2.43.1 for the agents of the Thanos and Mimir proofs, because
# Debian's Prometheus 2.42.0+ds (the other end-to-end tests' agents) parses remote_write `headers` but never
# sends them (measured), so per-cluster tenants (THANOS-TENANT, X-Scope-OrgID) cannot be proven with it.
#
#   scripts/install-receiver-tools.sh                 # build what is missing, print the bin folder
#   scripts/install-receiver-tools.sh --print-bin-dir # only print where the binaries are (or would be)
#
# Pins: Thanos in tools/receiver/thanos/go.mod + go.sum (a wrapper module: Thanos' go.mod has replace
# directives, so `go install github.com/thanos-io/thanos/cmd/thanos@v` is refused; the wrapper copies that
# replace block), VictoriaMetrics in vm_version below (its go.mod has no replace, so `go install` works and
# the checksum database verifies it), Prometheus in tools/receiver/prometheus/go.mod + go.sum (a wrapper
# module for the same reason as Thanos: Prometheus' go.mod has replace directives), Mimir in
# tools/receiver/mimir/go.mod + go.sum (likewise; its release tags `mimir-X.Y.Z` are not module versions,
# so the pin is a main-branch pseudo-version). The binaries go to .tools/receiver/<hash of the pins>/bin, so a
# second run with the same pins builds nothing and a bump builds into a new folder.
# Needs Go 1.25.9+ (GOTOOLCHAIN=local) and the Go module proxy. A cold build takes about 5 minutes on 2
# cores without Mimir; Mimir adds about 6 CPU minutes (22 minutes wall-clock on a loaded 2-core machine).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
thanos_module_dir="$repo_root/tools/receiver/thanos"
prometheus_module_dir="$repo_root/tools/receiver/prometheus"
mimir_module_dir="$repo_root/tools/receiver/mimir"
# The module version v0.43.1 is Prometheus 2.43.1; stamped into the binary (--version, User-Agent).
prometheus_version=2.43.1
# Thanos' own release build tags (.promu.yml): its zero-copy label conversion needs Prometheus' slice labels;
# without slicelabels, thanos receive panics on its first write ("slice bounds out of range" in labels).
thanos_tags=netgo,slicelabels
vm_package=github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics
vm_version=v1.151.0

die() {
  echo "install-receiver-tools: error: $*" >&2
  exit 1
}

pins_hash() {
  {
    cat "$thanos_module_dir/go.mod" "$thanos_module_dir/go.sum"
    echo "thanos tags $thanos_tags $vm_package@$vm_version"
    cat "$prometheus_module_dir/go.mod" "$prometheus_module_dir/go.sum"
    echo "prometheus $prometheus_version"
    cat "$mimir_module_dir/go.mod" "$mimir_module_dir/go.sum"
  } |
    sha256sum | cut -c1-16
}

bin_dir="$repo_root/.tools/receiver/$(pins_hash)/bin"
if [[ "${1:-}" == "--print-bin-dir" ]]; then
  echo "$bin_dir"
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: $0 [--print-bin-dir]"

go_bin="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$go_bin" ]] || die "no Go toolchain (install Go 1.25 or later, or set GO=/path/to/go)"
export GOTOOLCHAIN=local
# One of Thanos' replace targets (github.com/thanos-community/grpc-go) is not in the checksum database;
# go.sum pins it.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/thanos-community"

# Builds into a temporary name and renames, so an interrupted build never leaves a half binary behind.
build() {
  local name="$1"
  shift
  [[ -x "$bin_dir/$name" ]] && return 0
  echo "install-receiver-tools: building $name" >&2
  local started=$SECONDS
  "$@" || die "building $name failed"
  mv "$bin_dir/.$name.tmp" "$bin_dir/$name"
  echo "install-receiver-tools: $name built in $((SECONDS - started))s" >&2
}

build_thanos() {
  (cd "$thanos_module_dir" &&
    GOFLAGS=-mod=readonly "$go_bin" build -trimpath -tags "$thanos_tags" -ldflags "-s -w" -o "$bin_dir/.thanos.tmp" \
      github.com/thanos-io/thanos/cmd/thanos)
}

# Without the builtinassets tag (its web UI assets are not in the module), which only the web UI needs.
build_prometheus() {
  (cd "$prometheus_module_dir" &&
    GOFLAGS=-mod=readonly "$go_bin" build -trimpath -tags netgo \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=$prometheus_version" \
      -o "$bin_dir/.prometheus.tmp" github.com/prometheus/prometheus/cmd/prometheus)
}

build_mimir() {
  (cd "$mimir_module_dir" &&
    GOFLAGS=-mod=readonly "$go_bin" build -trimpath -ldflags "-s -w" -o "$bin_dir/.mimir.tmp" \
      github.com/grafana/mimir/cmd/mimir)
}

build_victoria_metrics() {
  local gobin
  gobin="$(mktemp -d "$bin_dir/.gobin.XXXXXX")"
  GOBIN="$gobin" GOFLAGS= "$go_bin" install -trimpath -ldflags "-s -w" "$vm_package@$vm_version" &&
    mv "$gobin/victoria-metrics" "$bin_dir/.victoria-metrics.tmp"
  local status=$?
  rm -rf "$gobin"
  return $status
}

mkdir -p "$bin_dir"
build thanos build_thanos
build victoria-metrics build_victoria_metrics
build prometheus build_prometheus
build mimir build_mimir
echo "$bin_dir"
