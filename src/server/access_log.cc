#include "server/access_log.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "server/api_response.h"

namespace limarp::server {
namespace {

// UTC with milliseconds, as ISO 8601: sortable, and unambiguous across replicas.
std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ms % 1000);
}


}  // namespace

std::string access_log_line(const ExchangeRecord& r, AccessLogFormat format) {
  const bool generated = r.generated_tokens >= 0;
  if (format == AccessLogFormat::kJson) {
    Json j = {{"time", iso_time(r.time)},   {"client", r.client}, {"method", r.method},
              {"path", r.path},             {"status", r.status}, {"duration_ms", std::round(r.duration_ms * 10) / 10}};
    if (generated) {
      j["prompt_tokens"] = r.prompt_tokens;
      j["generated_tokens"] = r.generated_tokens;
      j["cached_tokens"] = r.cached_tokens;
      j["slot"] = r.slot;
      j["prompt_ms"] = std::round(r.prompt_ms * 10) / 10;
      j["generation_ms"] = std::round(r.generation_ms * 10) / 10;
      j["stop_reason"] = r.stop_reason;
    }
    if (!r.error.empty()) j["error"] = r.error;
    if (!r.prompt_text.empty()) j["prompt"] = r.prompt_text;
    return json_text(j);
  }
  std::string line = fmt::format("{} {} \"{} {}\" {} {:.1f}ms", iso_time(r.time), r.client.empty() ? "-" : r.client,
                                 r.method, r.path, r.status, r.duration_ms);
  if (generated)
    line += fmt::format(" prompt={} gen={} cached={} slot={} stop={}", r.prompt_tokens, r.generated_tokens,
                        r.cached_tokens, r.slot, r.stop_reason);
  // As JSON string literals: text with spaces or quotes stays one field of the line.
  if (!r.error.empty()) line += " error=" + json_text(Json(r.error));
  if (!r.prompt_text.empty()) line += " prompt_text=" + json_text(Json(r.prompt_text));
  return line;
}

}  // namespace limarp::server
