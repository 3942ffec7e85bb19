// The blocking pool: its own threads and queue, independent of every loop (Tokio's blocking
// pool, Python's ThreadPoolExecutor). Finished work goes back to the inbox of the loop that
// submitted it. Native work runs on the pool's own threads; JavaScript work is taken by
// JsRunners, JavaScript-capable threads that the embedding layer starts when asked to.
// maxWorkers bounds what runs at once, of both kinds together.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "work.h"

namespace evloop {

struct PoolOptions {
  unsigned max_workers = 4;
  std::string name = "evloop";
  size_t max_queue = 0;            // 0: unbounded
  double idle_timeout_ms = 60000;  // an idle thread exits after this long
};

struct PoolStats {
  unsigned max_workers = 0;
  unsigned threads = 0;  // native threads + attached JS runners
  unsigned idle = 0;     // of those, how many wait for work
  size_t queued = 0;
  size_t running = 0;
  uint64_t completed = 0;
  uint64_t failed = 0;
  uint64_t cancelled = 0;
};

class Pool;

// A JavaScript-capable thread attached to a pool. `wake` is called (from any thread, with no
// pool lock held) when JS work is queued while this runner is idle. It must not block, and it is
// never called once detach() has returned.
class JsRunner {
 public:
  // Detaches if still attached.
  ~JsRunner();
  JsRunner(const JsRunner&) = delete;
  JsRunner& operator=(const JsRunner&) = delete;

  // The next JS work to run, or null: then the runner is idle until `wake` is called.
  // Call it once after attach_runner() and again after each finish() and each wake.
  std::unique_ptr<Work> take();
  // Hands finished work back to its loop. Its status must be kDone or kFailed.
  void finish(std::unique_ptr<Work> work);
  // The thread is leaving (idle exit or teardown). Work it had taken and not finished fails:
  // pass it here (or to finish() afterwards) and it goes back to its loop with status kFailed.
  // The pool never owns work a runner has taken, so it cannot send it back by itself.
  void detach(std::unique_ptr<Work> unfinished = nullptr);
  // For an idle exit: detaches and returns true unless JS work waits for a slot (then stay
  // attached; `wake` comes when a slot frees).
  bool leave_if_idle();
  // The pool was shut down, or has more runners in this group than max_workers (after a
  // resize): an idle runner should leave.
  bool should_leave();

 private:
  friend class Pool;
  JsRunner(std::shared_ptr<Pool> pool, std::function<void()> wake, uint64_t group);
  // Everything below is guarded by the pool's lock.
  std::shared_ptr<Pool> pool_;
  const uint64_t group_;
  std::function<void()> wake_;
  bool fresh_ = true;   // attached and has not called take() yet
  bool idle_ = false;   // waits for `wake`; the pool may assign it work
  bool detached_ = false;
  unsigned waking_ = 0;             // calls of wake_ in progress (detach waits for them)
  std::unique_ptr<Work> assigned_;  // given by the pool while idle, not taken yet
  Work* current_ = nullptr;         // taken and not finished
};

// Pushed to a loop of `group`'s thread when a runner left (its context died) while the group's JS
// work still waits: that thread should start a runner, as for submit's `want_runner`. Unanswered
// (the loop closed before it saw this), it tells the pool the runner could not start.
class RunnerWanted : public Item {
 public:
  RunnerWanted(std::weak_ptr<Pool> pool, uint64_t group)
      : Item(Kind::kRunnerWanted), group(group), pool_(std::move(pool)) {}
  ~RunnerWanted() override;
  // The loop takes the request: it starts the runner, or calls runner_failed. Null if the pool is gone.
  std::shared_ptr<Pool> answer() { return std::exchange(pool_, {}).lock(); }
  const uint64_t group;

 private:
  std::weak_ptr<Pool> pool_;
};

class Pool : public std::enable_shared_from_this<Pool> {
 public:
  enum class SubmitResult { kOk, kShutdown, kQueueFull };

  static std::shared_ptr<Pool> create(PoolOptions options);
  ~Pool();  // shutdown(true); joins the native threads unless some still run work

  // On kOk the pool owns the work. `want_runner` is set when JS work waits and another
  // JsRunner may start (fewer runners than max_workers, and more JS work waiting than idle,
  // just-attached and already-starting runners will take): the caller should start one and
  // attach it; call runner_failed() if it could not.
  SubmitResult submit(std::unique_ptr<Work> work, bool* want_runner = nullptr);
  // Removes queued work of `inbox` with `id`; true if it had not started (counted cancelled).
  bool cancel(const Inbox* inbox, uint64_t id);
  void resize(unsigned max_workers);
  PoolStats stats();
  const PoolOptions& options() const { return options_; }
  bool is_shutdown();

  // No more submits. With cancel_queued, queued work goes back to its inbox with status
  // kCancelled. Native threads exit once the queue is empty.
  void shutdown(bool cancel_queued);
  // Once shut down and nothing is queued or running, `notify` is pushed to its inbox
  // (at once if that is already so).
  void when_drained(std::shared_ptr<Inbox> inbox, std::unique_ptr<Item> notify);
  // Waits for the native threads to exit (after shutdown); for tests and teardown.
  void join();

  // Runners come in groups (see Work::group): a runner takes only its group's JS work.
  // attach_runner also names the calling thread `<name>-<n>`.
  std::shared_ptr<JsRunner> attach_runner(std::function<void()> wake, uint64_t group);
  // The runner submit asked for (for `group`) could not be started.
  void runner_failed(uint64_t group);
  // The thread behind `group` is gone: no runner of its group will start again, and its queued
  // JS work fails (its loops are gone too).
  void end_group(uint64_t group);

 private:
  // The state lives in Impl, shared with the native threads: a thread never holds the Pool, so
  // the Pool dies when its last user drops it, and ~Pool joins every thread but (in the corner
  // case where that last user is a pool thread) the calling one, which is detached and exits on
  // its own, still owning the Impl it uses.
  explicit Pool(PoolOptions options);
  friend class JsRunner;
  struct Impl;
  std::shared_ptr<Impl> impl_;
  PoolOptions options_;
};

}  // namespace evloop
