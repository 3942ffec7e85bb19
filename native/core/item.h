// Something handed to a loop from another thread: finished pool work, a posted message, a call,
// a pool's notice (drained, a JavaScript runner wanted).
#pragma once
#include <cstdint>
#include <memory>

namespace evloop {

class Item {
 public:
  enum class Kind : uint8_t { kWork, kMessage, kDrained, kRunnerWanted };
  explicit Item(Kind kind) : kind(kind) {}
  virtual ~Item() = default;
  Item(const Item&) = delete;
  Item& operator=(const Item&) = delete;
  const Kind kind;
};

}  // namespace evloop
