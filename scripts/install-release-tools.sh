#!/usr/bin/env bash
# Installs promfleet's tools from their official release files, each pinned by sha256 in
# tools/releases.json, into the runner's tool cache, and links them into a promfleet tools folder.
# Used by scripts/action-install.sh (the GitHub Actions); scripts/install-tools.sh (Go) is the fallback.
#
#   install-release-tools.sh has <tool>                     # exit 0: the manifest has <tool> for this platform
#   install-release-tools.sh install <tools-dir> <tool>...  # install, link into <tools-dir>/bin
#
# The cache has the layout actions/tool-cache uses: $RUNNER_TOOL_CACHE/<tool>/<version>/<arch>/ holds
# the binaries (arch: x64 or arm64), and <arch>.complete beside it marks a finished install; here the
# marker also holds the binaries' sha256 (sha256sum format), checked whenever the cache is reused. A
# tool whose marker checks out is reused without a download.
#
# Each download is checked against the pinned sha256 BEFORE anything is extracted: a mismatch stops
# with the tool, the expected and the actual sha256, and leaves nothing in the cache. Only the listed
# binaries are taken out of an archive. <tools-dir>/bin/<binary> becomes a link to the cached binary
# and <tools-dir>/sha256/<binary> its sha256 record, which promfleet checks before running it.
#
# Environment: RUNNER_TOOL_CACHE (the runner sets it), PROMFLEET_TOOL_RELEASES (another manifest, e.g. a
# test's), PROMFLEET_TOOL_ARCH (amd64 or arm64 instead of what uname -m says).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="${PROMFLEET_TOOL_RELEASES:-$root/tools/releases.json}"

die() {
  echo "install-release-tools: error: $*" >&2
  exit 1
}

# go_arch: amd64 or arm64 (the release files' name), from PROMFLEET_TOOL_ARCH or uname -m.
go_arch() {
  case "${PROMFLEET_TOOL_ARCH:-$(uname -m)}" in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) echo unsupported ;;
  esac
}

platform="$(uname -s | tr '[:upper:]' '[:lower:]')-$(go_arch)"
tmp="" # the current download's scratch folder, removed however the script ends
trap 'rm -rf "$tmp"' EXIT

# entry <tool>: "<version> <url> <sha256> <format>", then one "<binary> <path in archive>" line per
# binary; exit 1 when the manifest has no entry for this platform, 2 (with a message) when it is malformed.
entry() {
  node -e '
    const [file, tool, platform] = process.argv.slice(1);
    const fail = (why) => { console.error(`install-release-tools: error: ${file}: tools.${tool}.platforms.${platform}: ${why}`); process.exit(2); };
    const t = JSON.parse(require("node:fs").readFileSync(file, "utf8")).tools?.[tool];
    const p = t?.platforms?.[platform];
    if (!p) process.exit(1);
    if (!/^[0-9a-f]{64}$/.test(p.sha256 ?? "")) fail("sha256 must be 64 lowercase hex digits");
    if (!["tar.gz", "zip", "binary"].includes(p.format)) fail("format must be tar.gz, zip or binary");
    const files = Object.entries(p.files ?? {});
    if (files.length === 0 || files.some(([n, m]) => !/^[\w.-]+$/.test(n) || /\s/.test(m)))
      fail("files must map plain binary names to paths without spaces");
    console.log([t.version, p.url, p.sha256, p.format].join(" "));
    for (const [name, member] of files) console.log(`${name} ${member}`);
  ' "$manifest" "$1" "$platform"
}

# cache_arch: the tool cache's name for this architecture (Node's os.arch(), as actions/tool-cache).
cache_arch() { [[ "$(go_arch)" == amd64 ]] && echo x64 || echo arm64; }

# extract <format> <archive> <member> <output>: one file out of the verified download.
extract() {
  case "$1" in
    binary) cp -- "$2" "$4" ;;
    tar.gz) tar -xzOf "$2" -- "$3" >"$4" ;;
    zip) unzip -p "$2" "$3" >"$4" && [[ -s "$4" ]] ;;
  esac
}

# cached <dir> <binary>...: true when <dir>.complete records every binary and each still has that sha256.
cached() {
  local dir="$1" name
  shift
  [[ -f "$dir.complete" ]] || return 1
  for name in "$@"; do grep -qE "^[0-9a-f]{64}  $name\$" "$dir.complete" || return 1; done
  (cd "$dir" 2>/dev/null && sha256sum --quiet --status -c "$dir.complete")
}

# download_to_cache <tool> <version> <url> <sha256> <format> <dir> <binary:member>...
download_to_cache() {
  local tool="$1" version="$2" url="$3" want="$4" format="$5" dir="$6"
  shift 6
  local got pair
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/promfleet-$tool.XXXXXX")"
  echo "downloading $tool $version ($platform) from $url…"
  curl -fsSL --retry 3 --connect-timeout 30 -o "$tmp/download" "$url" ||
    die "$tool $version: downloading $url failed; nothing installed"
  got="$(sha256sum "$tmp/download" | cut -d' ' -f1)"
  [[ "$got" == "$want" ]] ||
    die "$tool $version ($platform): $url has sha256 $got, expected $want (pinned in $manifest); refusing it, nothing installed"
  mkdir "$tmp/bin"
  for pair in "$@"; do
    extract "$format" "$tmp/download" "${pair#*:}" "$tmp/bin/${pair%%:*}" ||
      die "$tool $version: $url has no ${pair#*:} (files in $manifest); nothing installed"
    chmod 0755 "$tmp/bin/${pair%%:*}"
  done
  (cd "$tmp/bin" && sha256sum -- *) >"$tmp/complete"
  rm -f "$dir.complete" # first: no moment with a marker over a partial folder
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv -T "$tmp/bin" "$dir"
  mv -f "$tmp/complete" "$dir.complete" # last: the marker says the folder is whole
  rm -rf "$tmp"
}

# link <tools-dir> <cache dir> <binary>: <tools-dir>/bin/<binary> -> the cached one, with its sha256 record.
link() {
  local tools_dir="$1" dir="$2" name="$3"
  mkdir -p "$tools_dir/bin" "$tools_dir/sha256"
  ln -sfn "$dir/$name" "$tools_dir/bin/.$name.tmp.$$"
  mv -Tf "$tools_dir/bin/.$name.tmp.$$" "$tools_dir/bin/$name"
  grep -E "^[0-9a-f]{64}  $name\$" "$dir.complete" >"$tools_dir/sha256/.$name.tmp.$$"
  mv -f "$tools_dir/sha256/.$name.tmp.$$" "$tools_dir/sha256/$name"
}

install_tool() {
  local tools_dir="$1" tool="$2" lines version url sha256 format dir name member
  local pairs=()
  local rc=0
  lines="$(entry "$tool")" || rc=$?
  ((rc != 1)) || die "$tool: no release file for $platform in $manifest"
  ((rc == 0)) || exit 2
  read -r version url sha256 format <<<"${lines%%$'\n'*}"
  while read -r name member; do pairs+=("$name:$member"); done <<<"$(tail -n +2 <<<"$lines")"
  dir="${RUNNER_TOOL_CACHE:?the runner sets RUNNER_TOOL_CACHE}/$tool/$version/$(cache_arch)"
  if ! cached "$dir" "${pairs[@]%%:*}"; then
    [[ ! -f "$dir.complete" ]] || echo "$tool $version: $dir no longer matches its $dir.complete; installing it again"
    download_to_cache "$tool" "$version" "$url" "$sha256" "$format" "$dir" "${pairs[@]}"
  fi
  for name in "${pairs[@]%%:*}"; do link "$tools_dir" "$dir" "$name"; done
  echo "$tool $version ok"
}

case "${1:-}" in
  has)
    [[ $# -eq 2 ]] || die "usage: $0 has <tool>"
    entry "$2" >/dev/null
    ;;
  install)
    [[ $# -ge 3 ]] || die "usage: $0 install <tools-dir> <tool>..."
    tools_dir="$2"
    shift 2
    for tool in "$@"; do install_tool "$tools_dir" "$tool"; done
    ;;
  *)
    echo "usage: $0 has <tool> | install <tools-dir> <tool>..." >&2
    exit 2
    ;;
esac
