// The built-in native tasks as pool work: arguments copied in at submit, results turned into
// JavaScript values on the loop's thread.
#pragma once
#include <napi.h>

#include "items.h"

namespace evloop {

// info[first] is the task's name ('sleep', 'readFile', ...), its arguments follow, already
// validated by lib/builtin-tasks.ts. Returns null for an unknown name.
std::unique_ptr<BoundWork> MakeTask(const Napi::CallbackInfo& info, size_t first,
                                    std::shared_ptr<Inbox> inbox, uint64_t id);
// runTask(name, ...args): the same task run at once on the calling thread.
Napi::Value RunTaskSync(const Napi::CallbackInfo& info);
// digestSupported(name)
Napi::Value DigestSupported(const Napi::CallbackInfo& info);

}  // namespace evloop
