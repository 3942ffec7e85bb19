// The JavaScript face of the pool: NativePool (submit, cancel, resize, stats, shutdown) and
// NativeRunner (a JavaScript pool thread taking JS work from the native queue).
#include <algorithm>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "addon.h"
#include "items.h"
#include "js_call.h"
#include "loop_wrap.h"
#include "registry.h"
#include "tasks_binding.h"

namespace evloop {

namespace {

// A JavaScript function (its source) or a module export, with structured-clone arguments.
class JsWork : public BoundWork {
 public:
  JsWork(std::shared_ptr<Inbox> inbox, uint64_t id, int kind, std::string source, std::string export_name,
         std::vector<uint8_t> args)
      : BoundWork(std::move(inbox), id),
        kind(kind),
        source(std::move(source)),
        export_name(std::move(export_name)),
        args(std::move(args)) {}
  bool is_js() const override { return true; }
  // The serialized result (or error record); undefined when the runner died holding it.
  Napi::Value settle(Napi::Env env) override {
    if (result.empty()) return env.Undefined();
    return Napi::Buffer<uint8_t>::Copy(env, result.data(), result.size());
  }

  const int kind;  // 0: function source, 1: module export
  const std::string source, export_name;
  std::vector<uint8_t> args, result;
};

std::vector<uint8_t> Bytes(const Napi::Value& value) {
  auto view = value.As<Napi::Uint8Array>();
  return std::vector<uint8_t>(view.Data(), view.Data() + view.ByteLength());
}

enum SubmitCode : int32_t { kOk = 0, kOkStartRunner = 1, kShutdown = -1, kQueueFull = -2 };

class PoolWrap : public Napi::ObjectWrap<PoolWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativePool",
                       {
                           InstanceMethod<&PoolWrap::SubmitTask>("submitTask"),
                           InstanceMethod<&PoolWrap::SubmitJs>("submitJs"),
                           InstanceMethod<&PoolWrap::Cancel>("cancel"),
                           InstanceMethod<&PoolWrap::Resize>("resize"),
                           InstanceMethod<&PoolWrap::Stats>("stats"),
                           InstanceMethod<&PoolWrap::Shutdown>("shutdown"),
                           InstanceMethod<&PoolWrap::WhenDrained>("whenDrained"),
                           InstanceMethod<&PoolWrap::Id>("id"),
                       });
  }

  // new NativePool({ maxWorkers, name, maxQueue, idleTimeout }) or new NativePool(sharedId):
  // a shared id that names no live pool leaves the wrapper without one (see `alive`).
  ~PoolWrap() override {
    if (pool_) registry::release_pool(id_);
  }

  explicit PoolWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PoolWrap>(info) {
    if (info[0].IsNumber()) {
      id_ = static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue());
      pool_ = registry::retain_pool(id_);
      return;
    }
    auto options = info[0].As<Napi::Object>();
    PoolOptions o;
    o.max_workers = options.Get("maxWorkers").As<Napi::Number>().Uint32Value();
    o.name = options.Get("name").As<Napi::String>().Utf8Value();
    o.max_queue = static_cast<size_t>(options.Get("maxQueue").As<Napi::Number>().DoubleValue());
    o.idle_timeout_ms = options.Get("idleTimeout").As<Napi::Number>().DoubleValue();
    if (options.Get("default").ToBoolean()) {
      pool_ = registry::default_pool(o, &id_);
    } else {
      pool_ = Pool::create(o);
      id_ = registry::add_pool(pool_);
    }
  }

 private:
  Napi::Value Code(Napi::Env env, Pool::SubmitResult result, bool want_runner) {
    int32_t code = result == Pool::SubmitResult::kShutdown    ? kShutdown
                   : result == Pool::SubmitResult::kQueueFull ? kQueueFull
                   : want_runner                              ? kOkStartRunner
                                                              : kOk;
    return Napi::Number::New(env, code);
  }

  // submitTask(loop, id, name, ...args)
  Napi::Value SubmitTask(const Napi::CallbackInfo& info) {
    if (!pool_) return Napi::Number::New(info.Env(), kShutdown);
    auto* loop = LoopWrap::Unwrap(info[0].As<Napi::Object>());
    auto id = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
    auto work = MakeTask(info, 2, loop->loop().inbox(), id);
    if (!work) throw Napi::TypeError::New(info.Env(), "unknown native task");
    return Code(info.Env(), pool_->submit(std::move(work)), false);
  }

  // submitJs(loop, id, kind, source, exportName, args, group)
  Napi::Value SubmitJs(const Napi::CallbackInfo& info) {
    if (!pool_) return Napi::Number::New(info.Env(), kShutdown);
    auto* loop = LoopWrap::Unwrap(info[0].As<Napi::Object>());
    auto id = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
    auto work = std::make_unique<JsWork>(loop->loop().inbox(), id, info[2].As<Napi::Number>().Int32Value(),
                                         info[3].As<Napi::String>().Utf8Value(),
                                         info[4].As<Napi::String>().Utf8Value(), Bytes(info[5]));
    uint64_t group = static_cast<uint64_t>(info[6].As<Napi::Number>().DoubleValue());
    work->group = group;
    bool want_runner = false;
    auto result = pool_->submit(std::move(work), &want_runner);
    if (want_runner) AddonData::Of(info.Env())->NoteJsPool(pool_, group);
    return Code(info.Env(), result, want_runner);
  }

  // cancel(loop, id): true if the work had not started.
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    if (!pool_) return Napi::Boolean::New(info.Env(), false);
    auto* loop = LoopWrap::Unwrap(info[0].As<Napi::Object>());
    auto id = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
    return Napi::Boolean::New(info.Env(), pool_->cancel(loop->loop().inbox().get(), id));
  }

  void Resize(const Napi::CallbackInfo& info) {
    if (pool_) pool_->resize(info[0].As<Napi::Number>().Uint32Value());
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PoolStats s = pool_ ? pool_->stats() : PoolStats{};
    auto out = Napi::Object::New(env);
    out.Set("maxWorkers", Napi::Number::New(env, s.max_workers));
    out.Set("threads", Napi::Number::New(env, s.threads));
    out.Set("idle", Napi::Number::New(env, s.idle));
    out.Set("queued", Napi::Number::New(env, static_cast<double>(s.queued)));
    out.Set("running", Napi::Number::New(env, static_cast<double>(s.running)));
    out.Set("completed", Napi::Number::New(env, static_cast<double>(s.completed)));
    out.Set("failed", Napi::Number::New(env, static_cast<double>(s.failed)));
    out.Set("cancelled", Napi::Number::New(env, static_cast<double>(s.cancelled)));
    out.Set("shutdown", Napi::Boolean::New(env, !pool_ || pool_->is_shutdown()));
    return out;
  }

  // shutdown(cancelQueued)
  void Shutdown(const Napi::CallbackInfo& info) {
    if (!pool_) return;
    pool_->shutdown(info[0].ToBoolean());
  }

  // whenDrained(loop, token): the loop gets a `drained` event once nothing is in flight.
  void WhenDrained(const Napi::CallbackInfo& info) {
    auto* loop = LoopWrap::Unwrap(info[0].As<Napi::Object>());
    auto token = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
    auto item = std::make_unique<Drained>(token);
    if (pool_) {
      pool_->when_drained(loop->loop().inbox(), std::move(item));
    } else {
      loop->loop().inbox()->push(std::move(item));
    }
  }

  Napi::Value Id(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(id_));
  }

  std::shared_ptr<Pool> pool_;
  uint64_t id_ = 0;
};

// Where a runner is woken. Shared with the pool's wake function, which may run on another
// thread just as the runner leaves: the handle is cleared under the lock before it is freed.
struct WakeTarget {
  std::mutex mu;
  uv_async_t* async = nullptr;
  void wake() {
    std::lock_guard<std::mutex> lock(mu);
    if (async != nullptr) uv_async_send(async);
  }
};

class RunnerWrap : public Napi::ObjectWrap<RunnerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeRunner",
                       {
                           InstanceMethod<&RunnerWrap::Take>("take"),
                           InstanceMethod<&RunnerWrap::Finish>("finish"),
                           InstanceMethod<&RunnerWrap::Detach>("detach"),
                           InstanceMethod<&RunnerWrap::LeaveIfIdle>("leaveIfIdle"),
                           InstanceMethod<&RunnerWrap::ShouldLeave>("shouldLeave"),
                       });
  }

  // new NativeRunner(poolId, group, onWake): attaches this thread to the pool as a JS runner.
  explicit RunnerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RunnerWrap>(info) {
    Napi::Env env = info.Env();
    auto pool = registry::find_pool(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
    if (!pool) throw Napi::Error::New(env, "evloop: the pool is gone");
    auto group = static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue());
    on_wake_ = Napi::Persistent(info[2].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "evloop.PoolRunner");
    napi_async_init(env, nullptr, name, &async_context_);
    uv_loop_t* node_loop;
    napi_get_uv_event_loop(env, &node_loop);
    auto* async = static_cast<uv_async_t*>(std::calloc(1, uv_handle_size(UV_ASYNC)));
    async->data = this;
    uv_async_init(node_loop, async, OnWake);
    target_ = std::make_shared<WakeTarget>();
    target_->async = async;
    auto target = target_;
    runner_ = pool->attach_runner([target] { target->wake(); }, group);
    cleanup_ = env.AddCleanupHook(std::function<void()>([this] { DetachNow(); }));
  }

  ~RunnerWrap() override {
    if (runner_) cleanup_.Remove(Env());
    DetachNow();
  }

 private:
  static void OnWake(uv_async_t* async) {
    auto* self = static_cast<RunnerWrap*>(async->data);
    Napi::Env env = self->Env();
    try {
      Napi::HandleScope scope(env);
      CallFromLibuv(env, self->async_context_, self->on_wake_.Value(), 0, nullptr);
    } catch (const Napi::Error&) {
      // The thread's environment is going away; its cleanup hook detaches the runner.
    }
  }

  // take(): [kind, source, exportName, args] of the next JS work, or undefined when idle.
  Napi::Value Take(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!runner_) return env.Undefined();
    auto work = runner_->take();
    if (!work) return env.Undefined();
    current_.reset(static_cast<JsWork*>(work.release()));
    auto out = Napi::Array::New(env, 4);
    out.Set(0u, Napi::Number::New(env, current_->kind));
    out.Set(1u, Napi::String::New(env, current_->source));
    out.Set(2u, Napi::String::New(env, current_->export_name));
    out.Set(3u, Napi::Buffer<uint8_t>::Copy(env, current_->args.data(), current_->args.size()));
    return out;
  }

  // finish(ok, bytes): the serialized result (ok) or error record of the work taken last.
  void Finish(const Napi::CallbackInfo& info) {
    if (!current_ || !runner_) return;
    current_->status = info[0].ToBoolean() ? Work::Status::kDone : Work::Status::kFailed;
    current_->result = Bytes(info[1]);
    current_->args.clear();
    runner_->finish(std::move(current_));
  }

  void Detach(const Napi::CallbackInfo&) { DetachNow(); }

  // shouldLeave(): the pool was shut down or shrunk below this group's runners.
  Napi::Value ShouldLeave(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), !runner_ || runner_->should_leave());
  }

  // leaveIfIdle(): detaches unless JS work is waiting (then the runner should take it).
  Napi::Value LeaveIfIdle(const Napi::CallbackInfo& info) {
    if (!runner_) return Napi::Boolean::New(info.Env(), true);
    if (!runner_->leave_if_idle()) return Napi::Boolean::New(info.Env(), false);
    DetachNow();
    return Napi::Boolean::New(info.Env(), true);
  }

  void DetachNow() {
    if (!runner_) return;
    {
      std::lock_guard<std::mutex> lock(target_->mu);
      uv_close(reinterpret_cast<uv_handle_t*>(target_->async), [](uv_handle_t* h) { std::free(h); });
      target_->async = nullptr;
    }
    // Work taken and not finished fails: the pool reports it to its loop.
    runner_->detach(std::move(current_));
    runner_.reset();
    on_wake_.Reset();
    if (async_context_ != nullptr) napi_async_destroy(Env(), async_context_);
    async_context_ = nullptr;
  }

  std::shared_ptr<JsRunner> runner_;
  std::shared_ptr<WakeTarget> target_;
  std::unique_ptr<JsWork> current_;
  Napi::FunctionReference on_wake_;
  napi_async_context async_context_ = nullptr;
  Napi::Env::CleanupHook<std::function<void()>> cleanup_;
};

}  // namespace

void InitPool(Napi::Env env, Napi::Object exports) {
  exports.Set("NativePool", PoolWrap::Define(env));
  exports.Set("NativeRunner", RunnerWrap::Define(env));
  exports.Set("runTask", Napi::Function::New<RunTaskSync>(env, "runTask"));
  exports.Set("digestSupported", Napi::Function::New<DigestSupported>(env, "digestSupported"));
}

}  // namespace evloop
