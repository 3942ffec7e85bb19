#include "registry.h"

#include <map>
#include <mutex>

namespace evloop::registry {

namespace {

// Never destroyed: at process exit, static destructors must not join pool threads still running.
std::mutex& mu = *new std::mutex;
uint64_t next_id = 1;
std::map<uint64_t, std::weak_ptr<Inbox>>& inboxes = *new std::map<uint64_t, std::weak_ptr<Inbox>>;
struct PoolEntry {
  std::shared_ptr<Pool> pool;
  size_t holders;
};
std::map<uint64_t, PoolEntry>& pools = *new std::map<uint64_t, PoolEntry>;
uint64_t default_pool_id = 0;

}  // namespace

uint64_t add_inbox(const std::shared_ptr<Inbox>& inbox) {
  std::lock_guard<std::mutex> lock(mu);
  inboxes[next_id] = inbox;
  return next_id++;
}

std::shared_ptr<Inbox> find_inbox(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = inboxes.find(id);
  return it == inboxes.end() ? nullptr : it->second.lock();
}

void remove_inbox(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  inboxes.erase(id);
}

uint64_t add_pool(const std::shared_ptr<Pool>& pool) {
  std::lock_guard<std::mutex> lock(mu);
  pools[next_id] = {pool, 1};
  return next_id++;
}

std::shared_ptr<Pool> retain_pool(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = pools.find(id);
  if (it == pools.end()) return nullptr;
  it->second.holders++;
  return it->second.pool;
}

std::shared_ptr<Pool> find_pool(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = pools.find(id);
  return it == pools.end() ? nullptr : it->second.pool;
}

uint64_t id_of(const Pool* pool) {
  std::lock_guard<std::mutex> lock(mu);
  for (auto& entry : pools) {
    if (entry.second.pool.get() == pool) return entry.first;
  }
  return 0;
}

void release_pool(uint64_t id) {
  std::shared_ptr<Pool> dropped;  // destroyed after the lock is released: ~Pool joins threads
  std::lock_guard<std::mutex> lock(mu);
  auto it = pools.find(id);
  if (it == pools.end() || --it->second.holders > 0) return;
  dropped = std::move(it->second.pool);
  pools.erase(it);
}

std::shared_ptr<Pool> default_pool(const PoolOptions& options, uint64_t* id) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = pools.find(default_pool_id);
  if (it != pools.end()) {
    it->second.holders++;
    *id = default_pool_id;
    return it->second.pool;
  }
  auto pool = Pool::create(options);
  default_pool_id = next_id++;
  pools[default_pool_id] = {pool, 2};  // one more holder than wrappers: it is never released
  *id = default_pool_id;
  return pool;
}

}  // namespace evloop::registry
