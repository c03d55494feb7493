#!/usr/bin/env bash
# Install the pinned external tools promfleet renders and checks with into
# <repo>/.tools/bin/, building them from source with the local Go toolchain.
#
#   scripts/install-tools.sh                 # all tools
#   scripts/install-tools.sh ytt promtool    # just these
#
# Tools: ytt promtool actionlint kustomize sops age (built with Go) and
# prometheus (Debian's package, /usr/bin/prometheus, used by the e2e tests).
#
# The versions are pinned in tools/<tool>/go.mod + go.sum (one small module per
# tool, so each tool is built with exactly the dependency versions its own
# release uses; the tools' dependency graphs conflict when merged). To bump a
# tool: cd tools/<tool> && go get -tool <package>@<version>, then rerun this.
#
# Each built binary's sha256 is recorded in .tools/sha256/<tool> (sha256sum
# format); promfleet checks it before running a tool from .tools/bin, so a
# binary replaced after the build is refused rather than trusted on its
# --version output. Check by hand: cd .tools/bin && sha256sum -c ../sha256/*
#
# Idempotent: a tool whose .tools/bin binary already reports the pinned
# version and matches its recorded sha256 is left alone; one that no longer
# matches is rebuilt. A binary from before checksums were recorded gets its
# sha256 recorded as it is. Needs Go (GOTOOLCHAIN=local: the go.mod "go" lines
# must be satisfied by the installed toolchain) and network access to the Go
# module proxy only; no GitHub downloads. Without Go, see docs/install-tools.md.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$repo_root/tools"
bin_dir="$repo_root/.tools/bin"
sum_dir="$repo_root/.tools/sha256"

all_tools=(ytt promtool actionlint kustomize sops age prometheus)

die() {
  echo "install-tools: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 [tool...]   (tools: ${all_tools[*]})"
}

# --- which tools ------------------------------------------------------------
selected=()
if [[ $# -eq 0 ]]; then
  selected=("${all_tools[@]}")
else
  for arg in "$@"; do
    case "$arg" in
      -h | --help)
        usage
        exit 0
        ;;
    esac
    known=no
    for t in "${all_tools[@]}"; do
      [[ "$arg" == "$t" ]] && known=yes
    done
    [[ $known == yes ]] || {
      usage >&2
      die "unknown tool '$arg'"
    }
    selected+=("$arg")
  done
fi

# --- helpers ----------------------------------------------------------------

# pinned_version <tool dir> <module path>: the module's version from go.mod.
pinned_version() {
  local mod_file="$tools_dir/$1/go.mod" v
  [[ -f "$mod_file" ]] || die "missing $mod_file"
  v="$(awk -v m="$2" '($1 == "require" && $2 == m) { print $3; exit } ($1 == m) { print $2; exit }' "$mod_file")"
  [[ -n "$v" ]] || die "$2 is not required in $mod_file"
  echo "$v"
}

go_bin=""
find_go() {
  [[ -n "$go_bin" ]] && return 0
  if [[ -n "${GO:-}" ]]; then
    go_bin="$GO"
  elif command -v go >/dev/null 2>&1; then
    go_bin="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then
    go_bin=/usr/local/go/bin/go
  else
    die "Go is not installed (looked for \$GO, 'go' on PATH, /usr/local/go/bin/go); install Go or see docs/install-tools.md for release binaries"
  fi
}

# go_build <tool dir> <package> <output name> <ldflags> [extra go build args...]
# Builds inside tools/<tool dir> so its go.mod/go.sum pin every dependency.
go_build() {
  local dir="$1" pkg="$2" out="$3" ldflags="$4"
  shift 4
  find_go
  mkdir -p "$bin_dir"
  local tmp="$bin_dir/.$out.tmp.$$"
  (
    cd "$tools_dir/$dir"
    # GOTOOLCHAIN=local: never download another Go toolchain.
    # -mod=readonly: build exactly what go.mod/go.sum pin (go.sum is verified).
    # -buildvcs=false: don't stamp the promfleet repo's git state into the tool.
    GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
      "$go_bin" build -trimpath -ldflags "$ldflags" "$@" -o "$tmp" "$pkg"
  ) || {
    rm -f "$tmp"
    die "building $out failed (see the go output above)"
  }
  mv -f "$tmp" "$bin_dir/$out"
  record_sha256 "$out"
}

# record_sha256 <binary name>: writes .tools/sha256/<name> ("<sha256>  <name>").
record_sha256() {
  local name="$1" tmp
  mkdir -p "$sum_dir"
  tmp="$sum_dir/.$name.tmp.$$"
  (cd "$bin_dir" && sha256sum -- "$name") >"$tmp" || {
    rm -f "$tmp"
    die "cannot record the sha256 of $bin_dir/$name"
  }
  mv -f "$tmp" "$sum_dir/$name"
}

# trusted <binary name>...: true when each binary matches its recorded sha256.
# A binary without a record (built before records existed) gets one now; one
# that no longer matches is reported, and the caller rebuilds it.
trusted() {
  local name
  for name in "$@"; do
    if [[ ! -f "$sum_dir/$name" ]]; then
      record_sha256 "$name"
      echo "$name: recorded the sha256 of the existing binary"
    elif ! (cd "$bin_dir" && sha256sum --quiet --status -c "$sum_dir/$name"); then
      echo "$name: $bin_dir/$name does not match its recorded sha256; rebuilding"
      return 1
    fi
  done
}

# first_line <cmd...>: first line of the command's combined output ('' on failure).
first_line() {
  local out
  out="$("$@" 2>&1)" || return 0
  printf '%s\n' "${out%%$'\n'*}"
}

build_date() { date -u +%Y%m%d-%H:%M:%S; }

# --- tools ------------------------------------------------------------------
# Each install_<tool> prints exactly one status line before any build output:
# "<tool> <version> ok" when already installed, "building <tool> <version>…"
# otherwise (followed by "<tool> <version> ok" once built and verified).

# verify <tool> <shown version> <expected first line (a glob)> <cmd...>
verify() {
  local tool="$1" shown="$2" want="$3"
  shift 3
  local got
  got="$(first_line "$@")"
  # shellcheck disable=SC2053 # $want is a glob on purpose
  [[ "$got" == $want ]] || die "$tool built but reports '$got', expected '$want'"
  echo "$tool $shown ok"
}

install_ytt() {
  local v plain want
  v="$(pinned_version ytt carvel.dev/ytt)"
  plain="${v#v}"
  want="ytt version $plain"
  if [[ "$(first_line "$bin_dir/ytt" version)" == "$want" ]] && trusted ytt; then
    echo "ytt $plain ok"
    return
  fi
  echo "building ytt $v…"
  go_build ytt carvel.dev/ytt/cmd/ytt ytt "-X carvel.dev/ytt/pkg/version.Version=$plain"
  verify ytt "$plain" "$want" "$bin_dir/ytt" version
}

install_promtool() {
  local v minor rest app want
  v="$(pinned_version promtool github.com/prometheus/prometheus)"
  # Prometheus' Go module versions map to releases: v0.43.1 = 2.43.1,
  # v0.316.0 = 3.16.0.
  IFS=. read -r _ minor rest <<<"${v#v}"
  if ((minor >= 300)); then app="3.$((minor - 300)).$rest"; else app="2.$minor.$rest"; fi
  want="promtool, version $app (*"
  # shellcheck disable=SC2053 # $want is a glob on purpose
  if [[ "$(first_line "$bin_dir/promtool" --version)" == $want ]] && trusted promtool; then
    echo "promtool $app ok"
    return
  fi
  echo "building promtool $v (Prometheus $app, takes a few minutes)…"
  local pv=github.com/prometheus/common/version
  # Same build tags and version variables as upstream's .promu.yml; the
  # revision is left to report 'unknown' (a module build has no git commit).
  go_build promtool github.com/prometheus/prometheus/cmd/promtool promtool \
    "-X $pv.Version=$app -X $pv.Branch=HEAD -X $pv.BuildUser=promfleet-install-tools -X $pv.BuildDate=$(build_date)" \
    -tags netgo,builtinassets
  verify promtool "$app" "$want" "$bin_dir/promtool" --version
}

install_actionlint() {
  local v plain
  v="$(pinned_version actionlint github.com/rhysd/actionlint)"
  plain="${v#v}"
  if [[ "$(first_line "$bin_dir/actionlint" -version)" == "$plain" ]] && trusted actionlint; then
    echo "actionlint $plain ok"
    return
  fi
  echo "building actionlint $v…"
  # upstream release builds set github.com/rhysd/actionlint.version={{.Version}}
  go_build actionlint github.com/rhysd/actionlint/cmd/actionlint actionlint \
    "-X github.com/rhysd/actionlint.version=$plain"
  verify actionlint "$plain" "$plain" "$bin_dir/actionlint" -version
}

install_kustomize() {
  local v
  v="$(pinned_version kustomize sigs.k8s.io/kustomize/kustomize/v5)"
  # kustomize reads its own version from the binary's module build info.
  if [[ "$(first_line "$bin_dir/kustomize" version)" == "$v" ]] && trusted kustomize; then
    echo "kustomize $v ok"
    return
  fi
  echo "building kustomize $v…"
  go_build kustomize sigs.k8s.io/kustomize/kustomize/v5 kustomize \
    "-X sigs.k8s.io/kustomize/api/provenance.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  verify kustomize "$v" "$v" "$bin_dir/kustomize" version
}

install_sops() {
  local v plain
  v="$(pinned_version sops github.com/getsops/sops/v3)"
  plain="${v#v}"
  # sops prints "sops <version>" and, when it can reach GitHub, a newer-version notice: match the start.
  if [[ "$(first_line "$bin_dir/sops" --disable-version-check --version)" == "sops $plain"* ]] && trusted sops; then
    echo "sops $plain ok"
    return
  fi
  echo "building sops $v…"
  go_build sops github.com/getsops/sops/v3/cmd/sops sops ""
  verify sops "$plain" "sops $plain*" "$bin_dir/sops" --disable-version-check --version
}

# age and age-keygen: the keys sops encrypts credentials to (the tests make throwaway ones).
install_age() {
  local v
  v="$(pinned_version age filippo.io/age)"
  if [[ "$(first_line "$bin_dir/age" --version)" == "$v" ]] && [[ -x "$bin_dir/age-keygen" ]] && trusted age age-keygen; then
    echo "age $v ok"
    return
  fi
  echo "building age $v…"
  go_build age filippo.io/age/cmd/age age "-X main.Version=$v"
  go_build age filippo.io/age/cmd/age-keygen age-keygen "-X main.Version=$v"
  verify age "$v" "$v" "$bin_dir/age" --version
}

# Debian's prometheus server (the e2e tests run /usr/bin/prometheus). Its own
# promtool (/usr/bin/promtool) lacks kubernetes_sd_configs support, which is
# why promtool is built above: keep .tools/bin first on PATH.
install_prometheus() {
  if [[ -x /usr/bin/prometheus ]]; then
    echo "prometheus $(/usr/bin/prometheus --version 2>&1 | awk 'NR == 1 { print $3 }') (debian, /usr/bin/prometheus) ok"
    return
  fi
  echo "installing prometheus (debian package)…"
  if [[ "$(id -u)" -ne 0 ]]; then
    die "/usr/bin/prometheus is missing and installing Debian's 'prometheus' package needs root: run 'sudo apt-get update && sudo apt-get install -y --no-install-recommends prometheus', or rerun this script as root"
  fi
  command -v apt-get >/dev/null 2>&1 || die "/usr/bin/prometheus is missing and apt-get is not available (not Debian?)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends prometheus || die "apt-get install prometheus failed"
  [[ -x /usr/bin/prometheus ]] || die "package 'prometheus' installed but /usr/bin/prometheus is missing"
  echo "prometheus $(/usr/bin/prometheus --version 2>&1 | awk 'NR == 1 { print $3 }') (debian, /usr/bin/prometheus) ok"
}

for tool in "${selected[@]}"; do
  "install_$tool"
done

echo
echo "Put the tools first on your PATH (before /usr/bin, whose promtool is Debian's):"
echo "  export PATH=\"$bin_dir:\$PATH\""
