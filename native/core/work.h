// One unit of pool work. It knows which loop's inbox its outcome goes back to.
#pragma once
#include <cstdint>
#include <memory>

#include "inbox.h"

namespace evloop {

class Work : public Item {
 public:
  enum class Status : uint8_t { kPending, kDone, kFailed, kCancelled };

  Work(std::shared_ptr<Inbox> inbox, uint64_t id)
      : Item(Kind::kWork), inbox(std::move(inbox)), id(id) {}

  // JavaScript work is run by a JsRunner (a JavaScript-capable thread), not by a native thread.
  virtual bool is_js() const { return false; }
  // Runs on a pool thread; sets status to kDone or kFailed. Not called for JavaScript work.
  virtual void run() {}

  const std::shared_ptr<Inbox> inbox;
  const uint64_t id;
  // JavaScript work runs only on runners of its group: the thread that submitted it, whose
  // JavaScript contexts (Node workers it started) live and die with it.
  uint64_t group = 0;
  Status status = Status::kPending;
};

}  // namespace evloop
