// Per-environment state of the addon (one per thread that loads it: main thread or worker).
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

#include "../core/pool.h"

namespace evloop {

class LoopWrap;

// Shared with every object of the environment, so that a finalizer running after the
// environment's cleanup still finds it.
struct AddonData {
  // Loops of this environment, closed when it is torn down (worker exit, process exit).
  std::unordered_set<LoopWrap*> loops;
  bool tearing_down = false;
  // Pools this thread asked for JavaScript runners (its group there is its threadId). When the
  // thread ends, so does its group: runners it was starting died with it, unattached.
  std::vector<std::weak_ptr<Pool>> js_pools;
  uint64_t group = 0;

  void NoteJsPool(const std::shared_ptr<Pool>& pool, uint64_t thread_group) {
    group = thread_group;
    for (auto& known : js_pools) {
      if (known.lock() == pool) return;
    }
    js_pools.push_back(pool);
  }

  static std::shared_ptr<AddonData> Of(Napi::Env env) {
    return *env.GetInstanceData<std::shared_ptr<AddonData>>();
  }
};

void InitPool(Napi::Env env, Napi::Object exports);

}  // namespace evloop
