#!/usr/bin/env bash
# The memory and thread checkers (npm run test:sanitize):
#
#   asan      the core's C++ tests (ctest) built with AddressSanitizer + UndefinedBehaviorSanitizer,
#             LeakSanitizer on                                               (build-asan-native/)
#   tsan      the same tests under ThreadSanitizer                           (build-tsan-native/)
#   js-asan   the addon built with ASan+UBSan (scripts/build-asan.sh, build-asan/), loaded by Node
#             with the sanitizer runtime preloaded, running scripts/sanitize/workload.js and a
#             subset of the JS suite; any sanitizer report from any process fails the stage
#   valgrind  Node running scripts/sanitize/workload.js under valgrind memcheck with the normal
#             addon: no invalid access, no definite leak (suppressions: Node/V8 internals only,
#             scripts/sanitize/valgrind.supp, each with its reason)
#
#   scripts/test-sanitize.sh [stage ...]         (default: all four, in that order)
#   EVLOOP_JS_ASAN_FILES="test/x.test.ts ..."    overrides the JS subset of js-asan
#
# No sanitizer suppression file is used: the ctest runs must be clean as they are.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitize/common.sh

stages=("$@")
[ "${#stages[@]}" -eq 0 ] && stages=(asan tsan js-asan valgrind)

# The JS suite's files that exercise the addon (loops, timers, descriptors, signals, posts, the C
# API, pools and tasks, run(), safety, leaks), and this issue's own. Excluded: package.test.ts
# (packs and installs the package: no addon code of its own), validation.test.ts and
# smoke.test.ts (argument checks in TypeScript, covered by fuzz.test.ts here), starvation.test.ts
# (timing comparisons against libuv's pool, meaningless at ASan's speed).
JS_ASAN_FILES=${EVLOOP_JS_ASAN_FILES:-"test/loop.test.ts test/timers.test.ts test/watchers.test.ts test/signals.test.ts
  test/messages.test.ts test/c-api.test.ts test/executor.test.ts test/js-tasks.test.ts test/native-tasks.test.ts
  test/shared-pool.test.ts test/futures.test.ts test/tasks.test.ts test/waiting.test.ts test/run.test.ts
  test/safety.test.ts test/leaks.test.ts test/leak-check.test.ts test/fault-matrix.test.ts test/fuzz.test.ts"}

passed=0
failed=0
results=()

run_stage() {
  local name=$1 start=$SECONDS
  echo
  echo "==== sanitize: $name ===="
  if "stage_${name//-/_}"; then
    passed=$((passed + 1))
    results+=("ok      $name ($((SECONDS - start)) s)")
  else
    failed=$((failed + 1))
    results+=("FAILED  $name ($((SECONDS - start)) s)")
  fi
}

# ctest of the core built with EVLOOP_SANITIZE=$1 in $2. The sanitizer options are set per test
# by native/CMakeLists.txt (reports abort the test; LeakSanitizer on under ASan).
ctest_build() {
  local sanitize=$1 dir=$2
  need_tools cmake pkg-config
  mkdir -p "$dir"
  cmake -S native -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DEVLOOP_SANITIZE="$sanitize" >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log"; return 1; }
  cmake --build "$dir" -j2 >"$dir/build.log" 2>&1 || { tail -60 "$dir/build.log"; return 1; }
}

stage_asan() {
  ctest_build address build-asan-native || return 1
  ctest --test-dir build-asan-native --output-on-failure --timeout 600
}

stage_tsan() {
  ctest_build thread build-tsan-native || return 1
  # gcc 12's TSan cannot place its shadow memory when the kernel randomizes mmap with 32 bits
  # of entropy (newer kernels): "unexpected memory mapping". setarch -R turns address-space
  # randomization off for this run only; elsewhere it changes nothing.
  local wrap=()
  if setarch "$(uname -m)" -R true 2>/dev/null; then wrap=(setarch "$(uname -m)" -R); fi
  "${wrap[@]}" ctest --test-dir build-tsan-native --output-on-failure --timeout 900
}

# Fails when a sanitizer wrote a report into $1 (log_path files, one per reporting process).
check_reports() {
  local dir=$1 bad=0 f
  for f in "$dir"/*; do
    [ -e "$f" ] || continue
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)' "$f"; then
      echo "---- sanitizer report: $f"
      head -80 "$f"
      bad=1
    else
      echo "(sanitizer note, not an error: $f)"
      head -5 "$f"
    fi
  done
  return $bad
}

stage_js_asan() {
  local addon logs status=0
  addon=$(scripts/build-asan.sh build-asan | tail -1) || return 1
  [ -f dist/cjs/index.js ] || node scripts/build-ts.js || return 1
  logs=$PWD/build-asan/logs
  rm -rf "$logs" && mkdir -p "$logs"
  (
    export EVLOOP_ADDON=$PWD/$addon
    # The runtime must be loaded before anything else: node itself is not instrumented.
    export LD_PRELOAD=$(gcc -print-file-name=libasan.so)
    # detect_leaks=0: Node and V8 do not free their isolates, heaps and platform threads at exit
    # (by design: the process is ending), so LeakSanitizer would report all of that. evloop's own
    # leaks are caught by the asan stage (LeakSanitizer on, no Node) and by valgrind (definite).
    # allow_user_segv_handler: V8 installs its own SIGSEGV handler (WebAssembly trap handling).
    # log_path: children and pool threads of every test process report into files checked below.
    export ASAN_OPTIONS="detect_leaks=0:allow_user_segv_handler=1:abort_on_error=0:log_path=$logs/asan"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$logs/ubsan"
    echo "addon: $EVLOOP_ADDON"
    node --expose-gc scripts/sanitize/workload.js || exit 1
    # shellcheck disable=SC2086
    npx vitest run $JS_ASAN_FILES
  ) || status=1
  check_reports "$logs" || status=1
  return $status
}

stage_valgrind() {
  if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind is not installed (apt-get install -y valgrind)"
    return 1
  fi
  [ -f dist/cjs/index.js ] || node scripts/build-ts.js || return 1
  local dir=build-valgrind status=0
  rm -rf "$dir" && mkdir -p "$dir"
  # --smc-check: V8 writes machine code at run time into anonymous memory.
  # --soname-synonyms: the addon links libstdc++ statically (binding.gyp), so its operator
  # new/delete are copies inside evloop.node that valgrind would not replace; memory that Node's
  # (replaced) operator new allocated for a std::vector the addon frees with its own delete then
  # shows as "Mismatched free() / delete" although both end in glibc's malloc/free. Replacing the
  # allocation functions in evloop.node too pairs them again.
  env -u EVLOOP_ADDON -u LD_PRELOAD valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=40 \
    --smc-check=all-non-file --suppressions=scripts/sanitize/valgrind.supp \
    --soname-synonyms='somalloc=*evloop.node*' \
    --log-file="$dir/memcheck.%p.log" node --expose-gc scripts/sanitize/workload.js || status=1
  local log
  for log in "$dir"/memcheck.*.log; do
    # (a log without a summary is a forked child that exec'd a tool, e.g. mkfifo)
    grep -E 'ERROR SUMMARY|definitely lost' "$log" || continue
    if [ $status -ne 0 ]; then head -150 "$log"; fi
  done
  return $status
}

for stage in "${stages[@]}"; do
  case $stage in
    asan | tsan | js-asan | valgrind) run_stage "$stage" ;;
    *) echo "unknown stage: $stage (asan, tsan, js-asan, valgrind)" >&2; exit 2 ;;
  esac
done

echo
echo "==== sanitize: summary ===="
printf '%s\n' "${results[@]}"
echo "sanitize: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
