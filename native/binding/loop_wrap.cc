#include "loop_wrap.h"

#include <cstdlib>
#include <string>

#include "addon.h"
#include "items.h"
#include "js_call.h"
#include "registry.h"

namespace evloop {

// Tags of the flat batch array [tag, id, value, tag, id, value, ...] (lib/native.ts reads it).
enum Tag : int32_t {
  kWorkDone = 1,
  kWorkFailed = 2,
  kWorkCancelled = 3,
  kMessage = 4,
  kReady = 5,
  kSignal = 6,
  kInterrupted = 7,
  kDrained = 8,
  kBytes = 9,  // C API post(): the value is a Buffer, delivered as is
  kCall = 10,  // C API call(): the value is a function to run as a callback
  kRunnerWanted = 11,  // the id is a pool's, the value its idleTimeout: start a JS runner for it
};

Napi::Error SystemError(Napi::Env env, int uv_err, const char* syscall) {
  std::string code = uv_err_name(uv_err);
  auto error = Napi::Error::New(env, code + ": " + uv_strerror(uv_err) + ", " + syscall);
  error.Set("errno", Napi::Number::New(env, uv_err));
  error.Set("code", Napi::String::New(env, code));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

Napi::Function LoopWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeLoop",
                     {
                         InstanceMethod<&LoopWrap::Wait>("wait"),
                         InstanceMethod<&LoopWrap::Drive>("drive"),
                         InstanceMethod<&LoopWrap::SetRef>("setRef"),
                         InstanceMethod<&LoopWrap::Watch>("watch"),
                         InstanceMethod<&LoopWrap::WatchSignal>("watchSignal"),
                         InstanceMethod<&LoopWrap::WatchInterrupt>("watchInterrupt"),
                         InstanceMethod<&LoopWrap::Wake>("wake"),
                         InstanceMethod<&LoopWrap::Id>("id"),
                         InstanceMethod<&LoopWrap::CloseMethod>("close"),
                     });
}

LoopWrap::LoopWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LoopWrap>(info) {
  id_ = registry::add_inbox(loop_.inbox());
  addon_ = AddonData::Of(info.Env());
  addon_->loops.insert(this);
}

LoopWrap::~LoopWrap() {
  Close();
  addon_->loops.erase(this);
}

void LoopWrap::Close() {
  if (loop_.closed()) return;
  registry::remove_inbox(id_);
  if (driver_ != nullptr) {
    uv_poll_stop(driver_);
    uv_close(reinterpret_cast<uv_handle_t*>(driver_), [](uv_handle_t* h) { std::free(h); });
    driver_ = nullptr;
  }
  if (async_context_ != nullptr) {
    napi_async_destroy(Env(), async_context_);
    async_context_ = nullptr;
  }
  on_batch_.Reset();
  loop_.close();
}

Napi::Value LoopWrap::ToJs(Napi::Env env, Batch& batch) {
  if (batch.empty()) return env.Undefined();
  auto out = Napi::Array::New(env);
  uint32_t n = 0;
  auto put = [&](int32_t tag, double id, Napi::Value value) {
    out.Set(n++, Napi::Number::New(env, tag));
    out.Set(n++, Napi::Number::New(env, id));
    out.Set(n++, value);
  };
  for (auto& item : batch.items) {
    switch (item->kind) {
      case Item::Kind::kWork: {
        auto* work = static_cast<BoundWork*>(item.get());
        int32_t tag = work->status == Work::Status::kDone     ? kWorkDone
                      : work->status == Work::Status::kFailed ? kWorkFailed
                                                              : kWorkCancelled;
        put(tag, static_cast<double>(work->id),
            tag == kWorkCancelled ? env.Undefined() : work->settle(env));
        break;
      }
      case Item::Kind::kMessage: {
        auto* message = static_cast<Message*>(item.get());
        if (message->form == Message::Form::kCall) {
          Napi::Value fn = NativeCallToJs(env, std::move(item));
          if (!fn.IsUndefined()) put(kCall, 0, fn);
          break;
        }
        put(message->form == Message::Form::kBytes ? kBytes : kMessage, 0,
            Napi::Buffer<uint8_t>::Copy(env, message->bytes.data(), message->bytes.size()));
        break;
      }
      case Item::Kind::kDrained:
        put(kDrained, static_cast<double>(static_cast<Drained*>(item.get())->token), env.Undefined());
        break;
      case Item::Kind::kRunnerWanted: {
        auto* request = static_cast<RunnerWanted*>(item.get());
        std::shared_ptr<Pool> pool = request->answer();
        uint64_t pool_id = pool ? registry::id_of(pool.get()) : 0;
        if (pool_id != 0) {
          put(kRunnerWanted, static_cast<double>(pool_id), Napi::Number::New(env, pool->options().idle_timeout_ms));
        } else if (pool) {
          pool->runner_failed(request->group);  // no wrapper left to find it by: nothing can attach
        }
        break;
      }
    }
  }
  for (auto& ready : batch.ready) put(kReady, ready.fd, Napi::Number::New(env, ready.events));
  for (int signum : batch.signals) put(kSignal, signum, env.Undefined());
  if (batch.interrupted) put(kInterrupted, 0, env.Undefined());
  return out;
}

// wait(timeoutMs): blocks this thread for at most timeoutMs (< 0: no limit).
Napi::Value LoopWrap::Wait(const Napi::CallbackInfo& info) {
  Batch batch;
  loop_.wait(info[0].As<Napi::Number>().DoubleValue(), batch);
  return ToJs(info.Env(), batch);
}

void LoopWrap::OnDriven(uv_poll_t* handle, int, int) {
  auto* self = static_cast<LoopWrap*>(handle->data);
  Batch batch;
  self->loop_.wait(0, batch);
  if (batch.empty()) return;
  Napi::Env env = self->Env();
  try {
    Napi::HandleScope scope(env);
    napi_value arg = self->ToJs(env, batch);
    CallFromLibuv(env, self->async_context_, self->on_batch_.Value(), 1, &arg);
  } catch (const Napi::Error&) {
    // JavaScript cannot run any more (the environment is going away): the batch is dropped.
  }
}

// drive(onBatch): the host loop. Node's own loop watches this loop's backend descriptor;
// each time it is readable the loop turns once without blocking and onBatch gets the events.
void LoopWrap::Drive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  on_batch_ = Napi::Persistent(info[0].As<Napi::Function>());
  napi_value name = Napi::String::New(env, "evloop.HostLoop");
  napi_async_init(env, nullptr, name, &async_context_);
  uv_loop_t* node_loop;
  napi_get_uv_event_loop(env, &node_loop);
  driver_ = static_cast<uv_poll_t*>(std::calloc(1, uv_handle_size(UV_POLL)));
  driver_->data = this;
  int err = uv_poll_init(node_loop, driver_, loop_.backend_fd());
  if (err == 0) err = uv_poll_start(driver_, UV_READABLE, OnDriven);
  if (err != 0) throw SystemError(env, err, "uv_poll_start");
  // Idle, the host loop keeps nothing alive; setRef(true) while work is pending.
  uv_unref(reinterpret_cast<uv_handle_t*>(driver_));
}

void LoopWrap::SetRef(const Napi::CallbackInfo& info) {
  if (driver_ == nullptr) return;
  auto* handle = reinterpret_cast<uv_handle_t*>(driver_);
  if (info[0].ToBoolean()) {
    uv_ref(handle);
  } else {
    uv_unref(handle);
  }
}

// watch(fd, events): events is UV_READABLE (1) | UV_WRITABLE (2), 0 to stop.
void LoopWrap::Watch(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int events = info[1].As<Napi::Number>().Int32Value();
  int err = loop_.watch(fd, events);
  if (err != 0) throw SystemError(info.Env(), err, "epoll_ctl");
}

void LoopWrap::WatchSignal(const Napi::CallbackInfo& info) {
  int err = loop_.watch_signal(info[0].As<Napi::Number>().Int32Value(), info[1].ToBoolean());
  if (err != 0) throw SystemError(info.Env(), err, "uv_signal_start");
}

void LoopWrap::WatchInterrupt(const Napi::CallbackInfo& info) {
  int err = loop_.watch_interrupt(info[0].ToBoolean());
  if (err != 0) throw SystemError(info.Env(), err, "uv_signal_start");
}

void LoopWrap::Wake(const Napi::CallbackInfo&) { loop_.wake(); }

Napi::Value LoopWrap::Id(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(id_));
}

void LoopWrap::CloseMethod(const Napi::CallbackInfo&) { Close(); }

}  // namespace evloop
