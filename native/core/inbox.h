// A loop's mailbox: any thread pushes, the loop's thread takes everything in one batch.
// The first push into an empty inbox wakes the loop (one uv_async_send per batch).
#pragma once
#include <uv.h>

#include <mutex>
#include <vector>

#include "item.h"

namespace evloop {

class Inbox {
 public:
  explicit Inbox(uv_async_t* wake) : wake_(wake) {}
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // False once closed: the item is dropped (destroyed on the caller's thread).
  bool push(std::unique_ptr<Item> item);
  // Moves every pending item into `out`, in push order.
  void take(std::vector<std::unique_ptr<Item>>& out);
  // Drops what is pending; later pushes fail. Called by the loop's thread before it frees `wake`.
  void close();
  bool closed();

 private:
  std::mutex mu_;  // guards items_ and closed_
  std::vector<std::unique_ptr<Item>> items_;
  bool closed_ = false;
  std::mutex wake_mu_;  // guards wake_, which close() clears before the loop frees the handle
  uv_async_t* wake_;
};

}  // namespace evloop
