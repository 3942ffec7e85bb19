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

// A payload posted to a loop from any thread: structured-clone bytes (post()), or from the C API
// (c_api.cc) raw bytes the handler gets as a Buffer, or a native function to call on the loop.
class Message : public Item {
 public:
  enum class Form : uint8_t { kSerialized, kBytes, kCall };
  explicit Message(std::vector<uint8_t> bytes, Form form = Form::kSerialized)
      : Item(Kind::kMessage), form(form), bytes(std::move(bytes)) {}
  const Form form;
  std::vector<uint8_t> bytes;
};

// A Form::kCall message as a JavaScript function that runs it (c_api.cc); undefined on failure.
Napi::Value NativeCallToJs(Napi::Env env, std::unique_ptr<Item> item);

// A pool that was shut down has nothing left in flight.
class Drained : public Item {
 public:
  explicit Drained(uint64_t token) : Item(Kind::kDrained), token(token) {}
  const uint64_t token;
};

}  // namespace evloop
