// A test item for inboxes: says who sent it, and counts its destruction (nothing is lost or
// leaked when a loop closes with items pending).
#pragma once
#include <atomic>

#include "item.h"

namespace evloop::test {

class Note : public Item {
 public:
  Note(int sender, int seq, std::atomic<int>* destroyed = nullptr)
      : Item(Kind::kMessage), sender(sender), seq(seq), destroyed_(destroyed) {}
  ~Note() override {
    if (destroyed_) ++*destroyed_;
  }
  const int sender;
  const int seq;

 private:
  std::atomic<int>* destroyed_;
};

}  // namespace evloop::test
