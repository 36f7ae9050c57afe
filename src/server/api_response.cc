#include "server/api_response.h"

namespace limarp::server {
namespace {

const char* error_type(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 503: return "unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

}  // namespace

std::string json_text(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

HttpResponse json_response(const Json& body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = json_text(body);
  return r;
}

HttpResponse error_response(const ApiError& e) {
  HttpResponse r = json_response({{"error", {{"code", e.status}, {"message", e.message}, {"type", error_type(e.status)}}}}, e.status);
  r.log_message = e.message;
  return r;
}

HttpResponse busy_response() {
  constexpr const char* kMsg = "Server is busy; please try again later.";
  HttpResponse r = json_response({{"detail", {{"msg", kMsg}, {"type", "service_unavailable"}}},
                                  {"error", {{"code", 503}, {"message", kMsg}, {"type", "unavailable_error"}}}},
                                 503);
  r.headers.emplace_back("Retry-After", "1");
  r.log_message = kMsg;
  return r;
}

std::string sse_event(const Json& data, std::string_view event) {
  std::string out;
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += "\n";
  }
  // json_text never contains a raw newline (strings are escaped), so one data line suffices.
  out += "data: ";
  out += json_text(data);
  out += "\n\n";
  return out;
}

std::string sse_data(std::string_view text) {
  std::string out = "data: ";
  out += text;
  out += "\n\n";
  return out;
}

}  // namespace limarp::server
