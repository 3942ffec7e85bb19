// Inbox: any thread pushes, the loop's thread takes batches, woken through a real uv_async_t.
#include "inbox.h"

#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "check.h"
#include "note.h"

using evloop::Inbox;
using evloop::Item;

namespace {

using evloop::test::Note;

// A libuv loop that receives an inbox's batches, for the thread that creates it.
class TestLoop {
 public:
  TestLoop() {
    CHECK_EQ(uv_loop_init(&loop_), 0);
    CHECK_EQ(uv_async_init(&loop_, &async_, on_async), 0);
    CHECK_EQ(uv_timer_init(&loop_, &timer_), 0);
    async_.data = this;
    timer_.data = this;
    inbox = std::make_shared<Inbox>(&async_);
  }
  ~TestLoop() {
    inbox->close();  // before the handle it wakes goes away
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&loop_), 0);
  }

  // Runs the loop until `done` holds after a batch, or `ms` pass. Returns whether it held.
  bool run_until(std::function<bool()> done, uint64_t ms = 10000) {
    done_ = std::move(done);
    if (!done_()) {
      uv_timer_start(&timer_, on_timeout, ms, 0);
      uv_run(&loop_, UV_RUN_DEFAULT);
      uv_timer_stop(&timer_);
    }
    return done_();
  }

  std::shared_ptr<Inbox> inbox;
  std::vector<std::unique_ptr<Item>> received;
  int batches = 0;

 private:
  static void on_async(uv_async_t* handle) {
    auto* self = static_cast<TestLoop*>(handle->data);
    self->batches++;
    self->inbox->take(self->received);
    if (self->done_ && self->done_()) uv_stop(&self->loop_);
  }
  static void on_timeout(uv_timer_t* handle) { uv_stop(&static_cast<TestLoop*>(handle->data)->loop_); }

  uv_loop_t loop_;
  uv_async_t async_;
  uv_timer_t timer_;
  std::function<bool()> done_;
};

const Note& note(const std::unique_ptr<Item>& item) { return static_cast<const Note&>(*item); }

}  // namespace

TEST(take_returns_items_in_push_order) {
  TestLoop loop;
  for (int i = 0; i < 5; i++) CHECK(loop.inbox->push(std::make_unique<Note>(0, i)));
  std::vector<std::unique_ptr<Item>> out;
  loop.inbox->take(out);
  CHECK_EQ(out.size(), 5u);
  for (int i = 0; i < 5; i++) CHECK_EQ(note(out[i]).seq, i);
  loop.inbox->take(out);  // nothing new
  CHECK_EQ(out.size(), 5u);
}

TEST(take_appends_to_a_non_empty_batch) {
  TestLoop loop;
  std::vector<std::unique_ptr<Item>> out;
  out.push_back(std::make_unique<Note>(0, 0));
  loop.inbox->push(std::make_unique<Note>(0, 1));
  loop.inbox->push(std::make_unique<Note>(0, 2));
  loop.inbox->take(out);
  CHECK_EQ(out.size(), 3u);
  for (int i = 0; i < 3; i++) CHECK_EQ(note(out[i]).seq, i);
}

TEST(push_from_another_thread_wakes_the_loop) {
  TestLoop loop;
  std::thread sender([&] { loop.inbox->push(std::make_unique<Note>(1, 7)); });
  CHECK(loop.run_until([&] { return loop.received.size() == 1; }));
  sender.join();
  CHECK_EQ(note(loop.received[0]).sender, 1);
  CHECK_EQ(note(loop.received[0]).seq, 7);
}

TEST(pushes_before_a_take_wake_once) {
  TestLoop loop;
  for (int i = 0; i < 100; i++) loop.inbox->push(std::make_unique<Note>(0, i));
  CHECK(loop.run_until([&] { return loop.received.size() == 100; }));
  CHECK_EQ(loop.batches, 1);  // one batch: only the first push into an empty inbox woke
}

TEST(closed_inbox_drops_pending_and_later_items) {
  std::atomic<int> destroyed{0};
  auto loop = std::make_unique<TestLoop>();
  auto inbox = loop->inbox;
  CHECK(inbox->push(std::make_unique<Note>(0, 0, &destroyed)));
  CHECK(!inbox->closed());
  inbox->close();
  CHECK(inbox->closed());
  CHECK_EQ(destroyed.load(), 1);  // pending item dropped at close
  CHECK(!inbox->push(std::make_unique<Note>(0, 1, &destroyed)));
  CHECK_EQ(destroyed.load(), 2);  // refused item destroyed by the caller's push
  std::vector<std::unique_ptr<Item>> out;
  inbox->take(out);
  CHECK(out.empty());
  loop.reset();  // the loop and its handle are gone; the inbox outlives them and still refuses
  CHECK(!inbox->push(std::make_unique<Note>(0, 2, &destroyed)));
  CHECK_EQ(destroyed.load(), 3);
}

TEST(many_senders_keep_their_own_order) {
  constexpr int kSenders = 4;
  constexpr int kEach = 20000;
  TestLoop loop;
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; s++) {
    senders.emplace_back([&, s] {
      for (int i = 0; i < kEach; i++) CHECK(loop.inbox->push(std::make_unique<Note>(s, i)));
    });
  }
  CHECK(loop.run_until([&] { return loop.received.size() == size_t{kSenders} * kEach; }));
  for (auto& sender : senders) sender.join();
  std::vector<int> next(kSenders, 0);
  for (auto& item : loop.received) {
    const Note& n = note(item);
    CHECK_EQ(n.seq, next[n.sender]);
    next[n.sender]++;
  }
  for (int s = 0; s < kSenders; s++) CHECK_EQ(next[s], kEach);
  CHECK(loop.batches < kSenders * kEach);  // batched, not one wake per item
}

TEST_MAIN()
