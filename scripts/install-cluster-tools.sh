#!/usr/bin/env bash
# Build the control plane the rollout tests run (test/rollout-*.test.ts): kube-apiserver and kubectl,
# kapp-controller with the kapp and vendir it runs, and the Flux source and kustomize controllers.
#
#   scripts/install-cluster-tools.sh                 # build what is missing, print the bin folder
#   scripts/install-cluster-tools.sh --print-bin-dir # only print where the binaries are (or would be)
#
# Beside bin/, crds/ holds the Flux controllers' CRDs, copied from the modules they were built from.
#
# Every version is pinned in tools/cluster/<group>/go.mod + go.sum (one wrapper module per binary group:
# their dependency graphs conflict when merged) and in the link flags below. The binaries go to
# .tools/cluster/<hash of the pins>/bin, so a second run with the same pins builds nothing, and a bump
# (cd tools/cluster/<group> && go get <module>@<version> && go mod tidy) builds into a new folder.
# etcd is Debian's etcd-server package (apt-get install etcd-server), ytt the one install-tools.sh builds.
# Needs Go (GOTOOLCHAIN=local; Flux v1.9 needs Go 1.26) and the Go module proxy; a cold build took
# 14.5 minutes on 2 idle cores (1,561 CPU-s; measured 2026-11-26).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
modules_dir="$repo_root/tools/cluster"
k8s_version=v1.34.3

# group:main package:binary name
targets=(
  "kube:k8s.io/kubernetes/cmd/kube-apiserver:kube-apiserver"
  "kube:k8s.io/kubernetes/cmd/kubectl:kubectl"
  "kapp-controller:carvel.dev/kapp-controller/cmd/controller:kapp-controller"
  "kapp:carvel.dev/kapp/cmd/kapp:kapp"
  "vendir:carvel.dev/vendir/cmd/vendir:vendir"
  "flux-source:github.com/fluxcd/source-controller:source-controller"
  "flux-kustomize:github.com/fluxcd/kustomize-controller:kustomize-controller"
)

die() {
  echo "install-cluster-tools: error: $*" >&2
  exit 1
}

# Without these the API server reports v0.0.0-master+$Format:%H$ and kapp-controller's aggregated API
# refuses to start.
kube_ldflags() {
  local major minor v
  v="${k8s_version#v}"
  major="${v%%.*}"
  minor="${v#*.}"
  minor="${minor%%.*}"
  local x
  for x in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf -- '-X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s ' \
      "$x" "$k8s_version" "$x" "$major" "$x" "$minor"
  done
}

# What decides the binaries: the targets, the link flags and every wrapper module's go.mod and go.sum.
pins_hash() {
  {
    printf '%s\n' "${targets[@]}" "$(kube_ldflags)"
    find "$modules_dir" -name 'go.mod' -o -name 'go.sum' | LC_ALL=C sort | xargs cat
  } | sha256sum | cut -c1-16
}

bin_dir="$repo_root/.tools/cluster/$(pins_hash)/bin"
if [[ "${1:-}" == "--print-bin-dir" ]]; then
  echo "$bin_dir"
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: $0 [--print-bin-dir]"

go_bin="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$go_bin" ]] || die "no Go toolchain (install Go 1.26, or set GO=/path/to/go)"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly
# kapp-controller and vendir publish versions the checksum database does not list; go.sum pins them.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}carvel.dev"

mkdir -p "$bin_dir"
for target in "${targets[@]}"; do
  IFS=: read -r group pkg name <<<"$target"
  [[ -x "$bin_dir/$name" ]] && continue
  ldflags="-s -w"
  [[ "$group" == kube ]] && ldflags+=" $(kube_ldflags)"
  echo "install-cluster-tools: building $name ($group)" >&2
  started=$SECONDS
  (cd "$modules_dir/$group" && "$go_bin" build -trimpath -ldflags "$ldflags" -o "$bin_dir/.$name.tmp" "$pkg") ||
    die "building $name failed"
  mv "$bin_dir/.$name.tmp" "$bin_dir/$name"
  echo "install-cluster-tools: $name built in $((SECONDS - started))s" >&2
done
# The Flux controllers watch every kind of their group, so every CRD of both must be served, not only
# the two test/fixtures/crds holds: copy them from the very modules the binaries were built from.
crd_dir="$(dirname "$bin_dir")/crds"
if [[ ! -d "$crd_dir" ]]; then
  rm -rf "$crd_dir.tmp" && mkdir -p "$crd_dir.tmp"
  for group_module in flux-source:github.com/fluxcd/source-controller flux-kustomize:github.com/fluxcd/kustomize-controller; do
    IFS=: read -r group module <<<"$group_module"
    module_dir="$(cd "$modules_dir/$group" && "$go_bin" list -m -f '{{.Dir}}' "$module")"
    cp "$module_dir"/config/crd/bases/*.yaml "$crd_dir.tmp/"
  done
  chmod -R u+w "$crd_dir.tmp"
  mv "$crd_dir.tmp" "$crd_dir"
fi
echo "$bin_dir"
