// tasks.readFile / tasks.writeFile: fs.readFileSync(path) and fs.writeFileSync(path, data).
// The steps, sizes and errors follow Node 20's lib/fs.js. Every call goes through libuv's
// synchronous uv_fs_* (no loop, no callback), as Node's own fs binding does, so flags such as
// O_CLOEXEC, EINTR handling and error numbers are libuv's.
#include <sys/stat.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tasks.h"

#if !defined(S_IFMT) && defined(_S_IFMT)
#define S_IFMT _S_IFMT
#define S_IFREG _S_IFREG
#endif

namespace evloop::tasks {
namespace {

// Node's kIoMaxLength: readFileSync refuses larger regular files, writeSync larger lengths.
constexpr int64_t kIoMaxLength = 2147483647;
// readFileSync reads files whose size fstat does not tell in pieces of this size.
constexpr unsigned kUnknownSizeRead = 8192;

std::string error_name(int err) {
  char buf[80];
  uv_err_name_r(err, buf, sizeof(buf));
  return buf;
}

std::string error_text(int err) {
  char buf[256];
  uv_strerror_r(err, buf, sizeof(buf));
  return buf;
}

// Node's UVException: "<CODE>: <description>, <syscall>[ '<path>']".
bool fail(int err, const char* syscall, const std::string* path, Failure& failure) {
  failure = Failure{};
  failure.code = error_name(err);
  failure.errnum = err;
  failure.syscall = syscall;
  failure.message = failure.code + ": " + error_text(err) + ", " + syscall;
  if (path != nullptr) {
    failure.message += " '" + *path + "'";
    failure.path = *path;
    failure.has_path = true;
  }
  return false;
}

// Node's addNumericalSeparator, used by ERR_OUT_OF_RANGE for integers above 2 ** 32.
std::string with_separators(const std::string& digits) {
  std::string res;
  size_t i = digits.size();
  for (; i >= 4; i -= 3) res = "_" + digits.substr(i - 3, 3) + res;
  return digits.substr(0, i) + res;
}

// util.inspect of a string, as ERR_INVALID_ARG_VALUE quotes the value it got: single quotes
// unless the string holds one, control characters escaped. (Strings over 10,000 characters,
// which inspect shortens, are shown whole.)
std::string inspect_string(const std::string& s) {
  char quote = '\'';
  if (s.find('\'') != std::string::npos) {
    if (s.find('"') == std::string::npos) {
      quote = '"';
    } else if (s.find('`') == std::string::npos && s.find("${") == std::string::npos) {
      quote = '`';
    }
  }
  static const char* const kNamed[] = {"\\b", "\\t", "\\n", "\\x0B", "\\f", "\\r"};
  std::string out(1, quote);
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    unsigned next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    char buf[8];
    if (c >= 8 && c <= 13) {
      out += kNamed[c - 8];
    } else if (c < 0x20 || c == 0x7f) {
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {  // U+0080..U+009F in UTF-8
      std::snprintf(buf, sizeof(buf), "\\x%02X", next);
      out += buf;
      ++i;
    } else if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + quote;
}

// A path with a NUL byte would silently name another file; Node refuses it before any call.
bool has_nul(const std::string& path, Failure& failure) {
  if (path.find('\0') == std::string::npos) return false;
  failure = Failure{};
  failure.name = "TypeError";
  failure.code = "ERR_INVALID_ARG_VALUE";
  failure.message =
      "The argument 'path' must be a string, Uint8Array, or URL without null bytes. Received " +
      inspect_string(path);
  return true;
}

int open_file(const std::string& path, int flags, int mode) {
  uv_fs_t req;
  int fd = uv_fs_open(nullptr, &req, path.c_str(), flags, mode, nullptr);
  uv_fs_req_cleanup(&req);
  return fd;
}

int close_file(uv_file fd) {
  uv_fs_t req;
  int rc = uv_fs_close(nullptr, &req, fd, nullptr);
  uv_fs_req_cleanup(&req);
  return rc;
}

// fstat's size when the file is a regular one, else 0 (size unknown), as readFileSync decides.
int regular_size(uv_file fd, int64_t& size) {
  uv_fs_t req;
  int rc = uv_fs_fstat(nullptr, &req, fd, nullptr);
  size = 0;
  if (rc == 0 && (req.statbuf.st_mode & S_IFMT) == S_IFREG) {
    size = static_cast<int64_t>(req.statbuf.st_size);
  }
  uv_fs_req_cleanup(&req);
  return rc;
}

// One read(2) at the current position: bytes read, 0 at the end, or a negative libuv error.
ssize_t read_some(uv_file fd, uint8_t* dest, unsigned length) {
  uv_fs_t req;
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(dest), length);
  ssize_t n = uv_fs_read(nullptr, &req, fd, &buf, 1, -1, nullptr);
  uv_fs_req_cleanup(&req);
  return n;
}

ssize_t write_some(uv_file fd, const uint8_t* src, unsigned length) {
  uv_fs_t req;
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(src)), length);
  ssize_t n = uv_fs_write(nullptr, &req, fd, &buf, 1, -1, nullptr);
  uv_fs_req_cleanup(&req);
  return n;
}

// A regular file: one buffer of fstat's size, read until it is full or the file ends early.
// Bytes the file gained meanwhile are not read, as in Node.
ssize_t read_known_size(uv_file fd, int64_t size, Bytes& out) {
  out.resize(static_cast<size_t>(size));
  size_t pos = 0;
  while (pos < out.size()) {
    ssize_t n = read_some(fd, out.data() + pos, static_cast<unsigned>(out.size() - pos));
    if (n < 0) return n;
    if (n == 0) break;
    pos += static_cast<size_t>(n);
  }
  out.resize(pos);
  return 0;
}

// Anything else (pipes, /proc files, empty regular files): 8 KiB reads until read returns 0.
// Like Node, a source that never ends (/dev/zero) is read until memory runs out.
ssize_t read_to_end(uv_file fd, Bytes& out) {
  size_t pos = 0;
  for (;;) {
    out.resize(pos + kUnknownSizeRead);
    ssize_t n = read_some(fd, out.data() + pos, kUnknownSizeRead);
    if (n <= 0) {
      out.resize(pos);
      return n;
    }
    pos += static_cast<size_t>(n);
  }
}

bool file_too_large(int64_t size, Failure& failure) {
  failure = Failure{};
  failure.name = "RangeError";
  failure.code = "ERR_FS_FILE_TOO_LARGE";
  failure.message = "File size (" + std::to_string(size) + ") is greater than 2 GiB";
  return false;
}

// What fs.writeSync says of a length above kIoMaxLength (validateInt32 of "length").
bool length_out_of_range(size_t size, Failure& failure) {
  std::string received = std::to_string(size);
  if (size > (uint64_t{1} << 32)) received = with_separators(received);
  failure = Failure{};
  failure.name = "RangeError";
  failure.code = "ERR_OUT_OF_RANGE";
  failure.message = "The value of \"length\" is out of range. It must be >= 0 && <= " +
                    std::to_string(kIoMaxLength) + ". Received " + received;
  return false;
}

}  // namespace

bool read_file(const std::string& path, Bytes& out, Failure& failure) {
  out.clear();
  if (has_nul(path, failure)) return false;
  int fd = open_file(path, UV_FS_O_RDONLY, 0666);
  if (fd < 0) return fail(fd, "open", &path, failure);

  bool ok = true;
  int64_t size = 0;
  int rc = regular_size(fd, size);
  if (rc < 0) {
    ok = fail(rc, "fstat", nullptr, failure);
  } else if (size > kIoMaxLength) {
    ok = file_too_large(size, failure);
  } else {
    ssize_t n = size > 0 ? read_known_size(fd, size, out) : read_to_end(fd, out);
    if (n < 0) ok = fail(static_cast<int>(n), "read", nullptr, failure);
  }
  // readFileSync closes in `finally` blocks too: a failing close is the error that surfaces.
  rc = close_file(fd);
  if (rc < 0) ok = fail(rc, "close", nullptr, failure);
  if (!ok) out.clear();
  return ok;
}

bool write_file(const std::string& path, const uint8_t* data, size_t size, Failure& failure) {
  if (has_nul(path, failure)) return false;
  // Flag 'w' and mode 0o666 (the umask applies), as writeFileSync's defaults.
  int fd = open_file(path, UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC, 0666);
  if (fd < 0) return fail(fd, "open", &path, failure);

  // Node checks the length only once the file is open, so the file is truncated either way.
  bool ok = true;
  if (size > static_cast<uint64_t>(kIoMaxLength)) {
    ok = length_out_of_range(size, failure);
  } else {
    size_t offset = 0;
    while (offset < size) {
      ssize_t n = write_some(fd, data + offset, static_cast<unsigned>(size - offset));
      if (n < 0) {
        ok = fail(static_cast<int>(n), "write", nullptr, failure);
        break;
      }
      offset += static_cast<size_t>(n);
    }
  }
  // writeFileSync closes in a `finally`: a failing close is the error that surfaces.
  int rc = close_file(fd);
  if (rc < 0) return fail(rc, "close", nullptr, failure);
  return ok;
}

}  // namespace evloop::tasks
