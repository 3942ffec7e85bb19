# Shared by scripts/test-native.sh and scripts/test-sanitize.sh.

# Fails with the apt-get line to run when a tool or library the native builds need is missing.
need_tools() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if ! pkg-config --exists libuv 2>/dev/null; then missing+=(libuv1-dev); fi
  [ -f /usr/include/openssl/evp.h ] || missing+=(libssl-dev)
  [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
  if [ "${#missing[@]}" -ne 0 ]; then
    echo "missing: ${missing[*]}" >&2
    echo "install: apt-get install -y cmake pkg-config libuv1-dev libssl-dev zlib1g-dev valgrind" >&2
    exit 1
  fi
}

# Build against the machine's Node headers when they match this node (no header download).
use_local_node_headers() {
  local headers=/usr/include/node/node_version.h v
  if [ -f "$headers" ]; then
    v=$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION/ {printf "%s.", $3}' "$headers")
    if [ "v${v%.}" = "$(node -v)" ]; then export npm_config_nodedir=/usr; fi
  fi
}
