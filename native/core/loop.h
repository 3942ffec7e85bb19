// A private libuv loop: the blocking wait of one event-loop turn (asyncio's selector.select).
// It owns a uv_loop_t, the wake-up handle and inbox other threads reach it through, the
// descriptor and signal watchers, and returns everything that happened as one batch.
// The loop is either waited on directly (a private loop blocks its thread) or driven from
// Node's own loop through its backend descriptor (the host loop).
#pragma once
#include <uv.h>

#include <map>
#include <memory>
#include <vector>

#include "inbox.h"

namespace evloop {

struct Batch {
  struct Ready {
    int fd;
    int events;  // UV_READABLE | UV_WRITABLE
  };
  std::vector<std::unique_ptr<Item>> items;  // from the inbox, in arrival order
  std::vector<Ready> ready;                  // descriptors ready at this turn
  std::vector<int> signals;                  // signals that arrived, in order
  bool interrupted = false;                  // SIGINT while watch_interrupt was on
  bool empty() const { return items.empty() && ready.empty() && signals.empty() && !interrupted; }
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Blocks until something arrives or `timeout_ms` passes (< 0: no limit, 0: just look).
  // Events seen since the last wait (while registering watchers) come first. At most
  // kItemsPerTurn inbox items come per wait; the rest come with the next ones, which do not block.
  void wait(double timeout_ms, Batch& out);
  // A burst of posts becomes several turns, so the loop's thread never turns a backlog of
  // hundreds of thousands into JavaScript values at once (its heap would grow to hold them).
  static constexpr size_t kItemsPerTurn = 1024;
  // What libuv polls: readable when a wait would not block. For driving from another loop.
  int backend_fd() const;
  // Wakes a wait from any thread.
  void wake();
  const std::shared_ptr<Inbox>& inbox() const { return inbox_; }

  // Level-triggered readiness of `fd`; events = UV_READABLE | UV_WRITABLE, 0 to stop.
  // Returns 0 or a negative libuv error (UV_EBADF, UV_EPERM for regular files, ...).
  int watch(int fd, int events);
  int watch_signal(int signum, bool on);
  // SIGINT ends the current wait with `interrupted` (a blocked main thread stays Ctrl-C-able).
  int watch_interrupt(bool on);
  bool has_watchers() const { return !polls_.empty() || !signals_.empty(); }

  // Closes every handle and the loop; the inbox refuses further items.
  void close();
  bool closed() const { return loop_ == nullptr; }

 private:
  struct Poll;
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_signal(uv_signal_t* handle, int signum);
  void stop_poll(std::map<int, Poll*>::iterator it);
  void register_now();
  uv_signal_t* start_signal(int signum, int* err);
  void stop_signal(uv_signal_t* handle, int signum);
  Batch* sink() { return batch_ != nullptr ? batch_ : &pending_; }
  void take_items(std::vector<std::unique_ptr<Item>>& out);

  uv_loop_t* loop_ = nullptr;
  uv_async_t* wake_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  uv_signal_t* interrupt_ = nullptr;
  std::shared_ptr<Inbox> inbox_;
  std::map<int, Poll*> polls_;
  std::map<int, uv_signal_t*> signals_;
  Batch* batch_ = nullptr;  // where callbacks record events during a wait
  Batch pending_;           // events seen outside a wait (while registering), for the next one
  std::vector<std::unique_ptr<Item>> backlog_;  // taken from the inbox, not handed out yet
  size_t backlog_head_ = 0;                      // backlog_[0, head) were handed out
};

}  // namespace evloop
