#include "inbox.h"

namespace evloop {

bool Inbox::push(std::unique_ptr<Item> item) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    items_.push_back(std::move(item));
    first = items_.size() == 1;
  }
  // The wake-up is sent after unlocking, so the woken loop does not then block on `mu_`.
  // Its own lock keeps close() from freeing the handle during the send.
  if (first) {
    std::lock_guard<std::mutex> lock(wake_mu_);
    if (wake_ != nullptr) uv_async_send(wake_);
  }
  return true;
}

void Inbox::take(std::vector<std::unique_ptr<Item>>& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (out.empty()) {
    out.swap(items_);
  } else {
    for (auto& item : items_) out.push_back(std::move(item));
    items_.clear();
  }
}

void Inbox::close() {
  std::vector<std::unique_ptr<Item>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    dropped.swap(items_);
  }
  std::lock_guard<std::mutex> lock(wake_mu_);
  wake_ = nullptr;
}

bool Inbox::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

}  // namespace evloop
