// What the binding puts into a loop's inbox, and how each becomes a JavaScript value there.
#pragma once
#include <napi.h>

#include <vector>

#include "../core/work.h"

namespace evloop {

// Pool work submitted from JavaScript: settle() runs on the loop's thread and gives the value
// the Future gets (its result, or the Error it fails with).
class BoundWork : public Work {
 public:
  using Work::Work;
  virtual Napi::Value settle(Napi::Env env) = 0;
};

// A structured-clone payload posted to a loop from any thread.
class Message : public Item {
 public:
  explicit Message(std::vector<uint8_t> bytes) : Item(Kind::kMessage), bytes(std::move(bytes)) {}
  std::vector<uint8_t> bytes;
};

// A pool that was shut down has nothing left in flight.
class Drained : public Item {
 public:
  explicit Drained(uint64_t token) : Item(Kind::kDrained), token(token) {}
  const uint64_t token;
};

}  // namespace evloop
