// What one request/response exchange did, for the access log and the metrics. The HTTP server
// fills in the transport's part (client, method, path, status, duration, the error it
// answered); handlers that run a generation add the model's part (tokens, slot, timings).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace limarp::server {

struct ExchangeRecord {
  std::chrono::system_clock::time_point time;   // when the request began arriving
  std::chrono::steady_clock::time_point start;  // the same, for the duration
  double duration_ms = 0;                       // until the response (or stream) ended
  std::string client;                           // "127.0.0.1:53412"
  std::string method;                           // "-" when the request line never parsed
  std::string path;
  std::string route;                            // the matched route, or "" (metrics label "other")
  int status = 0;
  std::string error;                            // the message of a 4xx/5xx answer (or of a stream's error event)
  // A generation's part; -1 where the exchange ran none.
  int64_t prompt_tokens = -1, generated_tokens = -1, cached_tokens = -1;
  int slot = -1;
  double prompt_ms = 0, generation_ms = 0;
  std::string stop_reason;
  std::string prompt_text;                      // only kept with --log-prompts
};

}  // namespace limarp::server
