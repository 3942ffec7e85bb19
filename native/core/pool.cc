// The blocking pool. One lock guards everything; the scheduler hands each piece of work to a
// specific taker (an idle native thread, a new native thread, or an idle JsRunner) and counts it
// running at that moment, so `running` never exceeds max_workers and no taker is woken for
// nothing. What must not happen under the lock (waking runners, pushing to inboxes, destroying
// work, joining threads) is collected in an After and done once the lock is released.
#include "pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <list>
#include <map>
#include <utility>

#if defined(__linux__) || defined(__APPLE__)
#include <pthread.h>
#endif

namespace evloop {

namespace {

using Clock = std::chrono::steady_clock;

// `<name>-<n>`, at most 15 characters (the kernel's limit), keeping the number.
void name_thread(const std::string& base, unsigned number) {
  std::string suffix = "-" + std::to_string(number);
  std::string name = base.substr(0, 15 - std::min<size_t>(15, suffix.size())) + suffix;
#if defined(__linux__)
  pthread_setname_np(pthread_self(), name.c_str());
#elif defined(__APPLE__)
  pthread_setname_np(name.c_str());
#else
  (void)name;
#endif
}

// Work reports kDone or kFailed; anything else (it threw, or forgot) is a failure.
void run_work(Work& work) {
  try {
    work.run();
  } catch (...) {
    work.status = Work::Status::kFailed;
  }
  if (work.status != Work::Status::kDone) work.status = Work::Status::kFailed;
}

// Pushes work back to its loop. The inbox is held here: the work may own its last reference and
// is destroyed inside push() when the loop is gone.
void hand_back(std::unique_ptr<Work> work) {
  std::shared_ptr<Inbox> inbox = work->inbox;
  if (inbox) inbox->push(std::move(work));
}

}  // namespace

struct Pool::Impl : std::enable_shared_from_this<Pool::Impl> {
  // Queued work, stamped so that the oldest startable work of either kind starts first.
  struct Entry {
    uint64_t seq;
    std::unique_ptr<Work> work;
  };

  // A native thread. Lives in `threads` until the thread removes it on exit.
  struct Thread {
    Impl* owner = nullptr;
    unsigned number = 0;
    std::thread handle;
    // `next` was set, or the thread should recheck whether to exit. Shared with an After that
    // notifies it once the lock is released (the thread may have exited by then).
    std::shared_ptr<std::condition_variable> cv = std::make_shared<std::condition_variable>();
    std::unique_ptr<Work> next;  // assigned by the scheduler
    bool idle = false;
  };

  // The JS runners of one group (a submitting thread) and the JS work only they may take.
  struct Group {
    std::deque<Entry> queue;
    std::vector<JsRunner*> idle;  // LIFO, as idle_threads
    unsigned runners = 0;         // attached
    unsigned fresh = 0;           // attached, no take() yet
    unsigned starting = 0;        // asked for (want_runner, RunnerWanted), not attached or failed yet
    bool ended = false;           // its thread is gone: no runner will start again
  };

  // An item for a loop, pushed once the lock is released.
  struct Notice {
    std::shared_ptr<Inbox> inbox;
    std::unique_ptr<Item> item;
  };

  // Done after the lock is released, in this order: wake threads and runners, hand work back,
  // notify drained, ask for runners. (A thread woken under the lock would only block on it.)
  struct After {
    std::vector<std::shared_ptr<std::condition_variable>> thread_wakes;
    std::vector<JsRunner*> wakes;
    std::vector<std::unique_ptr<Work>> back;  // each counted in `handing_back`
    std::vector<Notice> drained;
    std::vector<Notice> runner_requests;
  };

  explicit Impl(const PoolOptions& options);
  ~Impl();

  // Scheduling.
  void schedule_locked(After& after);
  bool startable_locked(const Work& work);
  bool start_native_locked(After& after);
  bool spawn_locked(std::unique_ptr<Work>& work);
  void assign_js_locked(Group& group, After& after);
  bool want_runner_locked(Group& group);
  void replace_runner_locked(uint64_t id, Group& group, After& after);
  void forget_group_locked(uint64_t id);
  // Completion and hand-back.
  void finished_locked(std::unique_ptr<Work> work, After& after);
  void send_back_locked(std::unique_ptr<Work> work, Work::Status status, After& after);
  void return_locked(std::unique_ptr<Work> work, After& after);
  void fail_stranded_js_locked(Group& group, After& after);
  void drained_locked(After& after);
  void flush(After& after);
  // Native threads.
  void run_thread(Thread* self);
  bool should_exit_locked() const;
  bool wait_for_work(std::unique_lock<std::mutex>& lock, Thread* self);
  void set_idle_locked(Thread* self);
  void remove_idle_locked(Thread* self);
  void exit_locked(Thread* self);
  void notify_idle_locked();
  void join_threads();
  static Thread*& current_thread() {
    static thread_local Thread* current = nullptr;
    return current;
  }
  // Runners.
  void detach_runner_locked(JsRunner* runner, std::unique_ptr<Work> unfinished, After& after);
  void remove_idle_runner_locked(JsRunner* runner);
  void wait_for_wakes(std::unique_lock<std::mutex>& lock, JsRunner* runner);

  std::weak_ptr<Pool> pool;  // for RunnerWanted; the Impl never holds the Pool (see pool.h)
  std::mutex mu;
  std::condition_variable changed;  // a native thread exited or a wake call returned
  unsigned max_workers;
  const std::string name;
  const size_t max_queue;
  const bool idle_forever;
  const Clock::duration idle_timeout;

  std::deque<Entry> native_queue;
  std::map<uint64_t, Group> groups;
  size_t js_queued = 0;  // across groups
  uint64_t next_seq = 1;
  size_t running = 0;  // work assigned or running, both kinds

  std::list<Thread> threads;          // alive native threads
  std::vector<Thread*> idle_threads;  // LIFO: the last one idle gets work, the others time out
  std::vector<std::thread> exited;    // handles of exited native threads, to join
  unsigned next_thread_number = 1;

  unsigned runners = 0;  // attached, across groups

  uint64_t completed = 0;
  uint64_t failed = 0;
  uint64_t cancelled = 0;
  std::atomic<bool> shut_down{false};  // written under the lock, read outside it by flush()
  // Work off the books but not pushed yet. Drained waits for it too, so a loop gets every result
  // before the drained notification.
  std::atomic<size_t> handing_back{0};
  std::vector<Notice> drain_waiters;
};

namespace {

Clock::duration to_duration(double ms) {
  if (!(ms > 0)) return Clock::duration::zero();  // NaN and negatives too
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}

}  // namespace

Pool::Impl::Impl(const PoolOptions& options)
    : max_workers(std::max(1u, options.max_workers)),
      name(options.name),
      max_queue(options.max_queue),
      // Past about 30 years a deadline would overflow the clock: wait without one.
      idle_forever(options.idle_timeout_ms > 1e12),
      idle_timeout(idle_forever ? Clock::duration::zero() : to_duration(options.idle_timeout_ms)) {}

Pool::Impl::~Impl() {
  // Only reached once no native thread runs pool code; the handles left are exited threads.
  for (auto& handle : exited) {
    if (!handle.joinable()) continue;
    if (handle.get_id() == std::this_thread::get_id()) {
      handle.detach();
    } else {
      handle.join();
    }
  }
}

// ---- Scheduling ------------------------------------------------------------------------------

// Starts queued work while a slot and a taker are free, oldest first. Invariant afterwards: no
// queued work could start now.
void Pool::Impl::schedule_locked(After& after) {
  bool native_ok = true;  // false once spawning a thread failed: stop retrying this round
  while (running < max_workers) {
    bool native = native_ok && !native_queue.empty() &&
                  (!idle_threads.empty() || threads.size() < max_workers);
    Group* js = nullptr;  // the group with the oldest work that an idle runner can take
    for (auto& entry : groups) {
      Group& g = entry.second;
      if (g.queue.empty() || g.idle.empty()) continue;
      if (js == nullptr || g.queue.front().seq < js->queue.front().seq) js = &g;
    }
    if (!native && js == nullptr) return;
    if (native && (js == nullptr || native_queue.front().seq < js->queue.front().seq)) {
      native_ok = start_native_locked(after);
    } else {
      assign_js_locked(*js, after);
    }
  }
}

// Whether new work of this kind would start at once (then it does not count against max_queue).
bool Pool::Impl::startable_locked(const Work& work) {
  if (running >= max_workers) return false;
  if (work.is_js()) {
    Group& g = groups[work.group];
    return g.queue.empty() && !g.idle.empty();
  }
  return native_queue.empty() && (!idle_threads.empty() || threads.size() < max_workers);
}

bool Pool::Impl::start_native_locked(After& after) {
  Entry entry = std::move(native_queue.front());
  native_queue.pop_front();
  ++running;
  if (!idle_threads.empty()) {
    Thread* thread = idle_threads.back();
    idle_threads.pop_back();
    thread->idle = false;
    thread->next = std::move(entry.work);
    after.thread_wakes.push_back(thread->cv);
    return true;
  }
  if (spawn_locked(entry.work)) return true;
  --running;
  if (threads.empty()) {
    // No thread could be started and none is left to run it later: fail it rather than hang.
    send_back_locked(std::move(entry.work), Work::Status::kFailed, after);
    return true;
  }
  native_queue.push_front(std::move(entry));
  return false;
}

// Starts a native thread whose first work is `work`. On failure `work` is left in place.
bool Pool::Impl::spawn_locked(std::unique_ptr<Work>& work) {
  threads.emplace_back();
  Thread* thread = &threads.back();
  thread->owner = this;
  thread->number = next_thread_number++;
  thread->next = std::move(work);
  try {
    // The thread shares the Impl, never the Pool (see pool.h). It blocks on `mu` until we are
    // done here, so `handle` is set before it can look.
    thread->handle = std::thread([impl = shared_from_this(), thread] { impl->run_thread(thread); });
  } catch (...) {
    work = std::move(thread->next);
    threads.pop_back();
    return false;
  }
  return true;
}

void Pool::Impl::assign_js_locked(Group& group, After& after) {
  JsRunner* runner = group.idle.back();
  group.idle.pop_back();
  runner->idle_ = false;
  runner->assigned_ = std::move(group.queue.front().work);
  group.queue.pop_front();
  --js_queued;
  ++running;
  ++runner->waking_;  // detach() waits until this wake call has returned
  after.wakes.push_back(runner);
}

// Another runner is worth starting when JS work waits that no idle, fresh or starting runner
// will take, and the runners would not outnumber max_workers.
bool Pool::Impl::want_runner_locked(Group& group) {
  size_t covered = group.idle.size() + group.fresh + group.starting;
  if (group.queue.size() <= covered) return false;
  if (group.runners + group.starting >= max_workers) return false;
  ++group.starting;
  return true;
}

// A runner left while JS work of its group waits and no other runner will take it: the group's
// thread starts another, asked through the loop of the oldest waiting work (a loop of that thread,
// the only way to reach it). With the thread gone, nothing can run that work: it fails.
void Pool::Impl::replace_runner_locked(uint64_t id, Group& group, After& after) {
  if (group.ended) {
    fail_stranded_js_locked(group, after);
    return;
  }
  if (group.queue.empty() || !want_runner_locked(group)) return;
  after.runner_requests.push_back(Notice{group.queue.front().work->inbox, std::make_unique<RunnerWanted>(pool, id)});
}

// A group with no runner, none starting and no work is dropped (threads come and go).
void Pool::Impl::forget_group_locked(uint64_t id) {
  auto it = groups.find(id);
  if (it == groups.end()) return;
  const Group& g = it->second;
  if (g.runners == 0 && g.starting == 0 && g.queue.empty()) groups.erase(it);
}

// ---- Completion and hand-back ----------------------------------------------------------------

void Pool::Impl::finished_locked(std::unique_ptr<Work> work, After& after) {
  --running;
  if (work->status == Work::Status::kDone) {
    ++completed;
  } else {
    work->status = Work::Status::kFailed;
    ++failed;
  }
  return_locked(std::move(work), after);
}

// Work that never ran (or whose runner left) goes back with `status`, counted.
void Pool::Impl::send_back_locked(std::unique_ptr<Work> work, Work::Status status, After& after) {
  work->status = status;
  if (status == Work::Status::kCancelled) {
    ++cancelled;
  } else {
    ++failed;
  }
  return_locked(std::move(work), after);
}

// Work already counted goes back to its loop once the lock is released.
void Pool::Impl::return_locked(std::unique_ptr<Work> work, After& after) {
  ++handing_back;
  after.back.push_back(std::move(work));
}

// Queued JS work with no runner attached and none starting would wait forever: fail it.
void Pool::Impl::fail_stranded_js_locked(Group& group, After& after) {
  if (group.runners != 0 || group.starting != 0) return;
  for (auto& entry : group.queue) send_back_locked(std::move(entry.work), Work::Status::kFailed, after);
  js_queued -= group.queue.size();
  group.queue.clear();
}

void Pool::Impl::drained_locked(After& after) {
  if (!shut_down || running != 0 || !native_queue.empty() || js_queued != 0) return;
  if (handing_back.load() != 0) return;  // the last one to push checks again (flush)
  for (auto& waiter : drain_waiters) after.drained.push_back(std::move(waiter));
  drain_waiters.clear();
}

void Pool::Impl::flush(After& after) {
  for (auto& cv : after.thread_wakes) cv->notify_one();
  if (!after.wakes.empty()) {
    for (JsRunner* runner : after.wakes) {
      if (runner->wake_) runner->wake_();
    }
    std::lock_guard<std::mutex> lock(mu);
    for (JsRunner* runner : after.wakes) --runner->waking_;  // may be freed once we unlock
    changed.notify_all();
  }
  size_t count = after.back.size();
  for (auto& work : after.back) hand_back(std::move(work));
  // Whoever ends the hand-backs after shutdown checks for drained. shut_down is read after the
  // decrement: if drained_locked() saw our count, it ran after shut_down was set, so we see it.
  if (count != 0 && handing_back.fetch_sub(count) == count && shut_down.load()) {
    std::lock_guard<std::mutex> lock(mu);
    drained_locked(after);
  }
  for (auto& waiter : after.drained) waiter.inbox->push(std::move(waiter.item));
  for (auto& request : after.runner_requests) {
    if (request.inbox) request.inbox->push(std::move(request.item));
    request.item.reset();  // refused (the loop closed): it reports runner_failed itself
  }
}

// ---- Native threads --------------------------------------------------------------------------

void Pool::Impl::run_thread(Thread* self) {
  current_thread() = self;
  name_thread(name, self->number);
  std::unique_lock<std::mutex> lock(mu);
  for (;;) {
    if (!self->next) {
      if (should_exit_locked()) break;
      set_idle_locked(self);
      if (!wait_for_work(lock, self)) break;  // idle timeout
      continue;
    }
    std::unique_ptr<Work> work = std::move(self->next);
    lock.unlock();
    // While busy, one lock per work: accounting the finished one also picks up the next.
    while (work) {
      run_work(*work);
      After after;
      lock.lock();
      finished_locked(std::move(work), after);
      set_idle_locked(self);  // first in line for the next work: no thread is started for it
      schedule_locked(after);
      work = std::move(self->next);
      lock.unlock();
      flush(after);
    }
    lock.lock();
  }
  exit_locked(self);
}

// Shut down with nothing left to run, or more threads than max_workers after a resize.
bool Pool::Impl::should_exit_locked() const {
  return (shut_down && native_queue.empty()) || threads.size() > max_workers;
}

// False when the idle timeout passed with no work.
bool Pool::Impl::wait_for_work(std::unique_lock<std::mutex>& lock, Thread* self) {
  auto deadline = Clock::now() + idle_timeout;
  while (!self->next && !should_exit_locked()) {
    if (idle_forever) {
      self->cv->wait(lock);
    } else if (self->cv->wait_until(lock, deadline) == std::cv_status::timeout) {
      return self->next != nullptr;
    }
  }
  return true;
}

void Pool::Impl::set_idle_locked(Thread* self) {
  if (self->idle) return;
  self->idle = true;
  idle_threads.push_back(self);
}

void Pool::Impl::remove_idle_locked(Thread* self) {
  if (!self->idle) return;
  self->idle = false;
  idle_threads.erase(std::find(idle_threads.begin(), idle_threads.end(), self));
}

// The thread leaves its handle to be joined and removes itself; `self` is gone afterwards.
void Pool::Impl::exit_locked(Thread* self) {
  remove_idle_locked(self);
  if (self->handle.joinable()) exited.push_back(std::move(self->handle));
  threads.remove_if([self](const Thread& thread) { return &thread == self; });
  current_thread() = nullptr;
  changed.notify_all();
}

void Pool::Impl::notify_idle_locked() {
  for (Thread* thread : idle_threads) thread->cv->notify_one();
}

// Waits until no native thread is left but the caller (if it is one of ours, it cannot wait for
// itself: its handle is detached and it exits on its own), then joins the exited ones.
void Pool::Impl::join_threads() {
  Thread* self = current_thread();
  if (self && self->owner != this) self = nullptr;
  std::vector<std::thread> handles;
  {
    std::unique_lock<std::mutex> lock(mu);
    changed.wait(lock, [&] { return threads.size() == (self ? 1u : 0u); });
    if (self && self->handle.joinable()) self->handle.detach();
    handles.swap(exited);
  }
  for (auto& handle : handles) handle.join();
}

// ---- Runners ---------------------------------------------------------------------------------

// The runner leaves: work assigned and not taken goes back to the queue; work taken and not
// finished fails (and goes back to its loop if the runner handed it over).
void Pool::Impl::detach_runner_locked(JsRunner* runner, std::unique_ptr<Work> unfinished,
                                      After& after) {
  if (unfinished) unfinished->status = Work::Status::kFailed;
  if (runner->detached_) {
    if (unfinished) return_locked(std::move(unfinished), after);  // counted at the first detach
    return;
  }
  runner->detached_ = true;
  Group& group = groups[runner->group_];
  --runners;
  --group.runners;
  if (runner->fresh_) {
    runner->fresh_ = false;
    --group.fresh;
  }
  remove_idle_runner_locked(runner);
  if (runner->assigned_) {
    --running;
    group.queue.push_front(Entry{0, std::move(runner->assigned_)});  // it was the oldest
    ++js_queued;
  }
  if (runner->current_) {
    runner->current_ = nullptr;
    --running;
    ++failed;
    // Without it the caller keeps the work; finish() may still send it back.
    if (unfinished) return_locked(std::move(unfinished), after);
  } else if (unfinished) {
    return_locked(std::move(unfinished), after);  // not taken from us: send back, do not count
  }
  schedule_locked(after);
  replace_runner_locked(runner->group_, group, after);
  forget_group_locked(runner->group_);
  drained_locked(after);
}

void Pool::Impl::remove_idle_runner_locked(JsRunner* runner) {
  if (!runner->idle_) return;
  runner->idle_ = false;
  auto& idle = groups[runner->group_].idle;
  idle.erase(std::find(idle.begin(), idle.end(), runner));
}

// After this, no call of the runner's wake is in progress and none will start.
void Pool::Impl::wait_for_wakes(std::unique_lock<std::mutex>& lock, JsRunner* runner) {
  changed.wait(lock, [runner] { return runner->waking_ == 0; });
}

// ---- Pool ------------------------------------------------------------------------------------

std::shared_ptr<Pool> Pool::create(PoolOptions options) {
  options.max_workers = std::max(1u, options.max_workers);
  std::shared_ptr<Pool> pool(new Pool(std::move(options)));
  pool->impl_->pool = pool;
  return pool;
}

Pool::Pool(PoolOptions options) : impl_(std::make_shared<Impl>(options)), options_(std::move(options)) {}

Pool::~Pool() {
  // Nobody can submit or attach any more (runners hold the Pool), so queued work could only wait.
  shutdown(true);
  // Idle threads exit at once: join them. Threads still running work (a long sleep, at process
  // exit) are not waited for: they share the Impl, finish, and exit on their own.
  if (stats().running == 0) impl_->join_threads();
}

Pool::SubmitResult Pool::submit(std::unique_ptr<Work> work, bool* want_runner) {
  if (want_runner) *want_runner = false;
  if (!work) return SubmitResult::kOk;
  Impl& p = *impl_;
  Impl::After after;
  std::vector<std::thread> exited;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    if (p.shut_down) return SubmitResult::kShutdown;
    bool js = work->is_js();
    uint64_t group = work->group;
    size_t queued = p.native_queue.size() + p.js_queued;
    if (p.max_queue != 0 && queued >= p.max_queue && !p.startable_locked(*work)) {
      return SubmitResult::kQueueFull;
    }
    if (js) {
      p.groups[group].queue.push_back(Impl::Entry{p.next_seq++, std::move(work)});
      ++p.js_queued;
    } else {
      p.native_queue.push_back(Impl::Entry{p.next_seq++, std::move(work)});
    }
    p.schedule_locked(after);
    if (want_runner && js) *want_runner = p.want_runner_locked(p.groups[group]);
    exited.swap(p.exited);
  }
  for (auto& handle : exited) handle.join();  // threads that left on idle timeout
  p.flush(after);
  return SubmitResult::kOk;
}

bool Pool::cancel(const Inbox* inbox, uint64_t id) {
  Impl& p = *impl_;
  std::unique_ptr<Work> removed;  // destroyed after the lock is released
  Impl::After after;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    auto matches = [&](const Impl::Entry& entry) {
      return entry.work->inbox.get() == inbox && entry.work->id == id;
    };
    std::vector<std::deque<Impl::Entry>*> queues{&p.native_queue};
    for (auto& entry : p.groups) queues.push_back(&entry.second.queue);
    for (auto* queue : queues) {
      auto it = std::find_if(queue->begin(), queue->end(), matches);
      if (it == queue->end()) continue;
      removed = std::move(it->work);
      queue->erase(it);
      if (queue != &p.native_queue) --p.js_queued;
      ++p.cancelled;
      p.drained_locked(after);
      break;
    }
  }
  bool found = removed != nullptr;
  p.flush(after);
  return found;
}

void Pool::resize(unsigned max_workers) {
  Impl& p = *impl_;
  Impl::After after;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.max_workers = std::max(1u, max_workers);
    p.schedule_locked(after);  // growing: start what waits
    p.notify_idle_locked();    // shrinking: extra idle threads exit
    // ... and extra idle runners leave (should_leave), once woken.
    for (auto& entry : p.groups) {
      if (entry.second.runners <= p.max_workers) continue;
      for (JsRunner* runner : entry.second.idle) {
        ++runner->waking_;
        after.wakes.push_back(runner);
      }
    }
  }
  p.flush(after);
}

PoolStats Pool::stats() {
  Impl& p = *impl_;
  std::lock_guard<std::mutex> lock(p.mu);
  PoolStats stats;
  stats.max_workers = p.max_workers;
  stats.threads = static_cast<unsigned>(p.threads.size()) + p.runners;
  stats.idle = static_cast<unsigned>(p.idle_threads.size());
  for (auto& entry : p.groups) stats.idle += static_cast<unsigned>(entry.second.idle.size());
  stats.queued = p.native_queue.size() + p.js_queued;
  stats.running = p.running;
  stats.completed = p.completed;
  stats.failed = p.failed;
  stats.cancelled = p.cancelled;
  return stats;
}

bool Pool::is_shutdown() { return impl_->shut_down.load(); }

void Pool::shutdown(bool cancel_queued) {
  Impl& p = *impl_;
  Impl::After after;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.shut_down = true;
    if (cancel_queued) {
      std::vector<std::deque<Impl::Entry>*> queues{&p.native_queue};
      for (auto& entry : p.groups) queues.push_back(&entry.second.queue);
      for (auto* queue : queues) {
        for (auto& entry : *queue) {
          p.send_back_locked(std::move(entry.work), Work::Status::kCancelled, after);
        }
        queue->clear();
      }
      p.js_queued = 0;
    }
    p.notify_idle_locked();  // idle threads exit once the queue is empty
    // Idle runners are woken too: with nothing left for them, they leave (should_leave).
    for (auto& entry : p.groups) {
      if (!entry.second.queue.empty()) continue;
      for (JsRunner* runner : entry.second.idle) {
        ++runner->waking_;
        after.wakes.push_back(runner);
      }
    }
    p.drained_locked(after);
  }
  p.flush(after);
}

void Pool::when_drained(std::shared_ptr<Inbox> inbox, std::unique_ptr<Item> notify) {
  if (!inbox || !notify) return;
  Impl& p = *impl_;
  Impl::After after;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    p.drain_waiters.push_back(Impl::Notice{std::move(inbox), std::move(notify)});
    p.drained_locked(after);
  }
  p.flush(after);
}

void Pool::join() { impl_->join_threads(); }

std::shared_ptr<JsRunner> Pool::attach_runner(std::function<void()> wake, uint64_t group) {
  std::shared_ptr<JsRunner> runner(new JsRunner(shared_from_this(), std::move(wake), group));
  Impl& p = *impl_;
  unsigned number;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    Impl::Group& g = p.groups[group];
    if (g.starting != 0) --g.starting;
    ++g.runners;
    ++g.fresh;
    ++p.runners;
    number = p.next_thread_number++;
  }
  name_thread(p.name, number);
  return runner;
}

void Pool::runner_failed(uint64_t group) {
  Impl& p = *impl_;
  Impl::After after;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    Impl::Group& g = p.groups[group];
    if (g.starting != 0) --g.starting;
    p.fail_stranded_js_locked(g, after);
    p.forget_group_locked(group);
  }
  p.flush(after);
}

void Pool::end_group(uint64_t group) {
  Impl& p = *impl_;
  Impl::After after;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    auto it = p.groups.find(group);
    if (it == p.groups.end()) return;
    it->second.ended = true;
    it->second.starting = 0;  // runners it was starting died with it, unattached
    p.fail_stranded_js_locked(it->second, after);
    p.forget_group_locked(group);
  }
  p.flush(after);
}

RunnerWanted::~RunnerWanted() {
  if (auto pool = pool_.lock()) pool->runner_failed(group);
}

// ---- JsRunner --------------------------------------------------------------------------------

JsRunner::JsRunner(std::shared_ptr<Pool> pool, std::function<void()> wake, uint64_t group)
    : pool_(std::move(pool)), group_(group), wake_(std::move(wake)) {}

JsRunner::~JsRunner() { detach(); }

std::unique_ptr<Work> JsRunner::take() {
  Pool::Impl& p = *pool_->impl_;
  std::lock_guard<std::mutex> lock(p.mu);
  if (detached_ || current_) return nullptr;
  Pool::Impl::Group& group = p.groups[group_];
  if (fresh_) {
    fresh_ = false;
    --group.fresh;
  }
  if (assigned_) {
    current_ = assigned_.get();
    return std::move(assigned_);
  }
  if (p.running < p.max_workers && !group.queue.empty()) {
    p.remove_idle_runner_locked(this);
    std::unique_ptr<Work> work = std::move(group.queue.front().work);
    group.queue.pop_front();
    --p.js_queued;
    ++p.running;
    current_ = work.get();
    return work;
  }
  if (!idle_) {
    idle_ = true;
    group.idle.push_back(this);
  }
  return nullptr;
}

void JsRunner::finish(std::unique_ptr<Work> work) {
  if (!work) return;
  if (work->status != Work::Status::kDone) work->status = Work::Status::kFailed;
  Pool::Impl& p = *pool_->impl_;
  Pool::Impl::After after;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    if (current_ == work.get() && !detached_) {
      current_ = nullptr;
      p.finished_locked(std::move(work), after);
      p.schedule_locked(after);
      // Shut down and this group's queue drained: its idle runners have nothing left to wait for.
      Pool::Impl::Group& group = p.groups[group_];
      if (p.shut_down && group.queue.empty()) {
        for (JsRunner* runner : group.idle) {
          ++runner->waking_;
          after.wakes.push_back(runner);
        }
      }
    } else {
      // Already counted (failed when its runner detached): only send it back.
      if (detached_) work->status = Work::Status::kFailed;
      p.return_locked(std::move(work), after);
    }
  }
  p.flush(after);
}

void JsRunner::detach(std::unique_ptr<Work> unfinished) {
  Pool::Impl& p = *pool_->impl_;
  Pool::Impl::After after;
  {
    std::unique_lock<std::mutex> lock(p.mu);
    p.detach_runner_locked(this, std::move(unfinished), after);
    p.wait_for_wakes(lock, this);
  }
  p.flush(after);
}

bool JsRunner::should_leave() {
  Pool::Impl& p = *pool_->impl_;
  std::lock_guard<std::mutex> lock(p.mu);
  return p.shut_down || p.groups[group_].runners > p.max_workers;
}

bool JsRunner::leave_if_idle() {
  Pool::Impl& p = *pool_->impl_;
  Pool::Impl::After after;
  {
    std::unique_lock<std::mutex> lock(p.mu);
    if (detached_) return true;
    if (current_ || assigned_ || !p.groups[group_].queue.empty()) return false;
    p.detach_runner_locked(this, nullptr, after);
    p.wait_for_wakes(lock, this);
  }
  p.flush(after);
  return true;
}

}  // namespace evloop
