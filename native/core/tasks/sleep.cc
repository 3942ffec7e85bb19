// tasks.sleep(ms): blocks the pool thread, as a synchronous sleep would.
#include <algorithm>
#include <chrono>
#include <thread>

#include "tasks.h"

namespace evloop::tasks {

void sleep_ms(double ms) {
  // NaN, zero and negative durations wait for nothing.
  if (!(ms > 0)) return;
  // About 31,700 years: keeps the nanosecond count (and Infinity) inside int64.
  constexpr double kLongest = 1e15;
  std::chrono::duration<double, std::milli> wait(std::min(ms, kLongest));
  // sleep_for resumes after signals, so the thread sleeps the whole time.
  std::this_thread::sleep_for(std::chrono::duration_cast<std::chrono::nanoseconds>(wait));
}

}  // namespace evloop::tasks
