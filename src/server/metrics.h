// Prometheus metrics for `limarp serve --metrics` (GET /metrics, text exposition format 0.0.4):
// counters fed by every finished exchange, and gauges read from the scheduler when scraped.
// Route labels are the registered routes only (unknown paths count as "other"), so a client
// cannot grow the label set.
//
//   Metrics metrics;
//   metrics.observe(record);                       // after each exchange
//   std::string text = metrics.render(live);       // the /metrics body
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "server/exchange_record.h"

namespace limarp::server {

// What the scheduler says at scrape time.
struct LiveState {
  int slots_total = 0, slots_busy = 0, queued = 0;
  int64_t kv_tokens = 0, kv_capacity_tokens = 0;  // cached tokens over all slots, and room for them
  int64_t prompt_tokens_evaluated = 0, prompt_tokens_reused = 0, jobs_refused = 0;
  int64_t draft_tokens = 0, draft_tokens_accepted = 0;  // speculative decoding
  std::string phase;  // "loading", "ok", "draining"
};

class Metrics {
 public:
  void observe(const ExchangeRecord& record);
  std::string render(const LiveState& live) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (route, status) -> count
  int64_t generations_ = 0, prompt_tokens_ = 0, generated_tokens_ = 0;
  double prompt_seconds_ = 0, generation_seconds_ = 0;
};

}  // namespace limarp::server
