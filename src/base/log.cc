#include "base/log.h"

#include <atomic>
#include <mutex>

namespace limarp::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mutex;  // keeps lines from different threads whole
}  // namespace

void set_level(Level level) { g_level.store(level); }
Level level() { return g_level.load(std::memory_order_relaxed); }

void write(Level lvl, std::string_view message) {
  static constexpr const char* kPrefix[] = {"debug: ", "", "warning: ", "error: ", ""};
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%s%.*s\n", kPrefix[static_cast<int>(lvl)], static_cast<int>(message.size()),
               message.data());
}

}  // namespace limarp::log
