// The C API for other addons (native/include/evloop.h): a static table of function pointers,
// handed to JavaScript as an External by nativeApi(), whose functions push into a loop's inbox
// from any thread, as the JavaScript post() does.
#include "../include/evloop.h"

#include <memory>
#include <new>
#include <vector>

#include "items.h"
#include "registry.h"

namespace evloop {

namespace {

// A native function to run on the loop's thread. It is called exactly once: by the JavaScript
// function the batch turns it into, or with a null env when it is dropped unrun (the loop closed
// first, or that function was collected without being called).
class NativeCall : public Message {
 public:
  NativeCall(evloop_call_fn fn, void* data) : Message({}, Form::kCall), fn_(fn), data_(data) {}
  ~NativeCall() override {
    if (this == refusing_) return;  // refused by a closed inbox: the caller keeps `data`
    Run(nullptr);
  }

  void Run(napi_env env) {
    evloop_call_fn fn = fn_;
    fn_ = nullptr;
    if (fn != nullptr) fn(env, data_);
  }

  // Set around an inbox push: an item the inbox refuses is destroyed inside push(), and must not
  // run then (call() reports the refusal instead).
  static thread_local const NativeCall* refusing_;

 private:
  evloop_call_fn fn_;
  void* data_;
};

thread_local const NativeCall* NativeCall::refusing_ = nullptr;

int PushBytes(uint64_t loop_id, const void* data, size_t len, Message::Form form) {
  if (data == nullptr && len > 0) return EVLOOP_EINVAL;
  try {
    auto inbox = registry::find_inbox(loop_id);
    if (!inbox) return EVLOOP_ECLOSED;
    const auto* bytes = static_cast<const uint8_t*>(data);
    std::vector<uint8_t> copy(bytes, bytes + len);
    return inbox->push(std::make_unique<Message>(std::move(copy), form)) ? EVLOOP_OK : EVLOOP_ECLOSED;
  } catch (const std::bad_alloc&) {
    return EVLOOP_ENOMEM;
  } catch (...) {
    return EVLOOP_ENOMEM;
  }
}

int Post(uint64_t loop_id, const void* data, size_t len) {
  return PushBytes(loop_id, data, len, Message::Form::kBytes);
}

int PostSerialized(uint64_t loop_id, const void* data, size_t len) {
  return PushBytes(loop_id, data, len, Message::Form::kSerialized);
}

int Call(uint64_t loop_id, evloop_call_fn fn, void* data) {
  if (fn == nullptr) return EVLOOP_EINVAL;
  try {
    auto inbox = registry::find_inbox(loop_id);
    if (!inbox) return EVLOOP_ECLOSED;
    auto item = std::make_unique<NativeCall>(fn, data);
    NativeCall::refusing_ = item.get();
    bool ok = inbox->push(std::move(item));
    NativeCall::refusing_ = nullptr;
    return ok ? EVLOOP_OK : EVLOOP_ECLOSED;
  } catch (...) {
    NativeCall::refusing_ = nullptr;
    return EVLOOP_ENOMEM;
  }
}

const evloop_api_v1 kApi = {
    EVLOOP_API_MAGIC, EVLOOP_API_VERSION, sizeof(evloop_api_v1), 0, Post, PostSerialized, Call,
};

// nativeApi(): the table, as an External (JavaScript cannot forge one).
Napi::Value NativeApi(const Napi::CallbackInfo& info) {
  return Napi::External<evloop_api_v1>::New(info.Env(), const_cast<evloop_api_v1*>(&kApi));
}

napi_value RunNativeCall(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  if (napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &data) != napi_ok || data == nullptr) return nullptr;
  static_cast<NativeCall*>(data)->Run(env);
  return nullptr;
}

void DeleteNativeCall(napi_env, void* data, void*) { delete static_cast<NativeCall*>(data); }

}  // namespace

Napi::Value NativeCallToJs(Napi::Env env, std::unique_ptr<Item> item) {
  auto* call = static_cast<NativeCall*>(item.get());
  napi_value fn;
  if (napi_create_function(env, "nativeCall", NAPI_AUTO_LENGTH, RunNativeCall, call, &fn) != napi_ok) {
    return env.Undefined();  // `item` is destroyed here: the call runs with a null env
  }
  // The function owns the call from now on: collected, it is deleted (and run with a null env
  // if it never ran).
  if (napi_add_finalizer(env, fn, call, DeleteNativeCall, nullptr, nullptr) != napi_ok) {
    return env.Undefined();
  }
  item.release();
  return Napi::Value(env, fn);
}

void InitCApi(Napi::Env env, Napi::Object exports) {
  exports.Set("nativeApi", Napi::Function::New<NativeApi>(env, "nativeApi"));
}

}  // namespace evloop
