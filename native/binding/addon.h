// Per-environment state of the addon (one per thread that loads it: main thread or worker).
#pragma once
#include <napi.h>

#include <memory>
#include <unordered_set>

namespace evloop {

class LoopWrap;

// Shared with every object of the environment, so that a finalizer running after the
// environment's cleanup still finds it.
struct AddonData {
  // Loops of this environment, closed when it is torn down (worker exit, process exit).
  std::unordered_set<LoopWrap*> loops;
  bool tearing_down = false;

  static std::shared_ptr<AddonData> Of(Napi::Env env) {
    return *env.GetInstanceData<std::shared_ptr<AddonData>>();
  }
};

void InitPool(Napi::Env env, Napi::Object exports);

}  // namespace evloop
