// Process-wide names for what crosses threads: a loop's inbox and a pool, by number, so that a
// plain structured-cloneable object ({ id }) can stand for them in another thread.
#pragma once
#include <cstdint>
#include <memory>

#include "../core/inbox.h"
#include "../core/pool.h"

namespace evloop::registry {

uint64_t add_inbox(const std::shared_ptr<Inbox>& inbox);
std::shared_ptr<Inbox> find_inbox(uint64_t id);  // null once the loop is closed
void remove_inbox(uint64_t id);

// Pools are counted by the JavaScript wrappers that hold them, in any thread: a pool stays
// findable (for fromShared and for starting JS runners) while one wrapper is alive.
uint64_t add_pool(const std::shared_ptr<Pool>& pool);
std::shared_ptr<Pool> retain_pool(uint64_t id);  // null when no wrapper holds it any more
std::shared_ptr<Pool> find_pool(uint64_t id);
uint64_t id_of(const Pool* pool);  // 0 when no wrapper holds it any more
void release_pool(uint64_t id);
// The process-wide default pool, created with `options` on first use, retained; never released.
std::shared_ptr<Pool> default_pool(const PoolOptions& options, uint64_t* id);

}  // namespace evloop::registry
