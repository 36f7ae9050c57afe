// JSON answers shared by every API: success bodies, errors that name the field, and the busy
// answer in KoboldCpp's shape (SillyTavern's KoboldAI Classic backend retries on it; its Text
// Completion types show it as an error), plus Server-Sent Events framing.
//
//   ex.respond(json_response({{"value", 4096}}));
//   ex.respond(error_response({400, "max_length must be an integer, got \"x\""}));
//   ex.respond(busy_response());
#pragma once

#include <string>
#include <string_view>

#include "base/json_util.h"
#include "server/http_server.h"

namespace limarp::server {

struct ApiError {
  int status = 400;
  std::string message;
};

// JSON text; invalid UTF-8 (never expected, but model text is not trusted either) becomes U+FFFD
// instead of an exception.
std::string json_text(const Json& j);

HttpResponse json_response(const Json& body, int status = 200);
// {"error": {"code": 400, "message": "...", "type": "invalid_request_error"}}, the shape
// OpenAI-style clients and llama.cpp's server use.
HttpResponse error_response(const ApiError& error);
// 503 {"detail": {"msg": "Server is busy; please try again later.", "type": "service_unavailable"},
//      "error": {...}}: KoboldCpp's shape, with the OpenAI-style error beside it.
HttpResponse busy_response();

// "data: {json}\n\n"; with an event name, "event: NAME\n" first.
std::string sse_event(const Json& data, std::string_view event = {});
std::string sse_data(std::string_view text);  // "data: TEXT\n\n" (for [DONE])

}  // namespace limarp::server
