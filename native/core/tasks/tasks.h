// Built-in native tasks: plain functions that run on a pool thread with no JavaScript.
// Each mirrors one Node.js call, byte for byte, and reports failure as Node would.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace evloop::tasks {

using Bytes = std::vector<uint8_t>;

// A failure described the way Node's error objects describe it.
struct Failure {
  std::string code;     // 'ENOENT', 'ENOTFOUND', 'Z_DATA_ERROR', ...
  std::string message;  // the whole message, as Node writes it
  int errnum = 0;       // Node's `errno` property (negative libuv / zlib number)
  std::string syscall;  // '' when Node sets none
  std::string path;     // fs errors
  std::string hostname; // dns errors
  std::string name = "Error";  // the error's class: "Error", "RangeError" or "TypeError"
  bool has_path = false;       // Node sets `path`, even to '' (readFileSync('') fails so)
};

struct Address {
  std::string address;
  int family;  // 4 or 6
};

// Each returns true on success and fills `out`, else fills `failure`.
void sleep_ms(double ms);
bool read_file(const std::string& path, Bytes& out, Failure& failure);
bool write_file(const std::string& path, const uint8_t* data, size_t size, Failure& failure);
// `algorithm` was checked with digest_supported() at submit.
bool digest_supported(const std::string& algorithm);
bool digest(const std::string& algorithm, const uint8_t* data, size_t size, Bytes& out, Failure& failure);
// level: -1 (default) or 0..9, as zlib.gzipSync's `level`.
bool gzip(const uint8_t* data, size_t size, int level, Bytes& out, Failure& failure);
bool gunzip(const uint8_t* data, size_t size, Bytes& out, Failure& failure);
// Node's default zlib maxOutputLength (buffer.kMaxLength on 64-bit Node 20): more output fails
// with RangeError ERR_BUFFER_TOO_LARGE. The *_with_limit forms take zlib's maxOutputLength option.
constexpr uint64_t kZlibMaxOutput = uint64_t{1} << 32;
bool gzip_with_limit(const uint8_t* data, size_t size, int level, uint64_t max_output, Bytes& out,
                     Failure& failure);
bool gunzip_with_limit(const uint8_t* data, size_t size, uint64_t max_output, Bytes& out,
                       Failure& failure);
// family: 0, 4 or 6, as dns.lookup(hostname, { all: true, family }).
bool lookup(const std::string& hostname, int family, std::vector<Address>& out, Failure& failure);

}  // namespace evloop::tasks
