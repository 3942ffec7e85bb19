#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into its own directory
# (never build/: other test runs load that one), for the JS suite under ASan:
#
#   scripts/build-asan.sh [outdir]        (default build-asan; prints the .node's path)
#   EVLOOP_ADDON=build-asan/evloop.node LD_PRELOAD=$(gcc -print-file-name=libasan.so) node ...
#
# The same sources and defines as binding.gyp (read from it, so the two cannot drift), compiled
# with g++ directly: node-gyp has no separate build directory, and the cmake-js build links
# libstdc++ statically, which the sanitizer runtime (it replaces operator new/delete) must not see.
# libuv, OpenSSL and zlib come from the node binary at load time, as for the real addon.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-asan}
mkdir -p "$out/obj"

node_inc=$(node -p "require('path').resolve(process.execPath, '../../include/node')")
[ -f "$node_inc/node_api.h" ] || node_inc=/usr/include/node
[ -f "$node_inc/uv.h" ] || { echo "build-asan: Node's headers (uv.h) not found in $node_inc" >&2; exit 1; }
naa_inc=$(node -p "require('node-addon-api').include_dir" | tr -d '"')
mapfile -t sources < <(node -e "
  const g = eval('(' + require('fs').readFileSync('binding.gyp', 'utf8') + ')');
  const t = g.targets.find((t) => t.target_name === 'evloop');
  console.log(t.sources.join('\n'));
  console.error(t.defines.join(' '));
" 2>"$out/defines.txt")
defines=()
for d in $(cat "$out/defines.txt"); do defines+=("-D$d"); done

flags=(-std=c++17 -fPIC -g -O1 -fno-omit-frame-pointer -fexceptions
       -fsanitize=address,undefined
       -Wall -Wextra -Wno-unused-parameter
       -I"$node_inc" -I"$naa_inc" -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=evloop "${defines[@]}")

objects=()
pids=()
jobs_max=2
for src in "${sources[@]}"; do
  obj="$out/obj/$(echo "$src" | tr '/' '_').o"
  objects+=("$obj")
  if [ "$obj" -nt "$src" ] && [ -z "$(find native -newer "$obj" -name '*.h' -print -quit)" ]; then continue; fi
  g++ "${flags[@]}" -c "$src" -o "$obj" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs_max" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
g++ -shared -fsanitize=address,undefined -o "$out/evloop.node" "${objects[@]}" -lpthread
echo "$out/evloop.node"
