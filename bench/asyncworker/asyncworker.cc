// The comparator of bench/pool-native.js and bench/starvation.js: the textbook way an addon
// offloads work, a Napi::AsyncWorker on libuv's shared pool (UV_THREADPOOL_SIZE threads), whose
// completion calls back into JavaScript once per task.
#include <napi.h>

#include <chrono>
#include <thread>

namespace {

class SleepWorker : public Napi::AsyncWorker {
 public:
  SleepWorker(const Napi::Function& callback, double ms) : Napi::AsyncWorker(callback, "bench.asyncworker"), ms_(ms) {}
  void Execute() override {
    if (ms_ > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms_));
  }
  // The default OnOK calls the callback with no arguments.

 private:
  double ms_;
};

// noop(callback): a task that does nothing, then callback() on the main thread.
Napi::Value Noop(const Napi::CallbackInfo& info) {
  (new SleepWorker(info[0].As<Napi::Function>(), 0))->Queue();
  return info.Env().Undefined();
}

// sleep(ms, callback): blocks a libuv pool thread for ms, then callback().
Napi::Value Sleep(const Napi::CallbackInfo& info) {
  (new SleepWorker(info[1].As<Napi::Function>(), info[0].As<Napi::Number>().DoubleValue()))->Queue();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("noop", Napi::Function::New(env, Noop, "noop"));
  exports.Set("sleep", Napi::Function::New(env, Sleep, "sleep"));
  return exports;
}

}  // namespace

NODE_API_MODULE(asyncworker, Init)
