#include "loop.h"

#include <fcntl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>

#ifndef _WIN32
#include <signal.h>
#endif

namespace evloop {

struct Loop::Poll {
  uv_poll_t* handle;  // handle->data points back here
  Loop* owner;
  int fd;
};


namespace {

// libuv structs are sized at run time: the addon may run on a newer libuv than its headers.
template <typename T>
T* new_handle(uv_handle_type type) {
  return static_cast<T*>(std::calloc(1, uv_handle_size(type)));
}

void free_on_close(uv_handle_t* handle) { std::free(handle); }

// libuv sets a signal back to SIG_DFL when its last watcher in the process stops. The process's
// own disposition from before must come back instead (Node ignores SIGPIPE: SIG_DFL would make
// a write to a closed pipe kill the process).
#ifndef _WIN32
struct Watched {
  int count = 0;
  struct sigaction previous;
};
std::mutex& signal_mu = *new std::mutex;
std::map<int, Watched>& watched_signals = *new std::map<int, Watched>;

void signal_watch_started(int signum) {
  std::lock_guard<std::mutex> lock(signal_mu);
  Watched& w = watched_signals[signum];
  if (w.count++ == 0) sigaction(signum, nullptr, &w.previous);
}

void signal_watch_stopped(int signum) {
  std::lock_guard<std::mutex> lock(signal_mu);
  auto it = watched_signals.find(signum);
  if (it == watched_signals.end() || --it->second.count > 0) return;
  struct sigaction now;
  // Someone else (Node's own listeners) may still watch it: then libuv left its handler there.
  if (sigaction(signum, nullptr, &now) == 0 && !(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL) {
    sigaction(signum, &it->second.previous, nullptr);
  }
  watched_signals.erase(it);
}
#else
void signal_watch_started(int) {}
void signal_watch_stopped(int) {}
#endif

void close_handle(uv_handle_t* handle) {
  if (handle != nullptr && !uv_is_closing(handle)) uv_close(handle, free_on_close);
}

}  // namespace

Loop::Loop() {
  loop_ = static_cast<uv_loop_t*>(std::calloc(1, uv_loop_size()));
  uv_loop_init(loop_);
  loop_->data = this;
  wake_ = new_handle<uv_async_t>(UV_ASYNC);
  // The wake-up handle stays referenced: it keeps UV_RUN_ONCE blocking when nothing else is armed.
  uv_async_init(loop_, wake_, [](uv_async_t*) {});
  timer_ = new_handle<uv_timer_t>(UV_TIMER);
  uv_timer_init(loop_, timer_);
  inbox_ = std::make_shared<Inbox>(wake_);
  register_now();  // the wake-up handle joins epoll now: a driven loop needs it before any wait
}

Loop::~Loop() { close(); }

void Loop::wait(double timeout_ms, Batch& out) {
  if (loop_ == nullptr) return;
  if (!pending_.empty()) {
    out = std::move(pending_);
    pending_ = Batch();
    timeout_ms = 0;  // something is there already: just look for more
  }
  batch_ = &out;
  if (timeout_ms == 0) {
    uv_run(loop_, UV_RUN_NOWAIT);
  } else {
    if (timeout_ms > 0) {
      uv_update_time(loop_);
      // Rounded up: a timer must never fire early.
      // uv_stop makes the poll non-blocking even when the timer runs before it: libuv before
      // 1.45 (Node 18) runs due timers first in UV_RUN_ONCE, and a timer that fell due between
      // here and uv_run would otherwise leave the poll with no timeout.
      uv_timer_start(timer_, [](uv_timer_t* t) { uv_stop(t->loop); }, static_cast<uint64_t>(std::ceil(timeout_ms)), 0);
    }
    uv_run(loop_, UV_RUN_ONCE);
    uv_timer_stop(timer_);
  }
  batch_ = nullptr;
  take_items(out.items);
}

void Loop::take_items(std::vector<std::unique_ptr<Item>>& out) {
  inbox_->take(backlog_);
  size_t count = std::min(kItemsPerTurn, backlog_.size() - backlog_head_);
  if (backlog_head_ == 0 && count == backlog_.size() && out.empty()) {
    out.swap(backlog_);  // the usual case: all of it, no copy
    return;
  }
  for (size_t i = backlog_head_; i < backlog_head_ + count; i++) out.push_back(std::move(backlog_[i]));
  backlog_head_ += count;
  if (backlog_head_ == backlog_.size()) {
    backlog_.clear();
    backlog_head_ = 0;
  } else {
    wake();  // the next wait (or the host loop's poll of backend_fd) returns at once for the rest
  }
}

int Loop::backend_fd() const { return loop_ ? uv_backend_fd(loop_) : -1; }

void Loop::wake() {
  if (wake_ != nullptr) uv_async_send(wake_);
}

void Loop::on_poll(uv_poll_t* handle, int status, int events) {
  auto* poll = static_cast<Poll*>(handle->data);
  Batch* batch = poll->owner->sink();
  // An error (the descriptor went bad) is reported as readiness of both kinds, as select() does,
  // so that the callback runs and finds out by reading.
  if (status < 0) events = UV_READABLE | UV_WRITABLE;
  batch->ready.push_back({poll->fd, events & (UV_READABLE | UV_WRITABLE)});
}

void Loop::stop_poll(std::map<int, Poll*>::iterator it) {
  uv_poll_stop(it->second->handle);
  close_handle(reinterpret_cast<uv_handle_t*>(it->second->handle));
  delete it->second;
  polls_.erase(it);
}

int Loop::watch(int fd, int events) {
  if (loop_ == nullptr) return UV_EBADF;
  if (fd < 0) return UV_EBADF;
  // A fresh handle each time: re-arming a descriptor that was closed behind libuv's back makes
  // epoll_ctl fail, and libuv aborts on that. A new handle starts with a clean registration.
  auto it = polls_.find(fd);
  if (it != polls_.end()) stop_poll(it);
  if (events == 0) return 0;
  if (fcntl(fd, F_GETFD) == -1) return UV_EBADF;
  auto* handle = new_handle<uv_poll_t>(UV_POLL);
  int err = uv_poll_init(loop_, handle, fd);
  if (err != 0) {
    std::free(handle);
    return err;
  }
  err = uv_poll_start(handle, events, on_poll);
  if (err != 0) {
    close_handle(reinterpret_cast<uv_handle_t*>(handle));
    return err;
  }
  auto* poll = new Poll{handle, this, fd};
  handle->data = poll;
  polls_[fd] = poll;
  register_now();
  return 0;
}

// libuv adds a watcher to epoll on the loop's next turn. Until then a descriptor closed behind
// its back makes that epoll_ctl fail, and libuv aborts; and a loop driven from another loop
// (the host loop) only turns once its backend descriptor is readable, which a watcher not yet
// added cannot make it. So turn once now. What that turn sees is kept for the next wait, and a
// wake-up makes sure that wait comes.
void Loop::register_now() {
  batch_ = &pending_;
  uv_run(loop_, UV_RUN_NOWAIT);
  batch_ = nullptr;
  if (!pending_.empty()) wake();
}

void Loop::on_signal(uv_signal_t* handle, int signum) {
  Loop* owner = static_cast<Loop*>(handle->loop->data);
  if (handle == owner->interrupt_) {
    owner->sink()->interrupted = true;
  } else {
    owner->sink()->signals.push_back(signum);
  }
}

int Loop::watch_signal(int signum, bool on) {
  if (loop_ == nullptr) return UV_EBADF;
  auto it = signals_.find(signum);
  if (!on) {
    if (it == signals_.end()) return 0;
    stop_signal(it->second, signum);
    signals_.erase(it);
    return 0;
  }
  if (it != signals_.end()) return 0;
  int err;
  uv_signal_t* handle = start_signal(signum, &err);
  if (handle != nullptr) signals_[signum] = handle;
  return err;
}

uv_signal_t* Loop::start_signal(int signum, int* err) {
  signal_watch_started(signum);  // before libuv installs its handler: remembers the one before
  auto* handle = new_handle<uv_signal_t>(UV_SIGNAL);
  uv_signal_init(loop_, handle);
  *err = uv_signal_start(handle, on_signal, signum);
  if (*err != 0) {
    stop_signal(handle, signum);
    return nullptr;
  }
  register_now();
  return handle;
}

void Loop::stop_signal(uv_signal_t* handle, int signum) {
  close_handle(reinterpret_cast<uv_handle_t*>(handle));
  signal_watch_stopped(signum);
}

int Loop::watch_interrupt(bool on) {
  if (loop_ == nullptr) return UV_EBADF;
  if (!on) {
    if (interrupt_ == nullptr) return 0;
    stop_signal(interrupt_, SIGINT);
    interrupt_ = nullptr;
    return 0;
  }
  if (interrupt_ != nullptr) return 0;
  int err;
  interrupt_ = start_signal(SIGINT, &err);
  return err;
}

void Loop::close() {
  if (loop_ == nullptr) return;
  inbox_->close();
  backlog_.clear();
  backlog_head_ = 0;
  while (!polls_.empty()) stop_poll(polls_.begin());
  for (auto& entry : signals_) stop_signal(entry.second, entry.first);
  signals_.clear();
  if (interrupt_ != nullptr) stop_signal(interrupt_, SIGINT);
  close_handle(reinterpret_cast<uv_handle_t*>(wake_));
  close_handle(reinterpret_cast<uv_handle_t*>(timer_));
  interrupt_ = nullptr;
  wake_ = nullptr;
  timer_ = nullptr;
  // Let libuv run the close callbacks, then the loop has nothing left.
  while (uv_loop_close(loop_) == UV_EBUSY) uv_run(loop_, UV_RUN_NOWAIT);
  std::free(loop_);
  loop_ = nullptr;
}

}  // namespace evloop
