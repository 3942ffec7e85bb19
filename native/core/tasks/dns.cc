// tasks.lookup(hostname, { family }): dns.lookup(hostname, { all: true, family }) of Node 20,
// with its default 'verbatim' order: lib/dns.js lookup() and onlookupall(), and
// src/cares_wrap.cc GetAddrInfo/AfterGetAddrInfo. The resolver is libuv's uv_getaddrinfo
// (getaddrinfo(3) after libuv's IDNA conversion), called synchronously as Node's pool does.
#include <uv.h>

#include <cstring>
#include <string>

#include "tasks.h"

namespace evloop::tasks {
namespace {

// net.isIP(), written out from lib/internal/net.js's IPv4Reg and IPv6Reg.

// Plain ASCII classes; <cctype>'s depend on the process's locale.
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// v4Seg: 0-255 in decimal without leading zeros.
bool is_v4_seg(const std::string& s) {
  if (s.empty() || s.size() > 3) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  if (s.size() > 1 && s[0] == '0') return false;
  return std::stoi(s) <= 255;
}

// v4Str: four v4Segs joined by dots.
bool is_ipv4(const std::string& s) {
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = i < 3 ? s.find('.', start) : s.size();
    if (dot == std::string::npos || !is_v4_seg(s.substr(start, dot - start))) return false;
    start = dot + 1;
  }
  return true;
}

// v6Seg: one to four hex digits.
bool is_v6_seg(const std::string& s) {
  if (s.empty() || s.size() > 4) return false;
  for (char c : s) {
    if (!is_hex(c)) return false;
  }
  return true;
}

// Colon-separated groups, the last of which may be a dotted IPv4 address (worth two groups).
// Counts the groups; false if a group is malformed or the IPv4 part is not last.
bool count_groups(const std::string& s, bool v4_allowed, int& groups) {
  groups = 0;
  if (s.empty()) return true;
  size_t start = 0;
  for (;;) {
    size_t colon = s.find(':', start);
    std::string group = s.substr(start, colon == std::string::npos ? colon : colon - start);
    if (colon == std::string::npos && v4_allowed && group.find('.') != std::string::npos) {
      if (!is_ipv4(group)) return false;
      groups += 2;
      return true;
    }
    if (!is_v6_seg(group)) return false;
    ++groups;
    if (colon == std::string::npos) return true;
    start = colon + 1;
  }
}

// IPv6Reg's alternatives come to this: without '::', eight groups (the last two may be an
// IPv4 address); with one '::', at most seven groups around it, an IPv4 address only at the
// end. The zone suffix `%[0-9a-zA-Z-.:]+` is optional.
bool is_zone_char(char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == ':';
}

bool is_ipv6(const std::string& s) {
  size_t percent = s.find('%');
  if (percent != std::string::npos) {
    if (percent + 1 == s.size()) return false;
    for (size_t i = percent + 1; i < s.size(); ++i) {
      if (!is_zone_char(s[i])) return false;
    }
  }
  std::string address = s.substr(0, percent);
  size_t gap = address.find("::");
  int left = 0, right = 0;
  if (gap == std::string::npos) return count_groups(address, true, left) && left == 8;
  std::string head = address.substr(0, gap), tail = address.substr(gap + 2);
  return count_groups(head, false, left) && count_groups(tail, true, right) &&
         left + right <= 7;
}

// net.isIP: 4, 6 or 0.
int ip_family(const std::string& s) {
  if (is_ipv4(s)) return 4;
  if (is_ipv6(s)) return 6;
  return 0;
}

// Punycode (RFC 3492) decoding as ada::idna::punycode_to_utf32 does it, limits included.
bool punycode_decode(const std::string& input, std::u32string& out) {
  constexpr int32_t kBase = 36, kTmin = 1, kTmax = 26, kSkew = 38, kDamp = 700;
  auto digit_of = [](unsigned char c) -> int32_t {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= '0' && c <= '9') return c - '0' + 26;
    return -1;
  };
  auto adapt = [&](int32_t d, int32_t points, bool first) {
    d = first ? d / kDamp : d / 2;
    d += d / points;
    int32_t k = 0;
    while (d > ((kBase - kTmin) * kTmax) / 2) {
      d /= kBase - kTmin;
      k += kBase;
    }
    return k + (((kBase - kTmin + 1) * d) / (d + kSkew));
  };
  uint32_t n = 128;
  int32_t i = 0, bias = 72, written = 0;
  size_t pos = 0;
  size_t basic_end = input.find_last_of('-');
  if (basic_end != std::string::npos) {
    for (size_t j = 0; j < basic_end; ++j) {
      if (static_cast<unsigned char>(input[j]) >= 0x80) return false;
      out.push_back(static_cast<unsigned char>(input[j]));
      ++written;
    }
    pos = basic_end + 1;
  }
  while (pos < input.size()) {
    int32_t old_i = i, w = 1;
    for (int32_t k = kBase;; k += kBase) {
      if (pos >= input.size()) return false;
      int32_t digit = digit_of(static_cast<unsigned char>(input[pos++]));
      if (digit < 0 || digit > (0x7fffffff - i) / w) return false;
      i += digit * w;
      int32_t t = k <= bias ? kTmin : k >= bias + kTmax ? kTmax : k - bias;
      if (digit < t) break;
      if (w > 0x7fffffff / (kBase - t)) return false;
      w *= kBase - t;
    }
    bias = adapt(i - old_i, written + 1, old_i == 0);
    if (i / (written + 1) > static_cast<int32_t>(0x7fffffff - n)) return false;
    n += i / (written + 1);
    i %= written + 1;
    if (n < 0x80) return false;
    out.insert(out.begin() + i, static_cast<char32_t>(n));
    ++written;
    ++i;
  }
  return true;
}

// Node 20 passes the name through ada::idna::to_ascii before uv_getaddrinfo and looks up ''
// (libuv: EINVAL) when that fails. This keeps the part of it that needs no Unicode tables:
// ASCII letters are lowercased and every 'xn--' label must decode to a non-empty string of
// Unicode scalar values. ada's further checks of decoded labels (UTS 46 mapping, NFC, label
// validity) and its mapping of non-ASCII names are not repeated; libuv then punycodes
// non-ASCII labels as they are.
bool to_ascii_like_node(const std::string& hostname, std::string& ascii) {
  ascii = hostname;
  for (char& c : ascii) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  size_t start = 0;
  while (start <= ascii.size()) {
    size_t dot = ascii.find('.', start);
    size_t end = dot == std::string::npos ? ascii.size() : dot;
    std::string label = ascii.substr(start, end - start);
    if (label.compare(0, 4, "xn--") == 0) {
      std::u32string decoded;
      if (!punycode_decode(label.substr(4), decoded) || decoded.empty()) return false;
      for (char32_t c : decoded) {
        if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
      }
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

int to_af(int family) {
  if (family == 4) return AF_INET;
  if (family == 6) return AF_INET6;
  return AF_UNSPEC;
}

// Node's DNSException: EAI_NODATA and EAI_NONAME are reported as the made-up 'ENOTFOUND'.
bool fail(int err, const std::string& hostname, Failure& failure) {
  failure = Failure{};
  if (err == UV_EAI_NODATA || err == UV_EAI_NONAME) {
    failure.code = "ENOTFOUND";
  } else {
    char name[80];
    uv_err_name_r(err, name, sizeof(name));
    failure.code = name;
  }
  failure.errnum = err;
  failure.syscall = "getaddrinfo";
  failure.hostname = hostname;
  failure.message = "getaddrinfo " + failure.code + " " + hostname;
  return false;
}

bool invalid_family(int family, Failure& failure) {
  failure = Failure{};
  failure.name = "TypeError";
  failure.code = "ERR_INVALID_ARG_VALUE";
  failure.message =
      "The property 'options.family' must be one of: 0, 4, 6. Received " + std::to_string(family);
  return false;
}

// The addresses of a getaddrinfo answer in its own order, as AfterGetAddrInfo lists them.
void collect(const addrinfo* res, int family, std::vector<Address>& out) {
  for (const addrinfo* p = res; p != nullptr; p = p->ai_next) {
    const void* addr;
    if (p->ai_family == AF_INET) {
      addr = &reinterpret_cast<const sockaddr_in*>(p->ai_addr)->sin_addr;
    } else if (p->ai_family == AF_INET6) {
      addr = &reinterpret_cast<const sockaddr_in6*>(p->ai_addr)->sin6_addr;
    } else {
      continue;
    }
    char ip[INET6_ADDRSTRLEN];
    if (uv_inet_ntop(p->ai_family, addr, ip, sizeof(ip)) != 0) continue;
    // onlookupall: `family: family || isIP(address)`.
    out.push_back({ip, family != 0 ? family : ip_family(ip)});
  }
}

// uv_getaddrinfo with no callback runs at once on this thread. It still wants a loop to
// account the request against; a private one keeps pool threads independent of each other.
int resolve(const std::string& hostname, int family, std::vector<Address>& out) {
  uv_loop_t loop;
  int err = uv_loop_init(&loop);
  if (err != 0) return err;
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = to_af(family);
  hints.ai_socktype = SOCK_STREAM;  // Node's hints; the `hints` option defaults to 0
  uv_getaddrinfo_t req;
  std::memset(&req, 0, sizeof(req));
  // c_str(): as in Node, a NUL byte ends the name that is looked up.
  err = uv_getaddrinfo(&loop, &req, nullptr, hostname.c_str(), nullptr, &hints);
  if (err == 0) {
    collect(req.addrinfo, family, out);
    uv_freeaddrinfo(req.addrinfo);
    // An answer with no IPv4 or IPv6 address in it counts as no data.
    if (out.empty()) err = UV_EAI_NODATA;
  }
  uv_loop_close(&loop);
  return err;
}

}  // namespace

bool lookup(const std::string& hostname, int family, std::vector<Address>& out, Failure& failure) {
  out.clear();
  if (family != 0 && family != 4 && family != 6) return invalid_family(family, failure);
  // lookup('') answers [] (and Node warns: DEP0118); an IP address answers itself, whatever
  // family was asked for. Neither asks the resolver.
  if (hostname.empty()) return true;
  if (int own = ip_family(hostname)) {
    out.push_back({hostname, own});
    return true;
  }
  std::string ascii;
  int err = to_ascii_like_node(hostname, ascii) ? resolve(ascii, family, out) : UV_EINVAL;
  if (err != 0) {
    out.clear();
    return fail(err, hostname, failure);
  }
  return true;
}

}  // namespace evloop::tasks
