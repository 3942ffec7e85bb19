#!/usr/bin/env bash
# The native core's own C++ tests (loop, inbox, pool, tasks), plain build, run by ctest.
#   scripts/test-native.sh            (npm run test:native)
# Builds in build-native/ (gitignored). Needs cmake, pkg-config, libuv1-dev, libssl-dev, zlib1g-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitize/common.sh
need_tools cmake pkg-config
dir=${EVLOOP_NATIVE_BUILD_DIR:-build-native}
mkdir -p "$dir"
cmake -S native -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DEVLOOP_SANITIZE= >"$dir/configure.log" 2>&1 ||
  { cat "$dir/configure.log"; exit 1; }
cmake --build "$dir" -j2
ctest --test-dir "$dir" --output-on-failure --timeout 300
