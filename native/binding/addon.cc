// The addon's entry: registers the native classes and functions of each environment.
#include "addon.h"

#include <vector>

#include "items.h"
#include "loop_wrap.h"
#include "registry.h"

namespace evloop {

void InitCApi(Napi::Env env, Napi::Object exports);  // c_api.cc

namespace {

// post(loopId, bytes): a structured-clone payload for another loop's message handler.
// False once that loop is closed.
Napi::Value Post(const Napi::CallbackInfo& info) {
  auto inbox = registry::find_inbox(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
  if (!inbox) return Napi::Boolean::New(info.Env(), false);
  auto bytes = info[1].As<Napi::Uint8Array>();
  std::vector<uint8_t> copy(bytes.Data(), bytes.Data() + bytes.ByteLength());
  return Napi::Boolean::New(info.Env(), inbox->push(std::make_unique<Message>(std::move(copy))));
}

// runnerFailed(poolId, group): a JavaScript runner asked for could not start, or ended unattached.
void RunnerFailed(const Napi::CallbackInfo& info) {
  auto pool = registry::find_pool(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
  if (pool) pool->runner_failed(static_cast<uint64_t>(info[1].As<Napi::Number>().DoubleValue()));
}

void Cleanup(Napi::Env, std::shared_ptr<AddonData>* data) {
  (*data)->tearing_down = true;
  // Close() leaves the set alone, so walking it here is safe.
  for (LoopWrap* loop : (*data)->loops) loop->Close();
  (*data)->loops.clear();
  for (auto& weak : (*data)->js_pools) {
    if (auto pool = weak.lock()) pool->end_group((*data)->group);
  }
  delete data;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<std::shared_ptr<AddonData>, Cleanup>(new std::shared_ptr<AddonData>(std::make_shared<AddonData>()));
  exports.Set("NativeLoop", LoopWrap::Define(env));
  exports.Set("post", Napi::Function::New<Post>(env, "post"));
  exports.Set("runnerFailed", Napi::Function::New<RunnerFailed>(env, "runnerFailed"));
  InitPool(env, exports);
  InitCApi(env, exports);
  return exports;
}

}  // namespace evloop

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return evloop::Init(env, exports); }

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
