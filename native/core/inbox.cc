#include "inbox.h"

namespace evloop {

bool Inbox::push(std::unique_ptr<Item> item) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  items_.push_back(std::move(item));
  // uv_async_send under the lock: close() cannot free the handle between the check and the send.
  if (items_.size() == 1) uv_async_send(wake_);
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
}

bool Inbox::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

}  // namespace evloop
