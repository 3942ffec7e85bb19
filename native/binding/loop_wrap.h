// The JavaScript face of a native Loop: one crossing per turn (wait or drive), returning the
// turn's events as one flat array.
#pragma once
#include <napi.h>

#include "../core/loop.h"
#include "addon.h"

namespace evloop {

class LoopWrap : public Napi::ObjectWrap<LoopWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit LoopWrap(const Napi::CallbackInfo& info);
  ~LoopWrap() override;

  Loop& loop() { return loop_; }
  uint64_t id() const { return id_; }
  void Close();

 private:
  Napi::Value Wait(const Napi::CallbackInfo& info);
  void Drive(const Napi::CallbackInfo& info);
  void SetRef(const Napi::CallbackInfo& info);
  void Watch(const Napi::CallbackInfo& info);
  void WatchSignal(const Napi::CallbackInfo& info);
  void WatchInterrupt(const Napi::CallbackInfo& info);
  void Wake(const Napi::CallbackInfo& info);
  Napi::Value Id(const Napi::CallbackInfo& info);
  void CloseMethod(const Napi::CallbackInfo& info);

  Napi::Value ToJs(Napi::Env env, Batch& batch);
  static void OnDriven(uv_poll_t* handle, int status, int events);

  std::shared_ptr<AddonData> addon_;
  Loop loop_;
  uint64_t id_ = 0;
  // Host mode: Node's loop watches our backend descriptor and we turn with a zero timeout.
  uv_poll_t* driver_ = nullptr;
  Napi::FunctionReference on_batch_;
  napi_async_context async_context_ = nullptr;
};

// The Error Node would give for a failed system call: message "CODE: description, syscall".
Napi::Error SystemError(Napi::Env env, int uv_err, const char* syscall);

}  // namespace evloop
