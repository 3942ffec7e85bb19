#!/usr/bin/env bash
# What a Linux prebuild needs from the system it is loaded on:
#
#   scripts/prebuild-check.sh [--max-glibc 2.31] FILE.node...
#
# prints, per file, the shared libraries it needs and the newest GLIBC_/GLIBCXX_/CXXABI_/GCC_
# symbol versions it refers to; fails when it needs the system's libstdc++ or libgcc_s (the
# prebuilds link them statically), or a glibc newer than --max-glibc.
set -euo pipefail
max=""
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --max-glibc) max="$2"; shift ;;
    --max-glibc=*) max="${1#*=}" ;;
    *) files+=("$1") ;;
  esac
  shift
done
[ ${#files[@]} -gt 0 ] || { echo "usage: $0 [--max-glibc X.Y] FILE.node..." >&2; exit 2; }

newest() { { grep -oE "$1_[0-9]+(\.[0-9]+)*" || true; } | sed "s/^$1_//" | sort -uV | tail -1; }
status=0
for f in "${files[@]}"; do
  # readelf reads any ELF whatever its machine (the aarch64 one included).
  needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  syms=$(readelf --dyn-syms -W "$f" | awk '$7 == "UND" {print $8}')
  glibc=$(newest GLIBC <<<"$syms")
  glibcxx=$(newest GLIBCXX <<<"$syms")
  cxxabi=$(newest CXXABI <<<"$syms")
  gcc=$(newest GCC <<<"$syms")
  machine=$(readelf -h "$f" | sed -n 's/ *Machine: *//p')
  echo "prebuild-check: $f ($machine): needs ${needed% }; glibc >= ${glibc:-any}${glibcxx:+, GLIBCXX_$glibcxx}${cxxabi:+, CXXABI_$cxxabi}${gcc:+, GCC_$gcc}"
  for lib in $needed; do
    case "$lib" in
      libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|ld-linux*.so.*|libc.musl-*.so.*|ld-musl-*.so.*) ;;
      *) echo "prebuild-check: $f needs $lib: only glibc may be needed (link libstdc++/libgcc statically)" >&2; status=1 ;;
    esac
  done
  if [ -n "$glibcxx$cxxabi" ]; then
    echo "prebuild-check: $f refers to the system's libstdc++ (GLIBCXX_$glibcxx CXXABI_$cxxabi)" >&2; status=1
  fi
  if [ -n "$max" ] && [ -n "$glibc" ] && [ "$(printf '%s\n%s\n' "$glibc" "$max" | sort -V | tail -1)" != "$max" ]; then
    echo "prebuild-check: $f needs glibc $glibc, newer than the floor $max:" >&2
    grep -E "@GLIBC_" <<<"$syms" | sort -u | while IFS= read -r s; do
      v=${s##*@GLIBC_}
      [ "$(printf '%s\n%s\n' "$v" "$max" | sort -V | tail -1)" = "$max" ] || echo "  $s"
    done >&2
    status=1
  fi
done
exit $status
