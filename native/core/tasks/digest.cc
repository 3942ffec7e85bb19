// tasks.digest(algorithm, data): crypto.createHash(algorithm).update(data).digest().
// Names are resolved the way Node 20 resolves them with OpenSSL 3 (src/crypto/crypto_hash.cc).
#include <openssl/err.h>
#include <openssl/evp.h>

#include <climits>
#include <memory>

#include "tasks.h"

namespace evloop::tasks {
namespace {

struct MdFree {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct CtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Md = std::unique_ptr<EVP_MD, MdFree>;
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxFree>;

// Node's FetchAndMaybeCacheMD: EVP_get_digestbyname knows every alias, case-insensitively
// ('RSA-SHA256', 'sha-256', 'SHA256'); EVP_MD_fetch of the canonical name then keeps only what
// a loaded provider implements, so legacy-only digests (md4, whirlpool) are refused, as in Node.
Md fetch(const std::string& algorithm) {
  ERR_set_mark();  // a failed fetch queues errors on this thread; leave none behind
  Md md;
  const EVP_MD* known = EVP_get_digestbyname(algorithm.c_str());
  const char* canonical = known != nullptr ? EVP_MD_get0_name(known) : nullptr;
  if (canonical != nullptr) md.reset(EVP_MD_fetch(nullptr, canonical, nullptr));
  ERR_pop_to_mark();
  return md;
}

bool fail(const char* code, const char* name, const std::string& message, Failure& failure) {
  failure = Failure{};
  failure.code = code;
  failure.name = name;
  failure.message = message;
  return false;
}

// An OpenSSL failure after a successful fetch (not expected); Node would show OpenSSL's text.
// The errors this call queued are dropped, and only those.
bool openssl_failure(Failure& failure) {
  unsigned long err = ERR_peek_last_error();
  ERR_pop_to_mark();
  if (err == 0) return fail("", "Error", "Digest method not supported", failure);
  char text[256];
  ERR_error_string_n(err, text, sizeof(text));
  return fail("", "Error", text, failure);
}

}  // namespace

bool digest_supported(const std::string& algorithm) { return fetch(algorithm) != nullptr; }

bool digest(const std::string& algorithm, const uint8_t* data, size_t size, Bytes& out,
            Failure& failure) {
  out.clear();
  // Hash.update refuses more than INT_MAX bytes at once.
  if (size > static_cast<size_t>(INT_MAX)) {
    return fail("ERR_OUT_OF_RANGE", "RangeError", "data is too long", failure);
  }
  Md md = fetch(algorithm);
  if (!md) return fail("", "Error", "Digest method not supported", failure);

  // The default output length; for shake128/shake256 that is 16/32 bytes, which is what
  // createHash('shake256').digest() gives in Node 20 when no outputLength is set.
  int length = EVP_MD_get_size(md.get());
  ERR_set_mark();
  Ctx ctx(EVP_MD_CTX_new());
  if (!ctx || length < 0 || EVP_DigestInit_ex(ctx.get(), md.get(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data, size) != 1) {
    return openssl_failure(failure);
  }
  // Node skips the final call for a zero-length output (OpenSSL issue 9431).
  unsigned int written = 0;
  out.resize(static_cast<size_t>(length));
  if (length > 0 && EVP_DigestFinal_ex(ctx.get(), out.data(), &written) != 1) {
    out.clear();
    return openssl_failure(failure);
  }
  out.resize(written);
  ERR_pop_to_mark();
  return true;
}

}  // namespace evloop::tasks
