// The core Loop on its own (no Node, no JavaScript): the blocking wait and its timeout, wake-ups
// from other threads, inbox batches, level-triggered descriptor watches on real pipes, signals,
// and close() giving back every handle and descriptor. Every wait is bounded: a stuck loop fails
// a CHECK instead of hanging the test run.
#include "loop.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifdef __linux__
#include <dirent.h>
#endif

#include "check.h"
#include "note.h"

using namespace evloop;
using Clock = std::chrono::steady_clock;

// ---- a clock that can be made to jump (for the last test) ---------------------------------------
// libuv reads the time through clock_gettime; this definition takes its place (the executable's
// symbols come first) and, while g_clock_step_ns is set, moves the monotonic clocks on by that
// much at every reading. The offset stays once applied: the clock never goes back.
namespace {
std::atomic<long long> g_clock_step_ns{0};
std::atomic<long long> g_clock_offset_ns{0};

// The real monotonic time, whatever the interposer does (a raw system call).
double real_now_ms() {
  timespec ts{};
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}
}  // namespace

extern "C" int clock_gettime(clockid_t clock, timespec* ts) {
  using Real = int (*)(clockid_t, timespec*);
  static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "clock_gettime"));
  int result = real != nullptr ? real(clock, ts) : static_cast<int>(syscall(SYS_clock_gettime, clock, ts));
  if (result != 0) return result;
  if (clock != CLOCK_MONOTONIC && clock != CLOCK_MONOTONIC_COARSE && clock != CLOCK_MONOTONIC_RAW) return result;
  long long step = g_clock_step_ns.load();
  long long offset = step != 0 ? g_clock_offset_ns.fetch_add(step) + step : g_clock_offset_ns.load();
  if (offset != 0) {
    long long ns = ts->tv_nsec + offset % 1000000000LL;
    ts->tv_sec += static_cast<time_t>(offset / 1000000000LL + ns / 1000000000LL);
    ts->tv_nsec = static_cast<long>(ns % 1000000000LL);
  }
  return result;
}

namespace {

// Sanitizer builds are several times slower: bounds on "took no longer than" are generous, bounds
// on "took no less than" are exact.
constexpr double kSlack = 2000;  // ms

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

using evloop::test::Note;

const Note& note(const std::unique_ptr<Item>& item) { return static_cast<const Note&>(*item); }

// A write to a pipe whose read end a test closed must fail with EPIPE, not kill the run.
const bool sigpipe_ignored = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

// Waits (each wait bounded by `step_ms`) until `done` holds or `total_ms` pass; accumulates.
template <typename F>
bool wait_until(Loop& loop, Batch& all, F done, double total_ms = 10000, double step_ms = 100) {
  auto start = Clock::now();
  while (!done()) {
    if (ms_since(start) > total_ms) return false;
    Batch batch;
    loop.wait(step_ms, batch);
    for (auto& item : batch.items) all.items.push_back(std::move(item));
    all.ready.insert(all.ready.end(), batch.ready.begin(), batch.ready.end());
    all.signals.insert(all.signals.end(), batch.signals.begin(), batch.signals.end());
    all.interrupted = all.interrupted || batch.interrupted;
  }
  return true;
}

int open_fds() {
#ifdef __linux__
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  CHECK(dir != nullptr);
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') n++;
  }
  closedir(dir);
  return n - 1;  // the directory's own descriptor
#else
  return 0;
#endif
}

// CPU time this thread used, in ms: tells a busy loop from a sleeping one.
double thread_cpu_ms() {
  rusage usage{};
#ifdef RUSAGE_THREAD
  CHECK_EQ(getrusage(RUSAGE_THREAD, &usage), 0);
#else
  CHECK_EQ(getrusage(RUSAGE_SELF, &usage), 0);
#endif
  auto ms = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    r = fds[0];
    w = fds[1];
    CHECK_EQ(fcntl(r, F_SETFL, O_NONBLOCK), 0);
    CHECK_EQ(fcntl(w, F_SETFL, O_NONBLOCK), 0);
  }
  ~Pipe() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
  }
  void put(const char* s = "x") { CHECK(write(w, s, std::strlen(s)) == static_cast<ssize_t>(std::strlen(s))); }
  size_t drain() {
    char buf[256];
    size_t total = 0;
    ssize_t n;
    while ((n = read(r, buf, sizeof buf)) > 0) total += static_cast<size_t>(n);
    return total;
  }
};

int events_for(const Batch& batch, int fd) {
  int events = 0;
  for (auto& ready : batch.ready) {
    if (ready.fd == fd) events |= ready.events;
  }
  return events;
}

}  // namespace

// ---- The wait and its timeout ------------------------------------------------------------------

TEST(wait_with_a_timeout_never_returns_early) {
  Loop loop;
  double worst = 1e9;  // the smallest (elapsed - asked) seen
  for (double timeout : {0.2, 0.5, 1.0, 1.5, 2.0, 3.7, 5.0, 10.0, 25.0}) {
    for (int i = 0; i < 8; i++) {
      Batch batch;
      auto start = Clock::now();
      loop.wait(timeout, batch);
      double took = ms_since(start);
      CHECK(batch.empty());
      worst = std::min(worst, took - timeout);
      // Never early, allowing the 1 ms of clock granularity api.md allows (libuv's loop clock
      // counts whole milliseconds).
      if (took < timeout - 1.0) {
        std::fprintf(stderr, "wait(%.1f) returned after %.3f ms\n", timeout, took);
        CHECK(took >= timeout - 1.0);
      }
      CHECK(took < timeout + kSlack);
    }
  }
  std::fprintf(stderr, "  smallest (elapsed - timeout): %.3f ms\n", worst);
}

TEST(wait_zero_only_looks) {
  Loop loop;
  auto start = Clock::now();
  for (int i = 0; i < 1000; i++) {
    Batch batch;
    loop.wait(0, batch);
    CHECK(batch.empty());
  }
  CHECK(ms_since(start) < kSlack);
}

TEST(wait_without_limit_returns_on_a_wake_from_another_thread) {
  Loop loop;
  for (int round = 0; round < 20; round++) {
    std::atomic<bool> woke{false};
    auto start = Clock::now();
    std::thread waker([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(round % 4 == 0 ? 20 : 1));
      woke = true;
      loop.wake();
    });
    Batch batch;
    loop.wait(-1, batch);
    // A wake-up carries nothing: the batch is empty, and it did not return before the wake.
    CHECK(woke.load());
    CHECK(batch.empty());
    CHECK(ms_since(start) < kSlack);
    waker.join();
  }
}

TEST(a_wake_before_the_wait_is_not_lost) {
  Loop loop;
  loop.wake();
  auto start = Clock::now();
  Batch batch;
  loop.wait(10000, batch);
  CHECK(ms_since(start) < kSlack);
  // Several wakes coalesce into one: the next wait blocks again until its timeout.
  loop.wake();
  loop.wake();
  loop.wake();
  Batch first;
  loop.wait(10000, first);
  start = Clock::now();
  Batch second;
  loop.wait(30, second);
  CHECK(ms_since(start) >= 29);
}

TEST(many_threads_waking_at_once) {
  Loop loop;
  std::atomic<bool> stop{false};
  std::vector<std::thread> wakers;
  for (int t = 0; t < 4; t++) {
    wakers.emplace_back([&] {
      while (!stop.load()) loop.wake();
    });
  }
  auto start = Clock::now();
  int waits = 0;
  while (ms_since(start) < 200) {
    Batch batch;
    loop.wait(-1, batch);
    waits++;
  }
  stop = true;
  for (auto& waker : wakers) waker.join();
  CHECK(waits > 0);
}

// ---- The inbox ---------------------------------------------------------------------------------

TEST(inbox_items_arrive_in_one_batch_in_push_order) {
  Loop loop;
  for (int i = 0; i < 100; i++) CHECK(loop.inbox()->push(std::make_unique<Note>(0, i)));
  Batch batch;
  auto start = Clock::now();
  loop.wait(-1, batch);  // the first push woke it
  CHECK(ms_since(start) < kSlack);
  CHECK_EQ(batch.items.size(), 100u);
  for (int i = 0; i < 100; i++) CHECK_EQ(note(batch.items[i]).seq, i);
  Batch none;
  loop.wait(0, none);
  CHECK(none.empty());
}

// A burst larger than one turn's share comes over several waits, in order, none of them blocking
// (the loop wakes itself while items are left), and what is pushed meanwhile comes after it.
TEST(a_burst_of_items_comes_in_turns_that_do_not_block) {
  constexpr int kBurst = static_cast<int>(Loop::kItemsPerTurn) * 5 / 2;
  Loop loop;
  for (int i = 0; i < kBurst; i++) CHECK(loop.inbox()->push(std::make_unique<Note>(0, i)));
  std::vector<int> seen;
  std::vector<size_t> sizes;
  while (seen.size() < static_cast<size_t>(kBurst) + 1) {
    Batch batch;
    auto start = Clock::now();
    loop.wait(-1, batch);
    CHECK(ms_since(start) < kSlack);
    sizes.push_back(batch.items.size());
    for (auto& item : batch.items) seen.push_back(note(item).seq);
    if (sizes.size() == 1) CHECK(loop.inbox()->push(std::make_unique<Note>(0, kBurst)));
  }
  CHECK_EQ(sizes.size(), 3u);
  CHECK_EQ(sizes[0], Loop::kItemsPerTurn);
  CHECK_EQ(sizes[1], Loop::kItemsPerTurn);
  for (int i = 0; i <= kBurst; i++) CHECK_EQ(seen[i], i);
  Batch none;
  loop.wait(0, none);
  CHECK(none.empty());
}

TEST(inbox_pushes_from_several_threads_keep_each_senders_order) {
  constexpr int kSenders = 4;
  constexpr int kEach = 25000;
  Loop loop;
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; s++) {
    senders.emplace_back([&, s] {
      for (int i = 0; i < kEach; i++) CHECK(loop.inbox()->push(std::make_unique<Note>(s, i)));
    });
  }
  Batch all;
  int batches = 0;
  auto start = Clock::now();
  while (all.items.size() < size_t{kSenders} * kEach) {
    CHECK(ms_since(start) < 30000);
    Batch batch;
    loop.wait(1000, batch);
    batches++;
    for (auto& item : batch.items) all.items.push_back(std::move(item));
  }
  for (auto& sender : senders) sender.join();
  std::vector<int> next(kSenders, 0);
  for (auto& item : all.items) {
    const Note& n = note(item);
    CHECK_EQ(n.seq, next[n.sender]);
    next[n.sender]++;
  }
  CHECK(batches < kSenders * kEach);  // batched, not a wait per item
  std::fprintf(stderr, "  %d items in %d batches\n", kSenders * kEach, batches);
}

TEST(inbox_refuses_after_close_and_frees_what_was_pending) {
  std::atomic<int> destroyed{0};
  auto inbox = std::shared_ptr<Inbox>();
  {
    Loop loop;
    inbox = loop.inbox();
    for (int i = 0; i < 10; i++) CHECK(inbox->push(std::make_unique<Note>(0, i, &destroyed)));
    loop.close();
    CHECK_EQ(destroyed.load(), 10);  // dropped, not leaked
    CHECK(inbox->closed());
  }
  // The inbox outlives its loop (pool work holds it): pushes are refused and the item freed.
  CHECK(!inbox->push(std::make_unique<Note>(0, 10, &destroyed)));
  CHECK_EQ(destroyed.load(), 11);
}

TEST(pushes_racing_close_never_touch_a_freed_handle) {
  // A sender pushing while the loop closes: every push either lands before close (and is freed
  // by close) or is refused. ASan/TSan catch a use of the freed wake-up handle.
  for (int round = 0; round < 50; round++) {
    std::atomic<int> destroyed{0};
    std::atomic<int> pushed{0};
    auto loop = std::make_unique<Loop>();
    auto inbox = loop->inbox();
    std::atomic<bool> go{false};
    std::thread sender([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 2000; i++) {
        if (inbox->push(std::make_unique<Note>(1, i, &destroyed))) pushed++;
      }
    });
    go = true;
    if (round % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    loop.reset();  // ~Loop closes
    sender.join();
    CHECK_EQ(destroyed.load(), 2000);
  }
}

// ---- Descriptors -------------------------------------------------------------------------------

TEST(a_watched_pipe_is_level_triggered) {
  Loop loop;
  Pipe p;
  CHECK_EQ(loop.watch(p.r, UV_READABLE), 0);
  CHECK(loop.has_watchers());
  Batch quiet;
  auto start = Clock::now();
  loop.wait(30, quiet);
  CHECK(quiet.ready.empty());
  CHECK(ms_since(start) >= 29);

  p.put("abc");
  // Not read: ready on every wait, as long as it stays readable.
  for (int i = 0; i < 5; i++) {
    Batch batch;
    start = Clock::now();
    loop.wait(5000, batch);
    CHECK(ms_since(start) < kSlack);
    CHECK_EQ(batch.ready.size(), 1u);
    CHECK_EQ(batch.ready[0].fd, p.r);
    CHECK_EQ(batch.ready[0].events, UV_READABLE);
  }
  CHECK_EQ(p.drain(), 3u);
  Batch after;
  loop.wait(20, after);
  CHECK(after.ready.empty());
  CHECK_EQ(loop.watch(p.r, 0), 0);
  CHECK(!loop.has_watchers());
}

TEST(writable_readable_and_rewatching_changes_the_events) {
  Loop loop;
  Pipe p;
  CHECK_EQ(loop.watch(p.w, UV_WRITABLE), 0);
  Batch batch;
  loop.wait(5000, batch);
  CHECK_EQ(events_for(batch, p.w), UV_WRITABLE);
  // Watching again replaces: now only readable, which a write end never is.
  CHECK_EQ(loop.watch(p.w, UV_READABLE), 0);
  Batch quiet;
  loop.wait(20, quiet);
  CHECK_EQ(events_for(quiet, p.w), 0);
  // One descriptor, both directions (a socketpair end is both readable and writable).
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  CHECK(write(sv[1], "x", 1) == 1);
  CHECK_EQ(loop.watch(sv[0], UV_READABLE | UV_WRITABLE), 0);
  Batch both;
  CHECK(wait_until(loop, both, [&] { return events_for(both, sv[0]) == (UV_READABLE | UV_WRITABLE); }));
  CHECK_EQ(loop.watch(sv[0], 0), 0);
  CHECK_EQ(loop.watch(p.w, 0), 0);
  close(sv[0]);
  close(sv[1]);
}

TEST(many_descriptors_ready_in_one_wait) {
  Loop loop;
  std::vector<std::unique_ptr<Pipe>> pipes;
  for (int i = 0; i < 64; i++) {
    pipes.push_back(std::make_unique<Pipe>());
    CHECK_EQ(loop.watch(pipes.back()->r, UV_READABLE), 0);
  }
  for (int i = 0; i < 64; i += 2) pipes[i]->put();
  Batch all;
  CHECK(wait_until(loop, all, [&] { return all.ready.size() >= 32; }));
  for (int i = 0; i < 64; i++) CHECK_EQ(events_for(all, pipes[i]->r) != 0, i % 2 == 0);
  for (auto& p : pipes) CHECK_EQ(loop.watch(p->r, 0), 0);
}

TEST(watching_a_bad_descriptor_fails_cleanly) {
  Loop loop;
  CHECK_EQ(loop.watch(-1, UV_READABLE), UV_EBADF);
  CHECK_EQ(loop.watch(-12345, UV_WRITABLE), UV_EBADF);
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  close(fds[0]);
  close(fds[1]);
  CHECK_EQ(loop.watch(fds[0], UV_READABLE), UV_EBADF);  // closed
  CHECK_EQ(loop.watch(1 << 20, UV_READABLE), UV_EBADF);  // never opened
  // A regular file cannot be polled: EPERM from epoll, reported, nothing left armed.
  char path[] = "/tmp/evloop-loop-test-XXXXXX";
  int file = mkstemp(path);
  CHECK(file >= 0);
  unlink(path);
  CHECK_EQ(loop.watch(file, UV_READABLE), UV_EPERM);
  close(file);
  CHECK(!loop.has_watchers());
  // Stopping what is not watched is harmless.
  CHECK_EQ(loop.watch(fds[0], 0), 0);
  // And the loop still works.
  Pipe p;
  p.put();
  CHECK_EQ(loop.watch(p.r, UV_READABLE), 0);
  Batch batch;
  loop.wait(5000, batch);
  CHECK_EQ(events_for(batch, p.r), UV_READABLE);
  CHECK_EQ(loop.watch(p.r, 0), 0);
}

TEST(a_descriptor_closed_while_watched_neither_crashes_nor_spins) {
  Loop loop;
  auto p = std::make_unique<Pipe>();
  int fd = p->r;
  CHECK_EQ(loop.watch(fd, UV_READABLE), 0);
  Batch first;
  loop.wait(0, first);  // registered with epoll
  p->put();  // readable now; had the registration outlived the close, every wait would return
  close(p->r);
  p->r = -1;
  // The closed descriptor left epoll with its last reference: nothing is reported, and the wait
  // sleeps rather than spins.
  double cpu = thread_cpu_ms();
  auto start = Clock::now();
  Batch batch;
  loop.wait(200, batch);
  double took = ms_since(start);
  double used = thread_cpu_ms() - cpu;
  CHECK(took >= 199);
  CHECK(used < took / 2);
  // Unwatching the closed number is harmless, and a new descriptor that takes its number works.
  CHECK_EQ(loop.watch(fd, 0), 0);
  Pipe q;
  CHECK(q.r == fd || q.w == fd || true);
  q.put();
  CHECK_EQ(loop.watch(q.r, UV_READABLE), 0);
  Batch again;
  loop.wait(5000, again);
  CHECK_EQ(events_for(again, q.r), UV_READABLE);
  CHECK_EQ(loop.watch(q.r, 0), 0);
}

TEST(a_descriptor_closed_while_watched_and_its_number_reused) {
  Loop loop;
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  int fd = fds[0];
  CHECK_EQ(loop.watch(fd, UV_READABLE), 0);
  Batch first;
  loop.wait(0, first);
  close(fds[0]);
  close(fds[1]);
  Pipe q;  // takes the lowest numbers: usually fd again
  q.put();
  // Watching the reused number replaces the stale registration (a fresh handle each time).
  CHECK_EQ(loop.watch(q.r, UV_READABLE), 0);
  Batch batch;
  CHECK(wait_until(loop, batch, [&] { return events_for(batch, q.r) == UV_READABLE; }));
  CHECK_EQ(loop.watch(q.r, 0), 0);
  if (q.r != fd) CHECK_EQ(loop.watch(fd, 0), 0);
}

// A duplicate keeps the closed descriptor's open file in epoll, under the closed number. Stopping
// the watch then cannot remove it (epoll_ctl(DEL) on a closed number is EBADF), so a readable
// duplicate makes every later epoll_wait return at once. The loop must not crash; how much it
// spins is measured and printed (a known epoll limitation: close a watched descriptor only after
// removing the watch, as libuv and asyncio document).
TEST(a_closed_descriptor_whose_duplicate_stays_open) {
  Loop loop;
  Pipe p;
  int dup_fd = dup(p.r);
  CHECK(dup_fd >= 0);
  int fd = p.r;
  CHECK_EQ(loop.watch(fd, UV_READABLE), 0);
  Batch first;
  loop.wait(0, first);
  close(p.r);
  p.r = -1;
  p.put();  // the duplicate (same open file) is readable now
  Batch ready;
  loop.wait(1000, ready);  // reported under the closed number, level-triggered
  std::fprintf(stderr, "  ready under the closed number: events=%d\n", events_for(ready, fd));
  CHECK_EQ(loop.watch(fd, 0), 0);  // stop: harmless
  Batch closing;
  loop.wait(0, closing);  // runs the poll handle's close callback (else the next wait returns at once)
  // Waits for 200 ms in all, as the JavaScript layer would (it waits again after an empty batch).
  double cpu = thread_cpu_ms();
  auto start = Clock::now();
  int waits = 0;
  while (ms_since(start) < 200) {
    Batch batch;
    loop.wait(200 - ms_since(start), batch);
    CHECK(batch.ready.empty());  // nothing reported for a descriptor no longer watched
    waits++;
  }
  double took = ms_since(start);
  double used = thread_cpu_ms() - cpu;
  std::fprintf(stderr, "  after unwatching: %d waits in %.1f ms, %.1f ms of CPU (%s)\n", waits, took, used,
               used > took / 4 ? "spins: the stale epoll registration cannot be removed" : "sleeps");
  CHECK(took < 200 + kSlack);
  close(dup_fd);               // the open file leaves epoll with its last descriptor
  cpu = thread_cpu_ms();
  start = Clock::now();
  Batch quiet;
  loop.wait(100, quiet);
  took = ms_since(start);
  CHECK(thread_cpu_ms() - cpu < took / 2);
}

// ---- Signals -----------------------------------------------------------------------------------

TEST(a_watched_signal_ends_the_wait) {
  Loop loop;
  CHECK_EQ(loop.watch_signal(SIGUSR1, true), 0);
  CHECK_EQ(loop.watch_signal(SIGUSR1, true), 0);  // twice: still one watch
  CHECK(loop.has_watchers());
  std::thread sender([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kill(getpid(), SIGUSR1);
  });
  Batch all;
  CHECK(wait_until(loop, all, [&] { return !all.signals.empty(); }));
  sender.join();
  CHECK_EQ(all.signals.size(), 1u);
  CHECK_EQ(all.signals[0], SIGUSR1);
  CHECK_EQ(loop.watch_signal(SIGUSR1, false), 0);
  CHECK_EQ(loop.watch_signal(SIGUSR1, false), 0);  // not watched: harmless
  CHECK(!loop.has_watchers());
}

TEST(a_signal_that_arrives_between_waits_is_delivered_by_the_next) {
  Loop loop;
  CHECK_EQ(loop.watch_signal(SIGUSR2, true), 0);
  Batch settle;
  loop.wait(0, settle);
  kill(getpid(), SIGUSR2);  // delivered now, to libuv's handler: kept until the loop looks
  Batch all;
  CHECK(wait_until(loop, all, [&] { return !all.signals.empty(); }));
  CHECK_EQ(all.signals[0], SIGUSR2);
  CHECK_EQ(loop.watch_signal(SIGUSR2, false), 0);
}

TEST(two_loops_watching_one_signal_both_see_it) {
  Loop a, b;
  CHECK_EQ(a.watch_signal(SIGUSR1, true), 0);
  CHECK_EQ(b.watch_signal(SIGUSR1, true), 0);
  kill(getpid(), SIGUSR1);
  Batch got_a, got_b;
  CHECK(wait_until(a, got_a, [&] { return !got_a.signals.empty(); }));
  CHECK(wait_until(b, got_b, [&] { return !got_b.signals.empty(); }));
  // One loop stops watching: the other still gets it (libuv keeps its handler installed).
  CHECK_EQ(a.watch_signal(SIGUSR1, false), 0);
  kill(getpid(), SIGUSR1);
  Batch again;
  CHECK(wait_until(b, again, [&] { return !again.signals.empty(); }));
  CHECK_EQ(b.watch_signal(SIGUSR1, false), 0);
}

TEST(an_invalid_signal_number_is_an_error_not_a_crash) {
  Loop loop;
  CHECK(loop.watch_signal(0, true) < 0);
  CHECK(loop.watch_signal(-3, true) < 0);
  CHECK(loop.watch_signal(100000, true) < 0);
  CHECK(!loop.has_watchers());
}

TEST(sigint_interrupts_the_wait_when_asked) {
  Loop loop;
  CHECK_EQ(loop.watch_interrupt(true), 0);
  CHECK_EQ(loop.watch_interrupt(true), 0);
  std::thread sender([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    kill(getpid(), SIGINT);
  });
  Batch all;
  CHECK(wait_until(loop, all, [&] { return all.interrupted; }));
  sender.join();
  CHECK(all.signals.empty());  // an interrupt, not a signal of a handler
  CHECK_EQ(loop.watch_interrupt(false), 0);
  CHECK_EQ(loop.watch_interrupt(false), 0);
}

// ---- Closing -----------------------------------------------------------------------------------

TEST(close_frees_every_handle_and_descriptor) {
  int base = open_fds();
  {
    std::vector<std::unique_ptr<Loop>> loops;
    std::vector<std::unique_ptr<Pipe>> pipes;
    for (int i = 0; i < 20; i++) {
      pipes.push_back(std::make_unique<Pipe>());
    }
    int with_pipes = open_fds();
    for (int i = 0; i < 20; i++) {
      auto loop = std::make_unique<Loop>();
      CHECK_EQ(loop->watch(pipes[i]->r, UV_READABLE), 0);
      CHECK_EQ(loop->watch(pipes[i]->w, UV_WRITABLE), 0);
      CHECK_EQ(loop->watch_signal(SIGUSR2, true), 0);
      CHECK_EQ(loop->watch_signal(SIGWINCH, true), 0);
      CHECK_EQ(loop->watch_interrupt(true), 0);
      loop->inbox()->push(std::make_unique<Note>(0, i));
      Batch batch;
      loop->wait(0, batch);
      loop->inbox()->push(std::make_unique<Note>(0, i));  // left pending
      loops.push_back(std::move(loop));
    }
    CHECK(open_fds() > with_pipes);
    for (auto& loop : loops) {
      loop->close();
      CHECK(loop->closed());
    }
    CHECK_EQ(open_fds(), with_pipes);
  }
  CHECK_EQ(open_fds(), base);
}

TEST(a_closed_loop_refuses_everything_harmlessly) {
  Loop loop;
  auto inbox = loop.inbox();
  loop.close();
  loop.close();  // twice
  CHECK(loop.closed());
  CHECK_EQ(loop.backend_fd(), -1);
  Batch batch;
  auto start = Clock::now();
  loop.wait(-1, batch);  // returns at once: nothing to wait on
  loop.wait(1000, batch);
  CHECK(ms_since(start) < 100);
  CHECK(batch.empty());
  loop.wake();
  CHECK_EQ(loop.watch(0, UV_READABLE), UV_EBADF);
  CHECK_EQ(loop.watch_signal(SIGUSR1, true), UV_EBADF);
  CHECK_EQ(loop.watch_interrupt(true), UV_EBADF);
  CHECK(!inbox->push(std::make_unique<Note>(0, 0)));
  CHECK(!loop.has_watchers());
}

TEST(a_loop_destroyed_without_close_frees_everything) {
  int base = open_fds();
  for (int i = 0; i < 100; i++) {
    Pipe p;  // declared first: closed after the loop stops watching it
    Loop loop;
    CHECK_EQ(loop.watch(p.r, UV_READABLE), 0);
    CHECK_EQ(loop.watch_signal(SIGUSR2, true), 0);
    loop.inbox()->push(std::make_unique<Note>(0, i));
  }
  CHECK_EQ(open_fds(), base);
}

TEST(loops_created_and_closed_many_times_leave_nothing) {
  int base = open_fds();
  for (int i = 0; i < 2000; i++) {
    Loop loop;
    loop.wake();
    Batch batch;
    loop.wait(0, batch);
  }
  CHECK_EQ(open_fds(), base);
}

TEST(loops_in_several_threads_at_once) {
  int base = open_fds();
  // Descriptors are opened and closed under this lock, the loops run concurrently. The reason is
  // ThreadSanitizer's alone: libuv closes its own descriptors (epoll, eventfd) with a raw close
  // system call (uv__close_nocancel) that TSan does not see, so another thread reusing the number
  // looks like a race on it. The lock gives TSan the order the kernel already guarantees.
  std::mutex fd_mu;
  std::vector<std::thread> threads;
  std::atomic<int> done{0};
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; i++) {
        std::unique_ptr<Pipe> p;
        std::unique_ptr<Loop> loop;
        {
          std::lock_guard<std::mutex> lock(fd_mu);
          p = std::make_unique<Pipe>();
          loop = std::make_unique<Loop>();
        }
        p->put();
        CHECK_EQ(loop->watch(p->r, UV_READABLE), 0);
        std::thread sender([&] { loop->inbox()->push(std::make_unique<Note>(t, i)); });
        Batch all;
        CHECK(wait_until(*loop, all, [&] { return all.items.size() == 1 && !all.ready.empty(); }));
        sender.join();
        std::lock_guard<std::mutex> lock(fd_mu);
        loop.reset();  // first: it stops watching the pipe before the pipe closes
        p.reset();
      }
      done++;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK_EQ(done.load(), 4);
  CHECK_EQ(open_fds(), base);
}

// ---- Driving from another loop (the host loop's mode) -------------------------------------------

TEST(the_backend_descriptor_is_readable_when_a_wait_would_not_block) {
  Loop loop;
  int backend = loop.backend_fd();
  CHECK(backend >= 0);
  auto readable = [&](int ms) {
    uv_loop_t outer;
    CHECK_EQ(uv_loop_init(&outer), 0);
    uv_poll_t poll;
    static bool fired;
    fired = false;
    CHECK_EQ(uv_poll_init(&outer, &poll, backend), 0);
    CHECK_EQ(uv_poll_start(&poll, UV_READABLE, [](uv_poll_t* h, int, int) {
                fired = true;
                uv_poll_stop(h);
              }),
             0);
    uv_timer_t timer;
    CHECK_EQ(uv_timer_init(&outer, &timer), 0);
    CHECK_EQ(uv_timer_start(&timer, [](uv_timer_t* h) { uv_stop(h->loop); }, ms, 0), 0);
    uv_run(&outer, UV_RUN_DEFAULT);
    uv_close(reinterpret_cast<uv_handle_t*>(&poll), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
    uv_run(&outer, UV_RUN_DEFAULT);
    CHECK_EQ(uv_loop_close(&outer), 0);
    return fired;
  };
  Batch settle;
  loop.wait(0, settle);
  CHECK(!readable(30));
  loop.inbox()->push(std::make_unique<Note>(0, 0));
  CHECK(readable(5000));
  Batch batch;
  loop.wait(0, batch);
  CHECK_EQ(batch.items.size(), 1u);
  CHECK(!readable(30));
}

// ---- The wait's timeout when its timer falls due before the poll ------------------------------------

// libuv before 1.45 runs due timers before it polls in UV_RUN_ONCE. A wait's timer that falls due
// between wait() arming it and uv_run() (the thread was preempted for a millisecond) then fires
// there, and the poll that follows has no timer left to bound it: the wait blocks until something
// else wakes the loop. (Measured with the system's libuv 1.44: 2 waits of 16,000 stuck under CPU
// contention.) A clock that jumps 5 ms at every reading makes the window certain; a watchdog wakes
// a stuck wait after 200 ms so that the test reports instead of hanging. (Under ThreadSanitizer
// its own clock_gettime comes first and the clock does not jump: the test then proves nothing.)
// Fixed in Loop::wait: the timer's callback calls uv_stop(), which makes the poll not block
// whatever libuv's order (uv_backend_timeout is 0 once stop_flag is set).
TEST(a_wait_returns_when_its_timer_falls_due_before_the_poll) {
  Loop loop;
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    while (!done.load()) {
      double until = real_now_ms() + 200;
      while (!done.load() && real_now_ms() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (!done.load()) loop.wake();
    }
  });
  int stuck = 0;
  double worst = 0;
  g_clock_step_ns = 5'000'000;
  for (int i = 0; i < 20; i++) {
    Batch batch;
    double start = real_now_ms();
    loop.wait(1, batch);
    double took = real_now_ms() - start;
    worst = std::max(worst, took);
    if (took > 100) stuck++;
  }
  g_clock_step_ns = 0;
  done = true;
  watchdog.join();
  std::fprintf(stderr, "  waits stuck past their timeout: %d of 20 (longest %.1f ms), libuv %s\n", stuck, worst,
               uv_version_string());
  CHECK_EQ(stuck, 0);
}

TEST_MAIN()
