#!/usr/bin/env bash
# Rebuilds the addon and dist/ under a lock, so parallel builds and test runs do not collide.
set -euo pipefail
cd "$(dirname "$0")/.."
exec flock /tmp/evloop-build.lock bash -c 'npx node-gyp build -j 2 >/tmp/evloop-gyp.log 2>&1 || { tail -40 /tmp/evloop-gyp.log; exit 1; }; node scripts/build-ts.js'
