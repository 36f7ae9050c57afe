#include "server/slot_api.h"

#include <charconv>
#include <chrono>

#include "infer/session_file.h"
#include "server/api_response.h"
#include "server/request_fields.h"

namespace limarp::server {
namespace {

// The value of `key` in a query string ("action=save&x=1"); not percent-decoded, since the
// values it serves are plain words.
std::string_view query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void slot_action(const ServerContext& c, const HttpRequest& req, HttpExchange& ex) {
  const auto fail = [&](int status, const std::string& message) { ex.respond(error_response({status, message})); };
  const std::string_view id_text = std::string_view(req.path).substr(std::string_view("/slots/").size());
  int id = -1;
  const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size() || id < 0)
    return fail(404, "no route " + req.path + ": expected /slots/{id} with a slot number");
  if (id >= c.scheduler->slot_count())
    return fail(400, fmt::format("no slot {}: this server has slots 0..{}", id, c.scheduler->slot_count() - 1));
  const std::string action(query_value(req.query, "action"));
  const auto start = std::chrono::steady_clock::now();
  if (action == "erase") {
    int64_t erased = 0;
    const Status st = c.scheduler->with_idle_slot(id, [&](Session& s) {
      erased = static_cast<int64_t>(s.tokens().size());
      s.clear();
      return Status{};
    });
    if (!st.ok()) return fail(400, st.error().message());
    return ex.respond(json_response({{"id_slot", id}, {"n_erased", erased}}));
  }
  if (action != "save" && action != "restore")
    return fail(400, fmt::format("action must be erase, save or restore, got \"{}\"", action));
  if (c.slot_save_path.empty())
    return fail(501, "slot save and restore are off: start the server with --slot-save-path FOLDER");
  auto body = parse_body_object(req.body.empty() ? std::string_view("{}") : std::string_view(req.body), req.path,
                                c.json_limits);
  if (!body.ok()) return fail(400, body.error().message());
  std::string filename;
  if (Status s = RequestFields(*body).string({"filename"}, filename); !s.ok()) return fail(400, s.error().message());
  if (Status s = check_slot_filename(filename); !s.ok()) return fail(400, s.error().message());
  const std::string path = c.slot_save_path + "/" + filename;
  SessionFileStats stats;
  const Status st = c.scheduler->with_idle_slot(id, [&](Session& s) -> Status {
    auto r = action == "save" ? save_session_file(s, path) : restore_session_file(s, path);
    if (!r.ok()) return r.error();
    stats = *r;
    return {};
  });
  // The message names the file as the client did, not the server's folder.
  if (!st.ok()) {
    std::string message = st.error().message();
    if (message.compare(0, path.size(), path) == 0) message = filename + message.substr(path.size());
    return fail(400, fmt::format("slot {} {}: {}", id, action, message));
  }
  const double ms = ms_since(start);
  if (action == "save")
    return ex.respond(json_response({{"id_slot", id}, {"filename", filename}, {"n_saved", stats.tokens},
                                     {"n_written", stats.bytes}, {"timings", {{"save_ms", ms}}}}));
  ex.respond(json_response({{"id_slot", id}, {"filename", filename}, {"n_restored", stats.tokens},
                            {"n_read", stats.bytes}, {"timings", {{"restore_ms", ms}}}}));
}

}  // namespace

Status check_slot_filename(std::string_view name) {
  if (name.empty()) return make_error("filename is required");
  if (name.size() > 200) return make_error("filename is longer than 200 bytes");
  if (name.find("..") != std::string_view::npos) return make_error("filename must not contain \"..\"");
  if (name.front() == '.') return make_error("filename must not start with a dot");
  for (const char ch : name) {
    if (ch == '/' || ch == '\\') return make_error("filename must be a plain name, without a path separator");
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f)
      return make_error("filename must be printable ASCII");
  }
  return {};
}

void add_slot_routes(Router& router, const ServerContext& ctx) {
  const ServerContext* c = &ctx;
  router.add_prefix("POST", "/slots/", [c](const HttpRequest& req, HttpExchange& ex) { slot_action(*c, req, ex); });
}

}  // namespace limarp::server
