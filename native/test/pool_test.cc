// The blocking pool, with real libuv loops receiving the results. Every wait is bounded: a stuck
// pool fails a CHECK instead of hanging the test run.
#include "pool.h"

#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifdef __linux__
#include <dirent.h>
#endif

#include "check.h"

using namespace evloop;
using Clock = std::chrono::steady_clock;
using Result = Pool::SubmitResult;
using Status = Work::Status;

namespace {

constexpr auto kPatience = std::chrono::seconds(20);  // far beyond any wait that should succeed

// A latch the test opens; waiting past kPatience fails the test.
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    CHECK(cv_.wait_for(lock, kPatience, [&] { return open_; }));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Shared by the work of one test: how many run at once, at most, and a gate they may wait at.
struct Probe {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  std::atomic<int> started{0};
  std::atomic<int> destroyed{0};
  bool gated = false;
  Gate gate;
};

class TestWork : public Work {
 public:
  TestWork(std::shared_ptr<Inbox> inbox, uint64_t id, std::shared_ptr<Probe> probe, bool js = false)
      : Work(std::move(inbox), id), probe_(std::move(probe)), js_(js) {}
  ~TestWork() override { probe_->destroyed++; }

  bool is_js() const override { return js_; }
  void run() override { perform(); }

  // What a native thread or a (fake) JS runner does with it.
  void perform() {
    int n = ++probe_->now;
    int peak = probe_->peak.load();
    while (n > peak && !probe_->peak.compare_exchange_weak(peak, n)) {
    }
    seen_at_start = n;
    probe_->started++;
    if (probe_->gated) probe_->gate.wait();
    for (int i = 0; i < spin; i++) std::this_thread::yield();
    if (before_end) before_end();
    probe_->now--;
    if (throws) throw std::runtime_error("boom");
    status = fails ? Status::kFailed : Status::kDone;
  }

  int tag = 0;
  int spin = 0;
  bool fails = false;
  bool throws = false;
  int seen_at_start = 0;
  std::function<void()> before_end;

 private:
  std::shared_ptr<Probe> probe_;
  bool js_;
};

class Marker : public Item {
 public:
  Marker() : Item(Kind::kDrained) {}
};

// A libuv loop that receives its inbox's items, for the thread that creates it.
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
    inbox->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&loop_), 0);
  }

  // Runs the loop until `done` holds after a batch, or `ms` pass. Returns whether it held.
  bool run_until(std::function<bool()> done, uint64_t ms = 20000) {
    done_ = std::move(done);
    if (!done_()) {
      uv_timer_start(&timer_, on_timeout, ms, 0);
      uv_run(&loop_, UV_RUN_DEFAULT);
      uv_timer_stop(&timer_);
    }
    bool held = done_();
    done_ = nullptr;
    return held;
  }
  bool run_until_works(size_t count) {
    return run_until([&] { return works.size() >= count; });
  }
  bool run_until_drained() {
    return run_until([&] { return drained != 0; });
  }
  // Gives what is already pushed a chance to arrive.
  void run_once() { uv_run(&loop_, UV_RUN_NOWAIT); }

  std::shared_ptr<Inbox> inbox;
  std::vector<std::unique_ptr<TestWork>> works;  // in arrival order
  std::vector<std::unique_ptr<RunnerWanted>> runner_requests;  // kept unanswered until the test acts
  int drained = 0;
  size_t works_before_drained = 0;

 private:
  static void on_async(uv_async_t* handle) {
    auto* self = static_cast<TestLoop*>(handle->data);
    std::vector<std::unique_ptr<Item>> batch;
    self->inbox->take(batch);
    for (auto& item : batch) {
      if (item->kind == Item::Kind::kDrained) {
        if (self->drained++ == 0) self->works_before_drained = self->works.size();
        continue;
      }
      if (item->kind == Item::Kind::kRunnerWanted) {
        self->runner_requests.emplace_back(static_cast<RunnerWanted*>(item.release()));
        continue;
      }
      CHECK(item->kind == Item::Kind::kWork);
      auto* work = static_cast<TestWork*>(item.release());
      CHECK(work->inbox == self->inbox);  // it came back to the loop that submitted it
      self->works.emplace_back(work);
    }
    if (self->done_ && self->done_()) uv_stop(&self->loop_);
  }
  static void on_timeout(uv_timer_t* handle) {
    uv_stop(&static_cast<TestLoop*>(handle->data)->loop_);
  }

  uv_loop_t loop_;
  uv_async_t async_;
  uv_timer_t timer_;
  std::function<bool()> done_;
};

// Bounded polling of something only the pool's counters show.
bool eventually(const std::function<bool()>& condition) {
  auto deadline = Clock::now() + kPatience;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

PoolOptions options(unsigned max_workers, double idle_timeout_ms = 60000, size_t max_queue = 0,
                    std::string name = "evloop") {
  PoolOptions o;
  o.max_workers = max_workers;
  o.idle_timeout_ms = idle_timeout_ms;
  o.max_queue = max_queue;
  o.name = std::move(name);
  return o;
}

std::unique_ptr<TestWork> make(TestLoop& loop, uint64_t id, const std::shared_ptr<Probe>& probe,
                               bool js = false) {
  return std::make_unique<TestWork>(loop.inbox, id, probe, js);
}

std::shared_ptr<Probe> gated_probe() {
  auto probe = std::make_shared<Probe>();
  probe->gated = true;
  return probe;
}

std::set<uint64_t> ids_of(const TestLoop& loop) {
  std::set<uint64_t> ids;
  for (auto& work : loop.works) ids.insert(work->id);
  return ids;
}

size_t count_status(const TestLoop& loop, Status status) {
  return std::count_if(loop.works.begin(), loop.works.end(),
                       [&](const std::unique_ptr<TestWork>& w) { return w->status == status; });
}

// A JavaScript-capable thread as the binding runs one: take, run, finish; idle until woken.
class FakeRunner {
 public:
  explicit FakeRunner(const std::shared_ptr<Pool>& pool) {
    runner = pool->attach_runner([this] { wake(); }, 0);
    thread_ = std::thread([this] { main(); });
  }
  ~FakeRunner() { stop(); }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    runner->detach();
  }

  std::shared_ptr<JsRunner> runner;
  std::atomic<int> wakes{0};
  std::atomic<int> ran{0};

 private:
  void wake() {
    wakes++;
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
    cv_.notify_all();
  }
  void main() {
    for (;;) {
      std::unique_ptr<Work> work = runner->take();
      if (work) {
        CHECK(work->is_js());
        static_cast<TestWork&>(*work).perform();
        ran++;
        runner->finish(std::move(work));
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      CHECK(cv_.wait_for(lock, kPatience, [&] { return woken_ || stop_; }));
      if (stop_) return;
      woken_ = false;
    }
  }

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stop_ = false;
};

}  // namespace

// ---- Results and limits ------------------------------------------------------------------------

TEST(results_go_back_to_the_loop_that_submitted_them) {
  constexpr int kLoops = 4;
  constexpr int kEach = 2500;
  auto pool = Pool::create(options(4));
  std::vector<std::thread> threads;
  for (int l = 0; l < kLoops; l++) {
    threads.emplace_back([&pool, l] {
      auto probe = std::make_shared<Probe>();
      TestLoop loop;
      // Submit in rounds while results arrive, so submissions and results of all loops interleave.
      for (int round = 0; round < 5; round++) {
        for (int i = round * kEach / 5; i < (round + 1) * kEach / 5; i++) {
          auto work = make(loop, static_cast<uint64_t>(i), probe);
          work->tag = l;
          CHECK(pool->submit(std::move(work)) == Result::kOk);
        }
        loop.run_once();
      }
      CHECK(loop.run_until_works(kEach));
      loop.run_once();
      CHECK_EQ(loop.works.size(), size_t{kEach});
      std::vector<int> seen(kEach, 0);
      for (auto& work : loop.works) {
        CHECK_EQ(work->tag, l);
        CHECK_EQ(work->status, Status::kDone);
        CHECK(work->id < uint64_t{kEach});
        seen[work->id]++;
      }
      for (int count : seen) CHECK_EQ(count, 1);
    });
  }
  for (auto& thread : threads) thread.join();
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.completed, uint64_t{kLoops} * kEach);
  CHECK_EQ(stats.failed, 0u);
  CHECK_EQ(stats.queued + stats.running, 0u);
  CHECK(stats.threads <= 4);
}

TEST(max_workers_bounds_what_runs_at_once) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(3));
  for (int i = 0; i < 10; i++) CHECK(pool->submit(make(loop, i, probe)) == Result::kOk);
  CHECK(eventually([&] { return probe->now == 3; }));
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.running, 3u);
  CHECK_EQ(stats.queued, 7u);
  CHECK_EQ(stats.threads, 3u);
  CHECK_EQ(stats.idle, 0u);
  probe->gate.open();
  CHECK(loop.run_until_works(10));
  CHECK_EQ(probe->peak.load(), 3);
}

TEST(max_workers_holds_under_load) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  std::thread other([&] {
    for (int i = 0; i < 300; i++) {
      auto work = make(loop, 1000 + i, probe);
      work->spin = 20;
      CHECK(pool->submit(std::move(work)) == Result::kOk);
    }
  });
  for (int i = 0; i < 300; i++) {
    auto work = make(loop, i, probe);
    work->spin = 20;
    CHECK(pool->submit(std::move(work)) == Result::kOk);
  }
  other.join();
  CHECK(loop.run_until_works(600));
  CHECK(probe->peak.load() <= 2);
  CHECK(pool->stats().threads <= 2);
}

TEST(threads_start_on_demand_and_exit_when_idle) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(8, /*idle_timeout_ms=*/100));
  CHECK_EQ(pool->stats().threads, 0u);
  CHECK(pool->submit(make(loop, 1, probe)) == Result::kOk);
  CHECK(pool->submit(make(loop, 2, probe)) == Result::kOk);
  CHECK(eventually([&] { return probe->now == 2; }));
  CHECK_EQ(pool->stats().threads, 2u);  // two works, two threads, not max_workers
  probe->gate.open();
  CHECK(loop.run_until_works(2));
  CHECK(eventually([&] { return pool->stats().threads == 0; }));
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.idle, 0u);
  CHECK_EQ(stats.completed, 2u);
  // And they start again on demand.
  CHECK(pool->submit(make(loop, 3, probe)) == Result::kOk);
  CHECK(loop.run_until_works(3));
  CHECK_EQ(count_status(loop, Status::kDone), 3u);
}

TEST(an_idle_thread_is_reused) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(8));
  for (int i = 0; i < 50; i++) {
    CHECK(pool->submit(make(loop, i, probe)) == Result::kOk);
    CHECK(loop.run_until_works(i + 1));
  }
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.threads, 1u);
  CHECK_EQ(stats.idle, 1u);
}

TEST(idle_timeout_zero_exits_at_once) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2, /*idle_timeout_ms=*/0));
  for (int i = 0; i < 20; i++) CHECK(pool->submit(make(loop, i, probe)) == Result::kOk);
  CHECK(loop.run_until_works(20));
  CHECK(eventually([&] { return pool->stats().threads == 0; }));
}

TEST(resize_up_and_down_while_busy) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(1));
  for (int i = 0; i < 6; i++) CHECK(pool->submit(make(loop, i, probe)) == Result::kOk);
  CHECK(eventually([&] { return probe->now == 1; }));
  CHECK_EQ(pool->stats().queued, 5u);

  pool->resize(3);  // queued work starts at once
  CHECK(eventually([&] { return probe->now == 3; }));
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.max_workers, 3u);
  CHECK_EQ(stats.running, 3u);
  CHECK_EQ(stats.queued, 3u);
  CHECK_EQ(stats.threads, 3u);

  pool->resize(1);  // running work finishes; what starts later runs alone
  CHECK_EQ(pool->stats().max_workers, 1u);
  probe->gate.open();
  CHECK(loop.run_until_works(6));
  for (auto& work : loop.works) {
    if (work->id >= 3) CHECK_EQ(work->seen_at_start, 1);
  }
  CHECK(eventually([&] { return pool->stats().threads == 1; }));  // extra threads left
  CHECK_EQ(pool->stats().completed, 6u);
}

TEST(resize_down_makes_idle_threads_exit) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(4));
  for (int i = 0; i < 4; i++) CHECK(pool->submit(make(loop, i, probe)) == Result::kOk);
  CHECK(eventually([&] { return probe->now == 4; }));
  probe->gate.open();
  CHECK(loop.run_until_works(4));
  CHECK(eventually([&] { return pool->stats().idle == 4; }));
  pool->resize(2);
  CHECK(eventually([&] { return pool->stats().threads == 2; }));
}

TEST(max_queue_refuses_with_queue_full) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(1, 60000, /*max_queue=*/2));
  CHECK(pool->submit(make(loop, 0, probe)) == Result::kOk);  // runs: not queued
  CHECK(pool->submit(make(loop, 1, probe)) == Result::kOk);
  CHECK(pool->submit(make(loop, 2, probe)) == Result::kOk);
  CHECK(pool->submit(make(loop, 3, probe)) == Result::kQueueFull);
  CHECK_EQ(probe->destroyed.load(), 1);  // the refused work is not kept
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.queued, 2u);
  CHECK_EQ(stats.running, 1u);
  probe->gate.open();
  CHECK(loop.run_until_works(3));
  CHECK((ids_of(loop) == std::set<uint64_t>{0, 1, 2}));
  CHECK(pool->submit(make(loop, 4, probe)) == Result::kOk);  // room again
  CHECK(loop.run_until_works(4));
}

TEST(failures_and_exceptions_count_as_failed) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  auto failing = make(loop, 1, probe);
  failing->fails = true;
  auto throwing = make(loop, 2, probe);
  throwing->throws = true;
  CHECK(pool->submit(std::move(failing)) == Result::kOk);
  CHECK(pool->submit(std::move(throwing)) == Result::kOk);
  CHECK(pool->submit(make(loop, 3, probe)) == Result::kOk);
  CHECK(loop.run_until_works(3));
  for (auto& work : loop.works) {
    CHECK_EQ(work->status, work->id == 3 ? Status::kDone : Status::kFailed);
  }
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.completed, 1u);
  CHECK_EQ(stats.failed, 2u);
}

// ---- Cancel and shutdown -----------------------------------------------------------------------

TEST(cancel_removes_queued_work_only) {
  auto probe = gated_probe();
  TestLoop loop;
  TestLoop other;
  auto pool = Pool::create(options(1));
  for (int i = 0; i < 4; i++) CHECK(pool->submit(make(loop, i, probe)) == Result::kOk);
  CHECK(eventually([&] { return probe->now == 1; }));
  CHECK(pool->cancel(loop.inbox.get(), 2));
  CHECK_EQ(probe->destroyed.load(), 1);  // destroyed, not pushed back
  CHECK(!pool->cancel(loop.inbox.get(), 2));   // already gone
  CHECK(!pool->cancel(loop.inbox.get(), 0));   // running
  CHECK(!pool->cancel(other.inbox.get(), 1));  // same id, another loop
  CHECK(!pool->cancel(loop.inbox.get(), 99));  // never submitted
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.cancelled, 1u);
  CHECK_EQ(stats.queued, 2u);
  probe->gate.open();
  CHECK(loop.run_until_works(3));
  CHECK((ids_of(loop) == std::set<uint64_t>{0, 1, 3}));
  pool->shutdown(false);
  pool->when_drained(loop.inbox, std::make_unique<Marker>());
  CHECK(loop.run_until_drained());
  CHECK_EQ(loop.works.size(), 3u);
  CHECK_EQ(pool->stats().completed, 3u);
}

TEST(shutdown_with_cancel_sends_queued_work_back_cancelled) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(1));
  for (int i = 0; i < 6; i++) CHECK(pool->submit(make(loop, i, probe)) == Result::kOk);
  CHECK(eventually([&] { return probe->now == 1; }));
  pool->when_drained(loop.inbox, std::make_unique<Marker>());  // before shutdown: waits for it
  CHECK(!pool->is_shutdown());
  pool->shutdown(true);
  CHECK(pool->is_shutdown());
  CHECK(pool->submit(make(loop, 100, probe)) == Result::kShutdown);
  CHECK(loop.run_until_works(5));
  CHECK_EQ(count_status(loop, Status::kCancelled), 5u);
  CHECK_EQ(loop.drained, 0);  // one is still running
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.cancelled, 5u);
  CHECK_EQ(stats.queued, 0u);
  CHECK_EQ(stats.running, 1u);
  probe->gate.open();
  CHECK(loop.run_until_drained());
  CHECK_EQ(loop.works.size(), 6u);
  CHECK_EQ(loop.works_before_drained, 6u);  // the last result arrived before the drained item
  CHECK_EQ(loop.works.back()->id, 0u);
  CHECK_EQ(loop.works.back()->status, Status::kDone);
  pool->join();
  CHECK_EQ(pool->stats().threads, 0u);
}

TEST(shutdown_without_cancel_runs_queued_work) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  for (int i = 0; i < 6; i++) CHECK(pool->submit(make(loop, i, probe)) == Result::kOk);
  pool->shutdown(false);
  CHECK(pool->submit(make(loop, 100, probe)) == Result::kShutdown);
  pool->when_drained(loop.inbox, std::make_unique<Marker>());
  probe->gate.open();
  CHECK(loop.run_until_drained());
  CHECK_EQ(loop.works_before_drained, 6u);
  CHECK_EQ(count_status(loop, Status::kDone), 6u);
  pool->join();
  CHECK_EQ(pool->stats().threads, 0u);
}

TEST(when_drained_is_immediate_once_drained) {
  TestLoop loop;
  auto pool = Pool::create(options(2));
  pool->when_drained(loop.inbox, std::make_unique<Marker>());
  loop.run_once();
  CHECK_EQ(loop.drained, 0);  // not shut down yet
  pool->shutdown(false);      // nothing in flight: drained now
  CHECK(loop.run_until_drained());
  pool->when_drained(loop.inbox, std::make_unique<Marker>());
  CHECK(loop.run_until([&] { return loop.drained == 2; }));
  pool->join();
}

void shutdown_races_submits(bool cancel_queued) {
  constexpr int kSubmitters = 4;
  constexpr int kEach = 3000;
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  std::atomic<bool> shut{false};
  std::vector<std::vector<uint64_t>> accepted(kSubmitters);
  std::vector<std::thread> submitters;
  for (int s = 0; s < kSubmitters; s++) {
    submitters.emplace_back([&, s] {
      for (int i = 0; i < kEach; i++) {
        uint64_t id = uint64_t(s) * 1000000 + i;
        bool was_shut = shut.load();
        auto work = make(loop, id, probe);
        work->spin = 2;
        Result result = pool->submit(std::move(work));
        if (result == Result::kShutdown) break;
        CHECK(!was_shut);  // nothing is accepted once shutdown() has returned
        CHECK(result == Result::kOk);
        accepted[s].push_back(id);
      }
    });
  }
  CHECK(eventually([&] { return pool->stats().completed >= 200; }));
  pool->shutdown(cancel_queued);
  shut = true;
  pool->when_drained(loop.inbox, std::make_unique<Marker>());
  for (auto& thread : submitters) thread.join();

  std::set<uint64_t> expected;
  for (auto& ids : accepted) expected.insert(ids.begin(), ids.end());
  CHECK(loop.run_until_drained());
  loop.run_once();
  CHECK_EQ(loop.drained, 1);
  CHECK_EQ(loop.works.size(), expected.size());  // each accepted work came back exactly once
  CHECK_EQ(loop.works_before_drained, expected.size());
  CHECK(ids_of(loop) == expected);
  size_t done = count_status(loop, Status::kDone);
  size_t cancelled = count_status(loop, Status::kCancelled);
  CHECK_EQ(done + cancelled, expected.size());
  if (!cancel_queued) CHECK_EQ(cancelled, 0u);
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.completed, done);
  CHECK_EQ(stats.cancelled, cancelled);
  CHECK_EQ(stats.failed, 0u);
  CHECK_EQ(stats.queued + stats.running, 0u);
  pool->join();
  CHECK_EQ(pool->stats().threads, 0u);
}

TEST(shutdown_races_submits_from_several_threads) { shutdown_races_submits(false); }
TEST(shutdown_with_cancel_races_submits_from_several_threads) { shutdown_races_submits(true); }

TEST(destroying_the_pool_cancels_queued_work_and_joins) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(1));
  for (int i = 0; i < 4; i++) CHECK(pool->submit(make(loop, i, probe)) == Result::kOk);
  CHECK(eventually([&] { return probe->now == 1; }));
  std::thread dropper([&] { pool.reset(); });  // blocks in ~Pool until the running work ends
  CHECK(loop.run_until_works(3));
  CHECK_EQ(count_status(loop, Status::kCancelled), 3u);
  probe->gate.open();
  dropper.join();
  CHECK(loop.run_until_works(4));
  CHECK_EQ(loop.works.back()->id, 0u);
  CHECK_EQ(loop.works.back()->status, Status::kDone);
}

TEST(the_last_reference_dropped_on_a_pool_thread) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  CHECK(pool->submit(make(loop, 1, probe)) == Result::kOk);  // keeps the other thread busy
  CHECK(eventually([&] { return probe->now == 1; }));
  auto killer = make(loop, 2, std::make_shared<Probe>());
  std::shared_ptr<Pool> held = pool;
  Gate released;
  std::atomic<bool> dropped{false};
  killer->before_end = [&held, &released, &dropped] {
    released.wait();
    held.reset();  // the last reference: ~Pool runs here, on a pool thread, and must not join it
    dropped = true;
  };
  CHECK(pool->submit(std::move(killer)) == Result::kOk);
  pool.reset();
  released.open();
  probe->gate.open();  // the other thread's work ends, so ~Pool can join that thread
  CHECK(loop.run_until_works(2));
  CHECK(dropped.load());
  for (auto& work : loop.works) CHECK_EQ(work->status, Status::kDone);
}

// ---- JavaScript runners ------------------------------------------------------------------------

TEST(js_work_asks_for_runners_up_to_max_workers) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  bool want = false;
  CHECK(pool->submit(make(loop, 1, probe, true), &want) == Result::kOk);
  CHECK(want);
  CHECK(pool->submit(make(loop, 2, probe, true), &want) == Result::kOk);
  CHECK(want);  // two waiting, one starting
  CHECK(pool->submit(make(loop, 3, probe, true), &want) == Result::kOk);
  CHECK(!want);  // max_workers runners on their way
  CHECK(pool->submit(make(loop, 4, probe), &want) == Result::kOk);
  CHECK(!want);
  CHECK(loop.run_until_works(1));  // native work does not wait for runners
  CHECK_EQ(loop.works[0]->id, 4u);
  CHECK_EQ(pool->stats().queued, 3u);
  {
    FakeRunner a(pool);
    FakeRunner b(pool);
    CHECK(loop.run_until_works(4));
    CHECK_EQ(pool->stats().threads, 3u);  // two runners, one native thread
    CHECK_EQ(a.ran + b.ran, 3);
  }
  CHECK_EQ(count_status(loop, Status::kDone), 4u);
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.threads, 1u);
  CHECK_EQ(stats.completed, 4u);
}

TEST(an_idle_runner_is_woken_for_js_work) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  FakeRunner runner(pool);
  CHECK(eventually([&] { return pool->stats().idle == 1; }));
  bool want = true;
  for (int i = 0; i < 20; i++) {
    CHECK(pool->submit(make(loop, i, probe, true), &want) == Result::kOk);
    CHECK(!want || i > 0);  // the idle runner covers the first
    CHECK(loop.run_until_works(i + 1));
  }
  CHECK(runner.wakes >= 1);
  CHECK_EQ(runner.ran.load(), 20);
}

TEST(native_and_js_work_share_max_workers) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  FakeRunner a(pool);
  FakeRunner b(pool);
  CHECK(eventually([&] { return pool->stats().idle == 2; }));
  CHECK(pool->submit(make(loop, 0, probe)) == Result::kOk);
  for (int i = 1; i <= 3; i++) CHECK(pool->submit(make(loop, i, probe, true)) == Result::kOk);
  CHECK(pool->submit(make(loop, 4, probe)) == Result::kOk);
  CHECK(eventually([&] { return probe->now == 2; }));
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.running, 2u);
  CHECK_EQ(stats.queued, 3u);
  probe->gate.open();
  CHECK(loop.run_until_works(5));
  CHECK_EQ(probe->peak.load(), 2);
  CHECK_EQ(a.ran + b.ran, 3);
}

TEST(detach_fails_taken_work_and_hands_it_back) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  bool want = false;
  CHECK(pool->submit(make(loop, 1, probe, true), &want) == Result::kOk);
  CHECK(want);
  CHECK(pool->submit(make(loop, 2, probe, true), &want) == Result::kOk);
  std::mutex mu;
  std::condition_variable cv;
  int step = 0;
  auto advance = [&](int to) {
    std::lock_guard<std::mutex> lock(mu);
    step = to;
    cv.notify_all();
  };
  auto await = [&](int at) {
    std::unique_lock<std::mutex> lock(mu);
    CHECK(cv.wait_for(lock, kPatience, [&] { return step >= at; }));
  };
  // A runner thread that takes work, and leaves in the middle of it: handing it over (1), then
  // without handing it over, finishing it after it left (2).
  std::thread thread([&] {
    auto runner = pool->attach_runner([] {}, 0);
    std::unique_ptr<Work> work = runner->take();
    CHECK(work && work->id == 1);
    advance(1);
    await(2);
    runner->detach(std::move(work));
    auto second = pool->attach_runner([] {}, 0);
    std::unique_ptr<Work> other = second->take();
    CHECK(other && other->id == 2);
    second->detach();
    CHECK(second->take() == nullptr);  // gone: takes nothing more
    advance(3);
    await(4);
    static_cast<TestWork&>(*other).status = Status::kDone;
    second->finish(std::move(other));
  });
  await(1);
  CHECK_EQ(pool->stats().running, 1u);
  CHECK_EQ(pool->stats().threads, 1u);
  advance(2);
  await(3);
  PoolStats stats = pool->stats();
  CHECK_EQ(stats.failed, 2u);
  CHECK_EQ(stats.running, 0u);
  CHECK_EQ(stats.threads, 0u);
  CHECK(loop.run_until_works(1));
  CHECK_EQ(loop.works[0]->id, 1u);
  CHECK_EQ(loop.works[0]->status, Status::kFailed);
  advance(4);
  CHECK(loop.run_until_works(2));
  thread.join();
  CHECK_EQ(loop.works[1]->id, 2u);
  CHECK_EQ(loop.works[1]->status, Status::kFailed);  // it had left: still a failure
  CHECK_EQ(pool->stats().failed, 2u);
}

TEST(detach_requeues_work_assigned_but_not_taken) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  auto idle = pool->attach_runner([] {}, 0);
  CHECK(idle->take() == nullptr);  // now idle: the next JS work is assigned to it
  CHECK(pool->submit(make(loop, 1, probe, true)) == Result::kOk);
  CHECK_EQ(pool->stats().running, 1u);
  FakeRunner other(pool);
  idle->detach();  // had not taken it: back to the queue, for the other runner
  CHECK(loop.run_until_works(1));
  CHECK_EQ(loop.works[0]->status, Status::kDone);
  CHECK_EQ(other.ran.load(), 1);
}

TEST(runner_failed_undoes_a_start_and_fails_stranded_work) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  bool want = false;
  CHECK(pool->submit(make(loop, 1, probe, true), &want) == Result::kOk);
  CHECK(want);
  pool->runner_failed(0);  // no runner attached or starting: nothing could ever run it
  CHECK(loop.run_until_works(1));
  CHECK_EQ(loop.works[0]->status, Status::kFailed);
  CHECK_EQ(pool->stats().failed, 1u);
  CHECK(pool->submit(make(loop, 2, probe, true), &want) == Result::kOk);
  CHECK(want);  // asked again: the failed start was undone
  FakeRunner runner(pool);
  CHECK(loop.run_until_works(2));
  CHECK_EQ(loop.works[1]->status, Status::kDone);
  // With a runner attached, a failed start strands nothing.
  CHECK(pool->submit(make(loop, 3, probe, true), &want) == Result::kOk);
  if (want) pool->runner_failed(0);
  CHECK(loop.run_until_works(3));
  CHECK_EQ(loop.works[2]->status, Status::kDone);
}

// A runner's context died (out of memory) while it ran JS work and more waited behind it: the
// work it held fails, and its loop is asked for a replacement that runs the rest.
TEST(a_runner_that_dies_is_replaced_through_the_loop_of_the_waiting_work) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(1));
  auto dying = pool->attach_runner([] {}, 7);
  auto first = make(loop, 1, probe, true);
  first->group = 7;
  auto second = make(loop, 2, probe, true);
  second->group = 7;
  CHECK(pool->submit(std::move(first)) == Result::kOk);
  std::unique_ptr<Work> held = dying->take();
  CHECK(held && held->id == 1);
  bool want = true;
  CHECK(pool->submit(std::move(second), &want) == Result::kOk);
  CHECK(!want);  // the runner will take it when done
  dying->detach(std::move(held));
  CHECK(loop.run_until([&] { return loop.works.size() == 1 && loop.runner_requests.size() == 1; }));
  CHECK_EQ(loop.works[0]->status, Status::kFailed);
  CHECK_EQ(loop.runner_requests[0]->group, 7u);
  CHECK(loop.runner_requests[0]->answer() == pool);
  CHECK_EQ(pool->stats().queued, 1u);  // waits for the replacement, not failed
  auto replacement = pool->attach_runner([] {}, 7);
  std::unique_ptr<Work> next = replacement->take();
  CHECK(next && next->id == 2);
  static_cast<TestWork&>(*next).perform();
  replacement->finish(std::move(next));
  CHECK(loop.run_until_works(2));
  CHECK_EQ(loop.works[1]->status, Status::kDone);
  replacement->detach();
  CHECK(loop.runner_requests.size() == 1);  // nothing waited: no request
}

TEST(a_runner_request_nobody_answers_fails_the_stranded_work) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(1));
  auto dying = pool->attach_runner([] {}, 0);
  CHECK(pool->submit(make(loop, 1, probe, true)) == Result::kOk);
  std::unique_ptr<Work> held = dying->take();
  CHECK(pool->submit(make(loop, 2, probe, true)) == Result::kOk);
  dying->detach(std::move(held));
  CHECK(loop.run_until([&] { return loop.runner_requests.size() == 1; }));
  loop.runner_requests.clear();  // dropped unanswered, as a closing loop drops it
  CHECK(loop.run_until_works(2));
  CHECK_EQ(count_status(loop, Status::kFailed), 2u);
  pool->shutdown(false);
  CHECK(pool->submit(make(loop, 3, probe, true)) == Result::kShutdown);
  pool->when_drained(loop.inbox, std::make_unique<Marker>());
  CHECK(loop.run_until_drained());
}

// The submitting thread died before the runner it asked for attached.
TEST(end_group_fails_the_groups_queued_work_and_forgets_its_starting_runners) {
  auto probe = std::make_shared<Probe>();
  TestLoop loop;
  auto pool = Pool::create(options(2));
  bool want = false;
  auto gone = make(loop, 1, probe, true);
  gone->group = 3;
  CHECK(pool->submit(std::move(gone), &want) == Result::kOk);
  CHECK(want);
  CHECK(pool->submit(make(loop, 2, probe, true), &want) == Result::kOk);  // another thread's
  CHECK(want);
  pool->end_group(3);
  CHECK(loop.run_until_works(1));
  CHECK_EQ(loop.works[0]->id, 1u);
  CHECK_EQ(loop.works[0]->status, Status::kFailed);
  CHECK_EQ(pool->stats().queued, 1u);  // group 0's work still waits for its runner
  FakeRunner runner(pool);
  CHECK(loop.run_until_works(2));
  CHECK_EQ(loop.works[1]->status, Status::kDone);
  pool->shutdown(false);
  pool->when_drained(loop.inbox, std::make_unique<Marker>());
  CHECK(loop.run_until_drained());
}

TEST(a_runner_stays_while_js_work_waits_for_a_slot) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(1));
  auto runner = pool->attach_runner([] {}, 0);
  CHECK(runner->take() == nullptr);
  CHECK(pool->submit(make(loop, 0, probe)) == Result::kOk);  // takes the only slot
  CHECK(eventually([&] { return probe->now == 1; }));
  CHECK(pool->submit(make(loop, 1, probe, true)) == Result::kOk);
  CHECK(!runner->leave_if_idle());  // it would strand the JS work
  probe->gate.open();
  CHECK(loop.run_until_works(1));
  std::unique_ptr<Work> work = runner->take();  // the slot freed: assigned to the idle runner
  CHECK(work && work->id == 1);
  CHECK(!runner->leave_if_idle());  // busy
  static_cast<TestWork&>(*work).perform();
  runner->finish(std::move(work));
  CHECK(runner->take() == nullptr);
  CHECK(runner->leave_if_idle());
  CHECK_EQ(pool->stats().threads, 1u);  // the native thread only
  CHECK(loop.run_until_works(2));
}

TEST(no_wake_after_detach_returns) {
  constexpr int kRounds = 50;
  constexpr int kEach = 20;
  TestLoop loop;
  auto probe = std::make_shared<Probe>();
  for (int round = 0; round < kRounds; round++) {
    auto pool = Pool::create(options(4));
    std::atomic<bool> gone{false};
    auto runner = pool->attach_runner([&gone] { CHECK(!gone.load()); }, 0);
    CHECK(runner->take() == nullptr);
    std::thread submitter([&] {
      for (int i = 0; i < kEach; i++) {
        CHECK(pool->submit(make(loop, round * 100 + i, probe, true)) == Result::kOk);
      }
    });
    runner->detach();
    gone = true;
    submitter.join();
    pool->shutdown(true);  // what came after the runner left is still queued
  }
  // Stranded when the runner left (failed) or cancelled at shutdown: all of it came back.
  CHECK(loop.run_until_works(kRounds * kEach));
  CHECK_EQ(count_status(loop, Status::kFailed) + count_status(loop, Status::kCancelled),
           size_t{kRounds} * kEach);
}

// ---- Names -------------------------------------------------------------------------------------

#ifdef __linux__
std::multiset<std::string> thread_names() {
  std::multiset<std::string> names;
  DIR* dir = opendir("/proc/self/task");
  CHECK(dir != nullptr);
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name)) names.insert(name);
  }
  closedir(dir);
  return names;
}

TEST(threads_are_named_after_the_pool) {
  auto probe = gated_probe();
  TestLoop loop;
  auto pool = Pool::create(options(2, 60000, 0, "tnames"));
  auto long_pool = Pool::create(options(1, 60000, 0, "averyveryverylongpoolname"));
  CHECK(pool->submit(make(loop, 1, probe)) == Result::kOk);
  CHECK(pool->submit(make(loop, 2, probe)) == Result::kOk);
  CHECK(long_pool->submit(make(loop, 3, probe)) == Result::kOk);
  CHECK(eventually([&] { return probe->now == 3; }));
  auto names = thread_names();
  CHECK_EQ(names.count("tnames-1"), 1u);
  CHECK_EQ(names.count("tnames-2"), 1u);
  CHECK_EQ(names.count("averyveryvery-1"), 1u);  // 15 characters, the number kept
  probe->gate.open();
  CHECK(loop.run_until_works(3));
}
#endif

TEST_MAIN()
