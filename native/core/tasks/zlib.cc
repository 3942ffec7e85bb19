// tasks.gzip / tasks.gunzip: zlib.gzipSync(data, { level }) and zlib.gunzipSync(data).
// Output is byte-identical only if the zlib calls are too, so this replays Node 20's sequence:
// lib/zlib.js processChunkSync hands all input at once with Z_FINISH and fresh 16 KiB output
// windows until one is left unfilled; src/node_zlib.cc does one deflate (or inflate, plus the
// loop over further gzip members) per window and judges the result in CheckError. Stored
// blocks (level 0) are cut at window boundaries, so the window size matters.
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <string>

#include "tasks.h"

namespace evloop::tasks {
namespace {

constexpr size_t kWindow = 16 * 1024;  // zlib.constants.Z_DEFAULT_CHUNK
constexpr int kWindowBits = 15 + 16;   // Z_DEFAULT_WINDOWBITS, + 16 for the gzip wrapper
constexpr int kMemLevel = 8;           // Z_DEFAULT_MEMLEVEL

enum class Mode { kGzip, kGunzip };

bool fail(const char* name, const char* code, std::string message, int errnum, Failure& failure) {
  failure = Failure{};
  failure.name = name;
  failure.code = code;
  failure.message = std::move(message);
  failure.errnum = errnum;
  return false;
}

// Node's ZlibStrerror: the code property of a zlib error.
const char* zlib_code(int err) {
  switch (err) {
    case Z_OK: return "Z_OK";
    case Z_STREAM_END: return "Z_STREAM_END";
    case Z_NEED_DICT: return "Z_NEED_DICT";
    case Z_ERRNO: return "Z_ERRNO";
    case Z_STREAM_ERROR: return "Z_STREAM_ERROR";
    case Z_DATA_ERROR: return "Z_DATA_ERROR";
    case Z_MEM_ERROR: return "Z_MEM_ERROR";
    case Z_BUF_ERROR: return "Z_BUF_ERROR";
    case Z_VERSION_ERROR: return "Z_VERSION_ERROR";
    default: return "Z_UNKNOWN_ERROR";
  }
}

// Node's ErrorForMessage: zlib's own message wins over Node's generic one.
bool zlib_failure(const z_stream& strm, int err, const char* fallback, Failure& failure) {
  const char* message = strm.msg != nullptr ? strm.msg : fallback;
  return fail("Error", zlib_code(err), message, err, failure);
}

// Node's CheckError: which results of one window are failures.
bool check(const z_stream& strm, int err, int flush, Failure& failure) {
  switch (err) {
    case Z_OK:
    case Z_BUF_ERROR:
      // Room left over with Z_FINISH means the input ran out before the stream's end.
      if (strm.avail_out != 0 && flush == Z_FINISH) {
        return zlib_failure(strm, err, "unexpected end of file", failure);
      }
      return true;
    case Z_STREAM_END:
      return true;
    case Z_NEED_DICT:
      return zlib_failure(strm, err, "Missing dictionary", failure);
    default:
      return zlib_failure(strm, err, "Zlib error", failure);
  }
}

// One of Node's writes. gunzip goes on with the next gzip member while input remains after
// a member's end; a 0x00 there ends it (trailing zeros are padding and are ignored, with
// whatever follows them), anything else must be another member or fails as a bad header.
int step(z_stream& strm, Mode mode, int flush) {
  if (mode == Mode::kGzip) return deflate(&strm, flush);
  int err = inflate(&strm, flush);
  while (strm.avail_in > 0 && err == Z_STREAM_END && strm.next_in[0] != 0x00) {
    inflateReset(&strm);
    err = inflate(&strm, flush);
  }
  return err;
}

bool too_large(uint64_t max_output, Failure& failure) {
  return fail("RangeError", "ERR_BUFFER_TOO_LARGE",
              "Cannot create a Buffer larger than " + std::to_string(max_output) + " bytes", 0,
              failure);
}

// Runs the stream over all input into `out`, one window at a time. Input beyond what one
// z_stream call can take (4 GiB) is handed over in parts with Z_NO_FLUSH until the last one;
// Node itself never gets there, so inputs it can take see exactly its calls.
bool run(z_stream& strm, Mode mode, const uint8_t* data, size_t size, uint64_t max_output,
         Bytes& out, Failure& failure) {
  size_t given = 0;
  auto give_more = [&] {
    size_t part = std::min<size_t>(size - given, UINT_MAX);
    strm.next_in = const_cast<Bytef*>(data) + given;
    strm.avail_in = static_cast<uInt>(part);
    given += part;
  };
  give_more();
  for (;;) {
    int flush = given == size ? Z_FINISH : Z_NO_FLUSH;
    size_t used = out.size();
    out.resize(used + kWindow);
    strm.next_out = out.data() + used;
    strm.avail_out = static_cast<uInt>(kWindow);
    int err = step(strm, mode, flush);
    out.resize(used + kWindow - strm.avail_out);
    if (!check(strm, err, flush, failure)) return false;
    // Node counts output after each window and gives up past maxOutputLength.
    if (out.size() > max_output) return too_large(max_output, failure);
    if (strm.avail_out == 0) continue;  // the window filled up: there may be more
    if (strm.avail_in == 0 && given < size) {
      give_more();
      continue;
    }
    return true;
  }
}

bool level_out_of_range(int level, Failure& failure) {
  return fail("RangeError", "ERR_OUT_OF_RANGE",
              "The value of \"options.level\" is out of range. It must be >= -1 and <= 9. "
              "Received " + std::to_string(level),
              0, failure);
}

// zlib.gzipSync throws this when deflateInit2/inflateInit2 fail (out of memory).
bool init_failed(Failure& failure) {
  return fail("Error", "ERR_ZLIB_INITIALIZATION_FAILED", "Initialization failed", 0, failure);
}

}  // namespace

bool gzip_with_limit(const uint8_t* data, size_t size, int level, uint64_t max_output, Bytes& out,
                     Failure& failure) {
  out.clear();
  if (level < -1 || level > 9) return level_out_of_range(level, failure);
  z_stream strm{};
  if (deflateInit2(&strm, level, Z_DEFLATED, kWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) != Z_OK) {
    return init_failed(failure);
  }
  bool ok = run(strm, Mode::kGzip, data, size, max_output, out, failure);
  deflateEnd(&strm);
  if (!ok) out.clear();
  return ok;
}

bool gunzip_with_limit(const uint8_t* data, size_t size, uint64_t max_output, Bytes& out,
                       Failure& failure) {
  out.clear();
  z_stream strm{};
  if (inflateInit2(&strm, kWindowBits) != Z_OK) return init_failed(failure);
  bool ok = run(strm, Mode::kGunzip, data, size, max_output, out, failure);
  inflateEnd(&strm);
  if (!ok) out.clear();
  return ok;
}

bool gzip(const uint8_t* data, size_t size, int level, Bytes& out, Failure& failure) {
  return gzip_with_limit(data, size, level, kZlibMaxOutput, out, failure);
}

bool gunzip(const uint8_t* data, size_t size, Bytes& out, Failure& failure) {
  return gunzip_with_limit(data, size, kZlibMaxOutput, out, failure);
}

}  // namespace evloop::tasks
