#!/usr/bin/env bash
# Builds the Node-API prebuild of the addon with prebuildify, for this machine or cross-compiled:
#
#   scripts/prebuild.sh [x64|arm64|native] [--out DIR]     (npm run prebuild / prebuild:arm64)
#
# writes DIR/prebuilds/<platform>-<arch>/evloop[.glibc|.musl].node (DIR defaults to the package
# root), which node-gyp-build loads when no build/ fits. One prebuild serves every Node version
# with Node-API 8 (the addon is built with NAPI_VERSION=8).
#
# The build runs in a scratch copy of binding.gyp + native/, never in the package's own build/
# (node-gyp rebuild would wipe it under the feet of running tests).
#
# arm64 on an x64 Linux host is a cross build with Debian's aarch64-linux-gnu toolchain
# (apt-get install g++-aarch64-linux-gnu); set PREBUILD_INSTALL_TOOLS=1 to have it installed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

arch=native
out="$root"
while [ $# -gt 0 ]; do
  case "$1" in
    x64|arm64|ia32|arm|native) arch="$1" ;;
    --out) out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift ;;
    --out=*) out="$(mkdir -p "${1#--out=}" && cd "${1#--out=}" && pwd)" ;;
    *) echo "usage: $0 [x64|arm64|native] [--out DIR]" >&2; exit 2 ;;
  esac
  shift
done
host_arch="$(node -p process.arch)"
[ "$arch" = native ] && arch="$host_arch"

# Headers: the machine's own when they match this node (node-gyp would download them otherwise;
# the headers are the same for every architecture). An explicit npm_config_nodedir wins.
if [ -z "${npm_config_nodedir:-}" ]; then
  h=/usr/include/node/node_version.h
  if [ -f "$h" ]; then
    v=$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION/ {printf "%s.", $3}' "$h")
    if [ "v${v%.}" = "$(node -v)" ]; then export npm_config_nodedir=/usr; fi
  fi
fi

if [ "$arch" != "$host_arch" ]; then
  if [ "$(uname -s)" != Linux ] || [ "$host_arch" != x64 ] || [ "$arch" != arm64 ]; then
    echo "prebuild.sh: only linux x64 -> arm64 cross builds are scripted (asked: $host_arch -> $arch)" >&2
    exit 2
  fi
  triple=aarch64-linux-gnu
  if ! command -v "$triple-g++" >/dev/null; then
    if [ "${PREBUILD_INSTALL_TOOLS:-0}" = 1 ]; then
      echo "prebuild.sh: installing the $triple cross toolchain" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "g++-$triple" >/dev/null
    else
      echo "prebuild.sh: $triple-g++ not found (apt-get install g++-$triple, or PREBUILD_INSTALL_TOOLS=1)" >&2
      exit 3
    fi
  fi
  # Every tool gyp's Makefile may call is the cross one, so nothing of the host (x86 libstdc++,
  # crt files) can reach the link. The host tools stay for gyp's own host-side steps.
  export CC="$triple-gcc" CXX="$triple-g++" LINK="$triple-g++" AR="$triple-ar"
  export CC_target="$CC" CXX_target="$CXX" LINK_target="$LINK" AR_target="$AR"
  export CC_host=gcc CXX_host=g++ LINK_host=g++ AR_host=ar
  export PREBUILD_STRIP_BIN="$triple-strip"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/evloop-prebuild.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$root/package.json" "$root/binding.gyp" "$work/"
cp -r "$root/native" "$work/native"
rm -rf "$work/native/test"
# node-addon-api (binding.gyp asks node for its include dir) and the node-gyp that prebuildify runs.
ln -s "$root/node_modules" "$work/node_modules"

jobs="${JOBS:-$(node -p 'require("os").availableParallelism?.() ?? require("os").cpus().length')}"
export JOBS="$jobs"
start=$(date +%s)
if ! (cd "$work" && node "$root/node_modules/prebuildify/bin.js" --napi --strip --tag-libc --arch "$arch" --out "$out") \
  >"$work/build.log" 2>&1; then
  tail -60 "$work/build.log" >&2
  echo "prebuild.sh: the $arch prebuild failed" >&2
  exit 1
fi
built=$(find "$out/prebuilds" -path "*-$arch/*.node" -newer "$work/package.json" | head -1)
[ -n "$built" ] || { tail -20 "$work/build.log" >&2; echo "prebuild.sh: no $arch prebuild was written" >&2; exit 1; }
echo "prebuild.sh: $built ($(wc -c <"$built") bytes, $(( $(date +%s) - start )) s)"
